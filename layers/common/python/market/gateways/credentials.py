"""Gateway secrets without heavy imports (the webhook receiver needs them at cold start).

Locally a secret sits in its variable (``PAYSTACK_SECRET_KEY``, ``FLUTTERWAVE_SECRET_KEY``,
``FLUTTERWAVE_SECRET_HASH``); on AWS the template names an SSM SecureString in the matching
``*_PARAMETER`` variable, read through Powertools' parameter cache. Variable names match
``market.settings.Settings``; an empty value means unset there too.
"""

from __future__ import annotations

import os

# Names of environment variables, not secrets.
PAYSTACK_SECRET_KEY_VARIABLE = "PAYSTACK_SECRET_KEY"  # noqa: S105
PAYSTACK_SECRET_PARAMETER_VARIABLE = "PAYSTACK_SECRET_PARAMETER"  # noqa: S105
FLUTTERWAVE_SECRET_HASH_VARIABLE = "FLUTTERWAVE_SECRET_HASH"  # noqa: S105
FLUTTERWAVE_SECRET_HASH_PARAMETER_VARIABLE = "FLUTTERWAVE_SECRET_HASH_PARAMETER"  # noqa: S105
PARAMETER_MAX_AGE_SECONDS = 300


class MissingSecret(RuntimeError):
    """Neither a key nor a parameter name is configured: a deployment error, not a request error."""


def resolve_secret(value: str | None, parameter: str | None, what: str = "Paystack secret key") -> str:
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
    raise MissingSecret(f"no {what} configured")


def paystack_secret_key() -> str:
    """The Paystack secret key (it also signs webhooks)."""
    return resolve_secret(
        os.environ.get(PAYSTACK_SECRET_KEY_VARIABLE) or None,
        os.environ.get(PAYSTACK_SECRET_PARAMETER_VARIABLE) or None,
    )


def flutterwave_secret_hash() -> str:
    """The secret hash set on Flutterwave's dashboard, which its webhooks carry in ``verif-hash``."""
    return resolve_secret(
        os.environ.get(FLUTTERWAVE_SECRET_HASH_VARIABLE) or None,
        os.environ.get(FLUTTERWAVE_SECRET_HASH_PARAMETER_VARIABLE) or None,
        "Flutterwave secret hash",
    )
