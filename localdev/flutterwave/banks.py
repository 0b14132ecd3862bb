"""Bank fixtures (``GET /v3/banks/{country}``) and account resolution (``POST /v3/accounts/resolve``).

Account names are derived from (bank, account number), so they never change between runs;
``UNRESOLVABLE_ACCOUNT`` (and, for Nigerian banks, any number that is not 10 digits) never
resolves, and a transfer to it fails when it settles.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from localdev.flutterwave.config import bad_request, text

UNRESOLVABLE_ACCOUNT = "0000000000"
UNRESOLVABLE_MESSAGE = "Sorry, that account number is invalid, please check and try again"


@dataclass(frozen=True)
class Bank:
    id: int
    code: str
    name: str
    country: str  # ISO 3166 alpha-2, as in the route
    currency: str
    full_name: str  # the upper-case name transfers report as bank_name

    def shape(self) -> dict[str, Any]:
        return {"id": self.id, "code": self.code, "name": self.name}


BANKS = (
    Bank(191, "044", "Access Bank", "NG", "NGN", "ACCESS BANK NIGERIA"),
    Bank(200, "011", "First Bank of Nigeria", "NG", "NGN", "FIRST BANK OF NIGERIA"),
    Bank(208, "058", "Guaranty Trust Bank", "NG", "NGN", "GUARANTY TRUST BANK"),
    Bank(219, "033", "United Bank for Africa", "NG", "NGN", "UNITED BANK FOR AFRICA"),
    Bank(302, "280100", "Access Bank Ghana", "GH", "GHS", "ACCESS BANK GHANA"),
    Bank(303, "MTN", "MTN Mobile Money", "GH", "GHS", "MTN MOBILE MONEY"),
    Bank(401, "68", "Equity Bank", "KE", "KES", "EQUITY BANK"),
    Bank(402, "MPS", "M-Pesa", "KE", "KES", "M-PESA"),
    Bank(501, "632005", "ABSA Bank", "ZA", "ZAR", "ABSA BANK"),
    Bank(502, "250655", "First National Bank", "ZA", "ZAR", "FIRST NATIONAL BANK"),
)
COUNTRIES = {bank.country for bank in BANKS}
_BY_CODE = {bank.code: bank for bank in BANKS}

_FIRST_NAMES = ("ADAEZE", "BOLA", "CHINEDU", "DAMILOLA", "EMEKA", "FOLAKE", "IBRAHIM", "KEMI", "NGOZI", "TUNDE")
_LAST_NAMES = ("ADEYEMI", "BELLO", "EZE", "MUSA", "NWOSU", "OKAFOR", "OGUNDIPE", "YUSUF")


def banks_of(country: str) -> list[dict[str, Any]]:
    """The banks of ``country`` (case-insensitive, as the SDK passes it through unchanged)."""
    code = country.strip().upper()
    if code not in COUNTRIES:
        raise bad_request(f"Country {country} is not supported")
    return [bank.shape() for bank in BANKS if bank.country == code]


def bank(code: str) -> Bank | None:
    return _BY_CODE.get(code)


def account_name(bank_code: str, account_number: str) -> str:
    """The same name for the same account, every run."""
    digest = hashlib.sha256(f"flutterwave:{bank_code}:{account_number}".encode()).digest()
    return f"{_FIRST_NAMES[digest[0] % len(_FIRST_NAMES)]} {_LAST_NAMES[digest[1] % len(_LAST_NAMES)]}"


def resolvable(found: Bank, account_number: str) -> bool:
    if not account_number.isdigit() or account_number == UNRESOLVABLE_ACCOUNT:
        return False
    return len(account_number) == 10 if found.country == "NG" else 6 <= len(account_number) <= 16


def resolve(body: Mapping[str, Any]) -> dict[str, Any]:
    account_number = text(body, "account_number")
    account_bank = text(body, "account_bank")
    if not account_number:
        raise bad_request("account_number is required")
    if not account_bank:
        raise bad_request("account_bank is required")
    found = bank(account_bank)
    if found is None or not resolvable(found, account_number):
        raise bad_request(UNRESOLVABLE_MESSAGE)
    return {"account_number": account_number, "account_name": account_name(account_bank, account_number)}
