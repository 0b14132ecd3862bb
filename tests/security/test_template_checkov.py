"""checkov (pinned in requirements-checkov.txt, its own virtualenv) finds nothing in template.yaml.

What the issue counts: ``checkov -f template.yaml --framework cloudformation``. The SAM-transformed
template (plain CloudFormation: the roles, Lambda functions, event source mappings and API stage SAM
generates) is scanned too, since checkov reads SAM resources only as written. Every skip is inline in
the resource's ``Metadata: checkov: skip`` with its reason; checkov runs offline (``BC_SKIP_MAPPING``,
``--skip-download``), never reaching Prisma Cloud.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.template import iam

REPO_ROOT = Path(__file__).resolve().parents[2]
CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
PINNED = (REPO_ROOT / "requirements-checkov.txt").read_text()


def checkov(path: Path) -> dict[str, Any]:
    if not CHECKOV.exists():
        pytest.fail("checkov is not installed in .venv-checkov (run `make checkov-venv`)")
    result = subprocess.run(
        [str(CHECKOV), "-f", str(path), "--framework", "cloudformation", "--skip-download", "-o", "json"],
        cwd=path.parent,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in (0, 1), result.stdout[-2000:] + result.stderr[-4000:]
    report = json.loads(result.stdout)
    if isinstance(report, list):  # one entry per framework when several ran
        (report,) = [r for r in report if r.get("check_type") == "cloudformation"]
    return dict(report)


def show(capsys: pytest.CaptureFixture[str], line: str) -> None:
    """The counts on the terminal even when pytest captures output."""
    with capsys.disabled():
        sys.stdout.write(f"\n{line}\n")


def failures(report: dict[str, Any]) -> list[str]:
    return [f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report["results"]["failed_checks"]]


def test_checkov_is_the_pinned_3_3_release() -> None:
    version = subprocess.run([str(CHECKOV), "--version"], capture_output=True, text=True, check=True).stdout.strip()
    assert f"checkov=={version}\n" in PINNED
    assert version.startswith("3.3.")


def test_checkov_finds_nothing_in_the_template(capsys: pytest.CaptureFixture[str]) -> None:
    report = checkov(REPO_ROOT / "template.yaml")
    summary = report["summary"]
    show(capsys, f"checkov {summary['checkov_version']}: {summary['passed']} passed, {summary['skipped']} skipped")
    assert failures(report) == []
    assert summary["failed"] == 0
    assert summary["parsing_errors"] == 0
    assert summary["passed"] > 100  # the scan did read the resources
    # Every skip carries its reason.
    for check in report["results"]["skipped_checks"]:
        comment = (check.get("check_result") or {}).get("suppress_comment") or ""
        assert len(comment) >= 40, f"{check['check_id']} {check['resource']}: skipped without a real reason"


def test_every_skip_in_the_template_has_an_id_and_a_reason() -> None:
    for name, spec in iam.template()["Resources"].items():
        skips = spec.get("Metadata", {}).get("checkov", {}).get("skip", [])
        for skip in skips:
            assert str(skip.get("id", "")).startswith("CKV_"), (name, skip)
            assert len(str(skip.get("comment", ""))) >= 40, (name, skip)


def test_checkov_finds_nothing_in_the_sam_transformed_template(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    from cfnlint.decode import decode
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    template, matches = decode(str(REPO_ROOT / "template.yaml"))
    assert template is not None, matches
    for name, spec in template["Resources"].items():  # the transform wants S3 URIs where `sam build` puts them
        for key in ("CodeUri", "ContentUri"):
            if key in spec.get("Properties", {}):
                spec["Properties"][key] = f"s3://bucket/{name}.zip"
    transformed = transform(template, {}, NoManagedPolicies())
    # Nothing attaches a managed policy: each role is exactly what template.yaml writes.
    for name, spec in transformed["Resources"].items():
        if spec["Type"] == "AWS::IAM::Role":
            assert not spec["Properties"].get("ManagedPolicyArns"), name
    path = tmp_path / "transformed.json"
    path.write_text(json.dumps(transformed, default=str))
    report = checkov(path)
    summary = report["summary"]
    show(capsys, f"checkov, SAM-transformed: {summary['passed']} passed, {summary['skipped']} skipped")
    assert failures(report) == []
    assert summary["failed"] == 0
