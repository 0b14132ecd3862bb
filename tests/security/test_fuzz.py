"""Fuzzing the whole API with schemathesis 4, from its own OpenAPI document, over the session's local stack.

Every phase runs (examples, coverage, fuzzing, and stateful, which follows the document's links from
created ids to the routes that take them), bounded by ``--max-examples`` and a deadline, with a fixed
seed. A run passes only with: no 5xx, every status documented, every body matching its schema (every
error an RFC 9457 problem+json with ``type``, ``title``, ``status``, ``detail``), the declared content
types and headers, protected routes refusing requests without a token, invalid input refused, and
deleted resources gone. Excluded checks, each for a reason:

- ``positive_data_acceptance``: schema-valid is not always acceptable (an unsupported currency, a
  product that is not published, an unknown refresh token are valid strings the domain refuses);
- ``unsupported_method``: an undeclared method answers 404 from the ``$default`` route, as the contract
  says (API Gateway itself has no 405);
- ``use_after_free``: ``DELETE /products/{id}`` archives, and the contract lets the creator still read an
  archived product (buyers keep their access); anyone else gets 404;
- ``object_level_authorization``: needs a second owner's resources; ``tests/integration`` covers who
  may see what.

The run uses its own creator, customer, product and order: it never touches other tests' data.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.factories import a_paid_order, a_published_product, a_user

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
SEED = 14
MAX_EXAMPLES = 50
DEADLINE_SECONDS = 480
EXCLUDED_CHECKS = ("positive_data_acceptance", "unsupported_method", "use_after_free", "object_level_authorization")


def schemathesis_command(api: str, report_dir: Path) -> list[str]:
    """The run, exactly as the README documents it."""
    return [
        str(Path(sys.executable).with_name("schemathesis")),
        "--no-color",
        "--config-file",
        str(CONFIG),
        "run",
        f"{api}/openapi.json",
        "--url",
        api,
        "--checks",
        "all",
        "--exclude-checks",
        ",".join(EXCLUDED_CHECKS),
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "2",
        "--no-shrink",
        "--request-timeout",
        "20",
        "--report",
        "junit",
        "--report-dir",
        str(report_dir),
    ]


@pytest.fixture(scope="module")
def fuzz_world(stack: Any) -> dict[str, str]:
    """The run's own users and resources."""
    _, creator_token = a_user(stack, "creator")
    _, customer_token = a_user(stack, "customer")
    product = a_published_product(stack, creator_token, title="Fuzzed Cookbook")
    order = a_paid_order(stack, customer_token, product["id"])
    return {
        "FUZZ_CREATOR_TOKEN": creator_token,
        "FUZZ_CUSTOMER_TOKEN": customer_token,
        "FUZZ_PRODUCT_ID": product["id"],
        "FUZZ_ORDER_ID": order["id"],
    }


def test_the_api_survives_schemathesis_with_every_answer_as_documented(stack: Any, fuzz_world: dict[str, str]) -> None:
    served = requests.get(f"{stack.api}/openapi.json", timeout=10)
    assert served.status_code == 200
    assert served.json()["openapi"] == "3.1.0"
    report_dir = REPO_ROOT / ".localdev" / "fuzz"
    report_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **fuzz_world, "SCHEMATHESIS_TELEMETRY": "false", "NO_COLOR": "1"}

    run = subprocess.run(
        schemathesis_command(stack.api, report_dir),
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
        check=False,
    )

    output = run.stdout + run.stderr
    (report_dir / "output.txt").write_text(output)
    summary = [line for line in output.splitlines() if re.fullmatch(r"=+ .* in [\d.]+s =+", line.strip())]
    assert run.returncode == 0, output[-6000:]
    assert summary, output[-3000:]
    assert "failure" not in summary[-1], summary[-1]
    assert "error" not in summary[-1], summary[-1]
    cases = re.search(r"(\d+) generated, (\d+) passed", output)
    assert cases is not None, output[-3000:]
    assert int(cases.group(1)) == int(cases.group(2)) > 0, cases.group(0)
    tested = re.search(r"Tested:\s+(\d+)", output)
    selected = re.search(r"Selected:\s+(\d+)/(\d+)", output)
    assert tested is not None, output[-3000:]
    assert selected is not None, output[-3000:]
    assert tested.group(1) == selected.group(2), output[-3000:]  # every operation ran
