"""Banks and account resolution: ``GET /bank`` and ``GET /bank/resolve`` over fixed fixtures (no state).

Fixtures: banks 058 Guaranty Trust Bank, 044 Access Bank, 011 First Bank of Nigeria. Account names are
derived from (bank, account), so they never change; account ``0000000000`` (and any number that is not
10 digits) never resolves.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from localdev.paystack.common import PaystackError, bad_request

UNRESOLVABLE_ACCOUNT = "0000000000"


@dataclass(frozen=True)
class BankFixture:
    id: int
    name: str
    slug: str
    code: str
    longcode: str
    currency: str = "NGN"
    country: str = "Nigeria"
    type: str = "nuban"

    def shape(self) -> dict[str, Any]:
        return {
            **dataclasses.asdict(self),
            **{"gateway": None, "pay_with_bank": False, "supports_transfer": True, "available_for_direct_debit": False},
            **{"active": True, "is_deleted": False},
            **{"createdAt": "2016-07-14T10:04:29.000Z", "updatedAt": "2024-01-10T12:00:00.000Z"},
        }


BANKS = (
    BankFixture(1, "Access Bank", "access-bank", "044", "044150149"),
    BankFixture(7, "First Bank of Nigeria", "first-bank-of-nigeria", "011", "011151003"),
    BankFixture(9, "Guaranty Trust Bank", "guaranty-trust-bank", "058", "058152036"),
)
BANKS_BY_CODE = {bank.code: bank for bank in BANKS}
_COUNTRIES = {"nigeria": "NGN", "ghana": "GHS", "kenya": "KES", "south africa": "ZAR"}

_FIRST_NAMES = ("ADAEZE", "BOLA", "CHINEDU", "DAMILOLA", "EMEKA", "FOLAKE", "IBRAHIM", "KEMI", "NGOZI", "TUNDE")
_LAST_NAMES = ("ADEYEMI", "BELLO", "EZE", "MUSA", "NWOSU", "OKAFOR", "OGUNDIPE", "YUSUF")


def account_name(bank_code: str, account_number: str) -> str:
    """The same name for the same account, every run."""
    digest = hashlib.sha256(f"{bank_code}:{account_number}".encode()).digest()
    return f"{_FIRST_NAMES[digest[0] % len(_FIRST_NAMES)]} {_LAST_NAMES[digest[1] % len(_LAST_NAMES)]}"


def resolvable(account_number: str) -> bool:
    return account_number.isdigit() and len(account_number) == 10 and account_number != UNRESOLVABLE_ACCOUNT


def bank_for(bank_code: str) -> BankFixture:
    bank = BANKS_BY_CODE.get(bank_code)
    if bank is None:
        raise bad_request("Unknown bank code")
    return bank


def list_banks(query: Mapping[str, str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``GET /bank``: filtered by currency, country and type; cursor-paged with ``perPage`` and ``next``."""
    currency = (query.get("currency") or "").upper()
    country = (query.get("country") or "").lower()
    if country:
        currency = currency or _COUNTRIES.get(country, "-")
    banks = [bank for bank in BANKS if not currency or bank.currency == currency]
    bank_type = query.get("type")
    if bank_type:
        banks = [bank for bank in banks if bank.type == bank_type]
    per_page = int(query["perPage"]) if (query.get("perPage") or "").isdigit() else 50
    per_page = max(1, min(per_page, 100))
    start = int(query["next"]) if (query.get("next") or "").isdigit() else 0
    page = banks[start : start + per_page]
    following = str(start + per_page) if start + per_page < len(banks) else None
    previous = str(max(0, start - per_page)) if start > 0 else None
    return [bank.shape() for bank in page], {"next": following, "previous": previous, "perPage": per_page}


def resolve(query: Mapping[str, str]) -> dict[str, Any]:
    """``GET /bank/resolve``: a failed resolution answers 422 (Paystack's status for it is unconfirmed)."""
    account_number = (query.get("account_number") or "").strip()
    bank_code = (query.get("bank_code") or "").strip()
    if not account_number:
        raise bad_request("Account number is required")
    if not account_number.isdigit():
        raise bad_request("Account number should be numeric")
    if not bank_code:
        raise bad_request("bank_code is required")
    bank = bank_for(bank_code)
    if not resolvable(account_number):
        raise PaystackError(422, "Could not resolve account name. Check parameters or try again.")
    return {
        "account_number": account_number,
        "account_name": account_name(bank_code, account_number),
        "bank_id": bank.id,
    }
