"""Deploy safety: the JWT and cursor keys come from SSM SecureStrings and rotate.

A new version of the parameter signs from the next read on (each container re-reads after
``JWT_KEY_MAX_AGE_SECONDS``); the previous version still verifies, the one before it no longer does.
In-process moto SSM, the clock moved with ``market.clock``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import jwt
import pytest

from localdev.caches import reset_caches
from market import clock, cursors
from market.auth import tokens
from market.domain.errors import BadRequest, InvalidToken
from market.keys import MissingKey
from tests.fixtures.aws import AwsResources

JWT_PARAMETER = "/unit/jwt-signing-key"
CURSOR_PARAMETER = "/unit/cursor-signing-key"
MAX_AGE = 300


@pytest.fixture
def ssm_keys(aws_resources: AwsResources, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.delenv("JWT_SIGNING_KEY", raising=False)
    monkeypatch.delenv("CURSOR_SIGNING_KEY", raising=False)
    monkeypatch.setenv("JWT_SIGNING_KEY_PARAMETER", JWT_PARAMETER)
    monkeypatch.setenv("CURSOR_SIGNING_KEY_PARAMETER", CURSOR_PARAMETER)
    monkeypatch.setenv("JWT_KEY_MAX_AGE_SECONDS", str(MAX_AGE))
    reset_caches()
    yield boto3.client("ssm", region_name="us-east-1")
    reset_caches()


def rotate(ssm: Any, name: str, value: str) -> None:
    ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


def later() -> None:
    """Past the key cache's max age, as every container will be after a rotation."""
    offset = clock.now().timestamp() - time.time()
    clock.set_offset(offset + MAX_AGE + 1)


def test_a_rotated_jwt_key_signs_new_tokens_and_the_previous_one_still_verifies(ssm_keys: Any) -> None:
    rotate(ssm_keys, JWT_PARAMETER, "key-one-0123456789abcdef0123456789")
    first, _ = tokens.issue_access_token("usr_1", "customer")

    rotate(ssm_keys, JWT_PARAMETER, "key-two-0123456789abcdef0123456789")
    assert tokens.verify_access_token(first).user_id == "usr_1"  # still cached: nothing changed yet
    later()
    second, _ = tokens.issue_access_token("usr_2", "customer")

    # The new version signs; the token of the previous version is still accepted.
    assert jwt.decode(
        second,
        "key-two-0123456789abcdef0123456789",
        algorithms=["HS256"],
        options={"verify_aud": False, "verify_iat": False},
    )
    assert tokens.verify_access_token(first).user_id == "usr_1"
    assert tokens.verify_access_token(second).user_id == "usr_2"

    rotate(ssm_keys, JWT_PARAMETER, "key-three-0123456789abcdef01234567")
    later()
    with pytest.raises(InvalidToken):
        tokens.verify_access_token(first)  # two rotations ago
    assert tokens.verify_access_token(second).user_id == "usr_2"


def test_a_token_signed_with_a_key_never_in_the_parameter_is_refused(ssm_keys: Any) -> None:
    rotate(ssm_keys, JWT_PARAMETER, "key-one-0123456789abcdef0123456789")
    forged = jwt.encode(
        {
            "sub": "usr_x",
            "role": "admin",
            "iat": 1,
            "exp": 2**40,
            "jti": "j",
            "iss": "marketplace",
            "aud": "marketplace-api",
        },
        "some-other-key-0123456789abcdef012345",
        algorithm="HS256",
    )
    with pytest.raises(InvalidToken):
        tokens.verify_access_token(forged)


def test_cursors_are_signed_with_the_ssm_key_and_survive_one_rotation(ssm_keys: Any) -> None:
    rotate(ssm_keys, CURSOR_PARAMETER, "cursor-one")
    cursor = cursors.encode_cursor({"PK": "PRODUCT#p1", "SK": "PRODUCT"}, "catalog")
    assert cursor is not None

    rotate(ssm_keys, CURSOR_PARAMETER, "cursor-two")
    later()
    assert cursors.decode_cursor(cursor, "catalog") == {"PK": "PRODUCT#p1", "SK": "PRODUCT"}

    rotate(ssm_keys, CURSOR_PARAMETER, "cursor-three")
    later()
    with pytest.raises(BadRequest):
        cursors.decode_cursor(cursor, "catalog")


def test_a_cursor_signed_with_a_key_derived_from_the_table_name_is_refused(
    ssm_keys: Any, aws_resources: AwsResources
) -> None:
    rotate(ssm_keys, CURSOR_PARAMETER, "cursor-one")
    payload = json.dumps({"PK": "PRODUCT#p1", "SK": "PRODUCT"}, separators=(",", ":"), sort_keys=True).encode()
    # What main did when CURSOR_SIGNING_KEY was unset (as on AWS): anyone who knows the table name could sign.
    guessable = hashlib.sha256(f"{aws_resources.table_name}|cursor|catalog".encode()).digest()
    mac = hmac.new(guessable, payload, hashlib.sha256).digest()[:16]
    forged = base64.urlsafe_b64encode(mac + payload).decode().rstrip("=")

    with pytest.raises(BadRequest):
        cursors.decode_cursor(forged, "catalog")


def test_without_a_configured_cursor_key_nothing_is_signed(
    aws_resources: AwsResources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CURSOR_SIGNING_KEY", raising=False)
    monkeypatch.delenv("CURSOR_SIGNING_KEY_PARAMETER", raising=False)
    reset_caches()

    with pytest.raises(MissingKey):
        cursors.encode_cursor({"PK": "PRODUCT#p1"}, "catalog")
    reset_caches()
