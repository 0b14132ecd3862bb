"""The template is deployable as it is: SAM CLI validates and builds it (offline, no credentials)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SAM = REPO_ROOT / ".venv-sam" / "bin" / "sam"
PY312_BIN = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions" / "3.12.1" / "bin"

pytestmark = pytest.mark.template


def sam(*args: str, cwd: Path = REPO_ROOT, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    if not SAM.exists():
        pytest.fail("SAM CLI is not installed in .venv-sam (run `make sam-venv`)")
    # The pyenv shim named python3.12 fails unless that version is selected: prefer the real interpreter.
    python_bin = shutil.which("python3.12")
    path_prefix = str(PY312_BIN) if PY312_BIN.exists() or not python_bin else str(Path(python_bin).parent)
    env = {
        **os.environ,
        "SAM_CLI_TELEMETRY": "0",
        "__SAM_CLI_APP_DIR": str(REPO_ROOT / ".sam-app"),
        "AWS_DEFAULT_REGION": "us-east-1",
        "PATH": f"{path_prefix}:{os.environ['PATH']}",
    }
    return subprocess.run([str(SAM), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_sam_validate_lint_passes() -> None:
    result = sam("validate", "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout


def test_sam_validate_passes() -> None:
    result = sam("validate")
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_build_builds_every_function_and_the_layer(tmp_path: Path) -> None:
    build_dir = tmp_path / "build"
    result = sam(
        "build",
        "--build-dir",
        str(build_dir),
        "--cache-dir",
        str(REPO_ROOT / ".aws-sam" / "cache"),
        "--cached",
        "--parallel",
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    layer = build_dir / "CommonLayer" / "python"
    assert (layer / "market" / "http.py").exists()
    assert (layer / "pynamodb").is_dir()
    # Compiled with unchecked-hash .pyc: SAM's 1980 zip timestamps would invalidate timestamp-based ones.
    compiled = list((layer / "market" / "__pycache__").glob("http.cpython-312*.pyc"))
    assert compiled, "the layer must ship .pyc files"
    flags = int.from_bytes(compiled[0].read_bytes()[4:8], "little")
    assert flags == 0b01, "pyc must be hash-based and unchecked"
    for function in (
        "AuthFunction",
        "UploadFunction",
        "CheckoutFunction",
        "WebhookFunction",
        "DeliveryFunction",
        "WalletFunction",
        "PaymentsFunction",
    ):
        assert (build_dir / function).is_dir(), function
    # argon2 only where it is needed.
    assert (build_dir / "AuthFunction" / "argon2").is_dir()
    assert not (build_dir / "WebhookFunction" / "argon2").exists()
