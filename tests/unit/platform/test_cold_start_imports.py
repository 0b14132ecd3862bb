"""Cold start: an entry module loads the resolver or the batch plumbing, never what its handlers call.

``bench/cold_start.py`` times each function's init against ``import boto3`` + one client (the goal:
at most 1.3x). These tests hold the reason it stays there: importing an entry module, in a fresh
interpreter with the function's own environment, loads none of the heavy libraries that the
services bring (pynamodb and botocore, pyjwt and cryptography, argon2, requests); a route or a
record imports its service when it first runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from localdev.template import FunctionSpec, LocalTemplate, load_template

# Packages (and botocore's client machinery: Powertools itself imports the bare ``botocore`` package
# for its user agent, which costs a millisecond).
HEAVY = ("pynamodb", "botocore.session", "botocore.client", "boto3", "jwt", "cryptography", "argon2", "requests")
PROBE = """
import json, sys
sys.path[:0] = sys.argv[1].split(":")
__import__(sys.argv[2])
print(json.dumps(sorted(sys.modules)))
"""


def heavy(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules if any(name == h or name.startswith(f"{h}.") for h in HEAVY)}


def functions() -> list[FunctionSpec]:
    return LocalTemplate(load_template()).functions()


def loaded_at_import(spec: FunctionSpec) -> set[str]:
    module = spec.handler.rsplit(".", 1)[0]
    path = ":".join(str(p) for p in [spec.code_dir, *spec.layer_dirs])
    env = {**os.environ, **spec.environment, "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, path, module], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("spec", functions(), ids=lambda spec: spec.logical_id)
def test_importing_an_entry_module_loads_no_service_library(spec: FunctionSpec) -> None:
    loaded = loaded_at_import(spec)

    assert "market" in loaded  # the probe did import the entry module and its layer
    assert sorted(heavy(loaded)) == []


def test_the_probe_sees_a_heavy_import_when_there_is_one() -> None:
    # The same probe on a module that imports a service at the top: the check above can fail.
    spec = next(spec for spec in functions() if spec.logical_id == "WalletFunction")
    spec.handler = "market.services.wallet.balances"
    assert {"pynamodb", "botocore"} <= heavy(loaded_at_import(spec))
