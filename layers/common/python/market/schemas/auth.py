"""Request and response bodies of the auth routes.

Secrets (passwords, refresh tokens) arrive as ``SecretStr``: they never show in a repr,
a ``model_dump`` or a log line by accident.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, SecretStr
from pydantic_core import PydanticCustomError

from market.domain.user import normalise_email

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128
EMAIL_MAX_LENGTH = 254
DISPLAY_NAME_MAX_LENGTH = 80
REFRESH_TOKEN_MAX_LENGTH = 256

_EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def _normalised_email(value: object) -> object:
    return normalise_email(value) if isinstance(value, str) else value


def _check_email(value: str) -> str:
    if len(value) > EMAIL_MAX_LENGTH or not _EMAIL_PATTERN.match(value):
        raise PydanticCustomError("email", "must be a valid email address")
    return value


def _secret_length(minimum: int, maximum: int) -> AfterValidator:
    def check(value: SecretStr) -> SecretStr:
        if not minimum <= len(value.get_secret_value()) <= maximum:
            raise PydanticCustomError(
                "length", "must be {minimum} to {maximum} characters long", {"minimum": minimum, "maximum": maximum}
            )
        return value

    return AfterValidator(check)


def _blank_is_none(value: object) -> object:
    if isinstance(value, str):
        return value.strip() or None
    return value


Email = Annotated[str, BeforeValidator(_normalised_email), AfterValidator(_check_email)]
NewPassword = Annotated[
    SecretStr,
    _secret_length(PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH),
    Field(json_schema_extra={"minLength": PASSWORD_MIN_LENGTH, "maxLength": PASSWORD_MAX_LENGTH}),
]
Password = Annotated[
    SecretStr, _secret_length(1, PASSWORD_MAX_LENGTH), Field(json_schema_extra={"maxLength": PASSWORD_MAX_LENGTH})
]
RefreshToken = Annotated[
    SecretStr,
    _secret_length(1, REFRESH_TOKEN_MAX_LENGTH),
    Field(json_schema_extra={"maxLength": REFRESH_TOKEN_MAX_LENGTH}),
]


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Email
    password: NewPassword
    # admin is a valid role but not one anybody may give themselves: the service answers 403.
    role: Literal["customer", "creator", "admin"]
    # The length applies to a name, not to the None a blank one becomes (max_length on None raised TypeError: a 500).
    display_name: Annotated[
        Annotated[str, Field(max_length=DISPLAY_NAME_MAX_LENGTH)] | None, BeforeValidator(_blank_is_none)
    ] = None


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Not checked as an email: a malformed one is simply an unknown account (401).
    email: Annotated[str, BeforeValidator(_normalised_email), Field(min_length=1, max_length=320)]
    password: Password


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: RefreshToken


class LogoutRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    refresh_token: RefreshToken


class UserOut(BaseModel):
    """A user as the API shows it: never a password or a hash."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    id: str
    email: str
    role: str
    display_name: str | None
    created_at: str


class TokenPairOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme's name, not a secret
    expires_in: int

    def __repr__(self) -> str:  # never show the tokens themselves
        return f"TokenPairOut(token_type={self.token_type!r}, expires_in={self.expires_in})"
