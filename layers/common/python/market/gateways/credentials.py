"""Gateway secrets without heavy imports (the webhook receiver needs the key at cold start).

Locally the key sits in ``PAYSTACK_SECRET_KEY``; on AWS the template names an SSM
SecureString in ``PAYSTACK_SECRET_PARAMETER``, read through Powertools' parameter cache.
Variable names match ``market.settings.Settings``; an empty value means unset there too.
"""

from __future__ import annotations

import os

# Names of environment variables, not secrets.
PAYSTACK_SECRET_KEY_VARIABLE = "PAYSTACK_SECRET_KEY"  # noqa: S105
PAYSTACK_SECRET_PARAMETER_VARIABLE = "PAYSTACK_SECRET_PARAMETER"  # noqa: S105
PARAMETER_MAX_AGE_SECONDS = 300


class MissingSecret(RuntimeError):
    """Neither a key nor a parameter name is configured: a deployment error, not a request error."""


def resolve_secret(value: str | None, parameter: str | None) -> str:
    """``value`` when set, else the decrypted SSM parameter ``parameter`` (cached for a few minutes)."""
    if value:
        return value
    if parameter:
        # Powertools' parameters module pulls in boto3: only when the key is not in the environment.
        from aws_lambda_powertools.utilities.parameters import get_parameter

        secret = get_parameter(parameter, decrypt=True, max_age=PARAMETER_MAX_AGE_SECONDS)
        if isinstance(secret, str) and secret:
            return secret
        raise MissingSecret(f"SSM parameter {parameter} is empty")
    raise MissingSecret("no Paystack secret key configured")


def paystack_secret_key() -> str:
    """The Paystack secret key (it also signs webhooks)."""
    return resolve_secret(
        os.environ.get(PAYSTACK_SECRET_KEY_VARIABLE) or None,
        os.environ.get(PAYSTACK_SECRET_PARAMETER_VARIABLE) or None,
    )
