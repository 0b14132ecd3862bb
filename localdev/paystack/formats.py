"""How Paystack writes and reads values: its time format, random codes, integer amounts, text fields."""

from __future__ import annotations

import secrets
import string
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from localdev.paystack.common import bad_request

_CODE_ALPHABET = string.ascii_lowercase + string.digits


def paystack_time(moment: datetime) -> str:
    """Paystack's time format: ``2022-08-09T14:21:32.000Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + ".000Z"


def maybe_time(moment: datetime | None) -> str | None:
    return paystack_time(moment) if moment else None


def random_code(length: int) -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))


def parse_amount(value: Any, message: str) -> int:
    """Paystack takes integer subunits, as a number or a string of digits; never a fraction."""
    if isinstance(value, bool):
        raise bad_request(message)
    if isinstance(value, int):
        amount = value
    elif isinstance(value, str) and value.strip().isdigit():
        amount = int(value.strip())
    else:
        raise bad_request(message)
    if amount <= 0:
        raise bad_request(message)
    return amount


def text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)
