"""The import graph of ``market`` runs one way, and each layer keeps to what it may know.

functions -> schemas / http -> services -> repositories / gateways -> models / domain. The domain
layer imports nothing of the package but itself, ``ids`` and ``clock``, and nothing of AWS, HTTP,
pynamodb or pydantic. Every import counts, including the lazy ones inside functions.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "layers" / "common" / "python" / "market"

# What each part of the package may import of the package (besides itself).
ALLOWED: dict[str, set[str]] = {
    "domain": {"ids", "clock"},
    "settings": set(),
    "clock": set(),
    "ids": set(),
    "problem": {"domain"},
    "cursors": {"domain", "settings", "keys"},
    "keys": {"aws", "settings", "clock"},
    "models": {"settings", "clock"},
    "gateways": {"domain", "settings", "observability", "clock"},
    "repositories": {"models", "domain", "cursors", "clock", "ids", "settings", "observability"},
    "messages": {"settings", "aws", "observability"},
    # settings: the FAULT_INJECTION switch of the fault-storm test (off unless set; absent from template.yaml)
    "consumers": {"messages", "observability", "domain", "settings"},
    "aws": {"settings"},
    "storage": {"aws", "settings", "domain"},
    "mailer": {"aws", "domain"},
    "emails": {"domain"},
    "observability": set(),
    # keys: the signing keys' SSM versions (current and previous) for rotation.
    "auth": {"domain", "settings", "clock", "ids", "keys"},
    "services": {
        "repositories",
        "gateways",
        "domain",
        "messages",
        "storage",
        "mailer",
        "emails",
        "auth",
        "clock",
        "ids",
        "settings",
        "observability",
    },
    # settings: a request schema checks the supported currencies, so one 422 names every bad field.
    "schemas": {"domain", "clock", "settings"},
    "http": {"auth", "domain", "observability", "problem"},
}
# Third-party packages the domain layer must never see.
FORBIDDEN_IN_DOMAIN = ("boto3", "botocore", "pynamodb", "pydantic", "aws_lambda_powertools", "requests", "jwt")


def _part(module: str) -> str:
    return module.split(".")[1] if module.count(".") >= 1 else module


@cache
def imports_by_module() -> dict[str, set[str]]:
    """Every module of the package and every module it imports (at the top or inside a function)."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(part for part in relative.parts if part != "__init__")
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                # ``from market import clock``: the imported names are modules too.
                if node.module == "market":
                    names.update(f"market.{alias.name}" for alias in node.names)
                elif node.module.startswith("market."):
                    names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[name] = names
    return found


def test_the_package_is_read() -> None:
    modules = imports_by_module()
    assert "market.domain.order" in modules
    assert "market.services.payments" in modules
    assert len(modules) > 50


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_each_part_imports_only_what_its_layer_may(part: str) -> None:
    modules = imports_by_module()
    known_parts = {_part(module) for module in modules}
    offending = []
    for module, imported in modules.items():
        if _part(module) != part:
            continue
        for target in imported:
            if not target.startswith("market.") or target.count(".") < 1:
                continue
            target_part = _part(target)
            if target_part not in known_parts or target_part == part:
                continue  # an imported name that is not a module, or the part itself
            if target_part not in ALLOWED[part]:
                offending.append(f"{module} imports {target}")
    assert offending == []


def test_the_domain_knows_no_aws_http_storage_or_validation_library() -> None:
    offending = [
        f"{module} imports {target}"
        for module, imported in imports_by_module().items()
        if module.startswith("market.domain")
        for target in imported
        if target.split(".")[0] in FORBIDDEN_IN_DOMAIN
    ]
    assert offending == []


def test_nothing_outside_the_gateways_names_a_gateway() -> None:
    # Only market.gateways (and the settings that name its secrets) know which gateways exist.
    offending = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.parent.name != "gateways"
        and path.name != "settings.py"
        and any(name in path.read_text().lower() for name in ("paystack", "flutterwave"))
    ]
    assert offending == []
