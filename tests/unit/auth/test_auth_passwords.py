"""argon2id password hashing: format, parameters from settings, rehash detection, lazy import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from market.auth import passwords
from market.settings import get_settings

PASSWORD = "correct horse battery staple"
REPO_ROOT = Path(__file__).resolve().parents[3]


pytestmark = pytest.mark.usefixtures("fast_argon2")


def test_hash_is_argon2id_with_the_parameters_from_settings() -> None:
    hashed = passwords.hash_password(PASSWORD)

    assert hashed.startswith("$argon2id$v=19$m=1024,t=1,p=1$")
    assert PASSWORD not in hashed


def test_two_hashes_of_one_password_differ_by_salt() -> None:
    assert passwords.hash_password(PASSWORD) != passwords.hash_password(PASSWORD)


def test_right_password_verifies_and_wrong_one_does_not() -> None:
    hashed = passwords.hash_password(PASSWORD)

    assert passwords.verify_password(hashed, PASSWORD)
    assert not passwords.verify_password(hashed, PASSWORD + " ")
    assert not passwords.verify_password(hashed, "")


def test_unreadable_hash_never_verifies() -> None:
    assert not passwords.verify_password("not-a-hash", PASSWORD)
    assert not passwords.verify_password("$argon2id$v=19$m=1024,t=1,p=1$garbage", PASSWORD)


def test_composed_and_decomposed_accents_are_the_same_password() -> None:
    composed, decomposed = "café au lait 2024", "cafe\u0301 au lait 2024"
    hashed = passwords.hash_password(composed)

    assert passwords.verify_password(hashed, decomposed)


def test_hash_needs_rehash_only_when_the_parameters_change(monkeypatch: pytest.MonkeyPatch) -> None:
    hashed = passwords.hash_password(PASSWORD)
    assert not passwords.needs_rehash(hashed)

    monkeypatch.setenv("ARGON2_MEMORY_COST_KIB", "2048")
    get_settings.cache_clear()

    assert passwords.needs_rehash(hashed)
    assert passwords.verify_password(hashed, PASSWORD)  # old hashes keep working until rehashed


def test_burn_verification_checks_against_a_real_argon2_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    checked: list[str] = []
    original = passwords.verify_password

    def spy(password_hash: str, password: str) -> bool:
        checked.append(password_hash)
        return original(password_hash, password)

    monkeypatch.setattr(passwords, "verify_password", spy)

    passwords.burn_verification(PASSWORD)

    assert len(checked) == 1
    assert checked[0].startswith("$argon2id$v=19$m=1024,t=1,p=1$")


def test_importing_the_layer_for_other_functions_never_loads_argon2() -> None:
    code = (
        "import sys\n"
        "import market.auth.guard, market.auth.tokens, market.auth.passwords, market.http\n"
        "import market.repositories.users, market.repositories.refresh_tokens, market.schemas.auth\n"
        "assert 'argon2' not in sys.modules, 'argon2 imported'\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        env={"PYTHONPATH": "layers/common/python", "PATH": ""},
    )

    assert result.returncode == 0, result.stderr
