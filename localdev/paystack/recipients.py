"""Transfer recipients: ``POST /transferrecipient`` (201 when created; the same account again answers 200 with
the existing recipient, as Paystack does)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from localdev.paystack.banks import BankFixture, account_name, bank_for, resolvable
from localdev.paystack.common import CURRENCIES, DOMAIN, INTEGRATION_ID, Book, bad_request
from localdev.paystack.formats import paystack_time, random_code, text

RECIPIENT_TYPES = {"nuban", "ghipss", "mobile_money", "kepss", "basa", "authorization"}


@dataclass
class Recipient:
    id: int
    code: str
    type: str
    name: str
    account_number: str
    account_name: str
    bank: BankFixture
    currency: str
    created_at: datetime

    def shape(self) -> dict[str, Any]:
        created = paystack_time(self.created_at)
        return {
            "active": True,
            "createdAt": created,
            "currency": self.currency,
            "description": "",
            "domain": DOMAIN,
            "email": None,
            "id": self.id,
            "integration": INTEGRATION_ID,
            "metadata": None,
            "name": self.name,
            "recipient_code": self.code,
            "type": self.type,
            "updatedAt": created,
            "is_deleted": False,
            "isDeleted": False,
            "details": {
                "authorization_code": None,
                "account_number": self.account_number,
                "account_name": self.account_name,
                "bank_code": self.bank.code,
                "bank_name": self.bank.name,
            },
        }


class Recipients(Book):
    """Every recipient, by code and by (bank, account, currency)."""

    def reset(self) -> None:
        self.by_code: dict[str, Recipient] = {}
        self._by_account: dict[tuple[str, str, str], Recipient] = {}

    def create(self, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        recipient_type = text(body, "type")
        if not recipient_type:
            raise bad_request("Recipient type is required")
        if recipient_type not in RECIPIENT_TYPES:
            raise bad_request("Recipient type is invalid")
        name = text(body, "name")
        if not name:
            raise bad_request("Name is required")
        account_number = text(body, "account_number")
        if not account_number:
            raise bad_request("Either authorization_code or account_number must be passed.")
        bank_code = text(body, "bank_code")
        if not bank_code:
            raise bad_request("bank_code is required")
        bank = bank_for(bank_code)
        currency = (text(body, "currency") or bank.currency).upper()
        if currency not in CURRENCIES:
            raise bad_request("Currency not supported by merchant")
        if not resolvable(account_number):
            raise bad_request("Cannot resolve account")
        with self._ctx.lock:
            key = (bank_code, account_number, currency)
            existing = self._by_account.get(key)
            if existing is not None:
                return 200, existing.shape()
            recipient = Recipient(
                id=self._ctx.ids.next("recipient"),
                code="RCP_" + random_code(15),
                type=recipient_type,
                name=name,
                account_number=account_number,
                account_name=account_name(bank_code, account_number),
                bank=bank,
                currency=currency,
                created_at=self._ctx.clock(),
            )
            self.by_code[recipient.code] = recipient
            self._by_account[key] = recipient
            return 201, recipient.shape()

    def get(self, code: str) -> Recipient | None:
        with self._ctx.lock:
            return self.by_code.get(code)
