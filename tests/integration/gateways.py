"""What the integration tests do at a payment gateway, one driver per gateway, so that one test body runs
for both: how a buyer pays or declines on the emulator, how a webhook is sent again or forged, how a
transfer is held or failed, what the gateway recorded.

Amounts given to a driver are always integer minor units; the Flutterwave driver converts them to the
major units Flutterwave puts on the wire (exactly, through ``Money``).

``driver`` (tests/integration/conftest.py) is parametrised over ``DRIVERS``: a test that takes it runs
once per gateway, with ids ``paystack`` and ``flutterwave``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from market.domain.money import Money
from tests.helpers import wait_until

TIMEOUT = 30
PAYSTACK_SECRET = "sk_test_local"
FLUTTERWAVE_SECRET_KEY = "FLWSECK_TEST-local"
FLUTTERWAVE_HASH = "local-hash"

Forgery = tuple[bytes, dict[str, str]]  # a webhook body and its headers


def _ok(response: requests.Response) -> dict[str, Any]:
    assert response.status_code < 300, (
        f"{response.request.method} {response.url}: {response.status_code} {response.text}"
    )
    body: dict[str, Any] = response.json()
    return body


@dataclass(frozen=True)
class Driver:
    """The base: what both emulators share (their control routes have the same shapes)."""

    name: str
    url: str  # the emulator's root
    api: str  # the local API
    currency: str = "NGN"

    # --- facts the tests branch on -----------------------------------------------------
    payout_account: dict[str, str] | None = None  # a PUT /wallet/payout-account body
    payment_page_prefix: str = ""
    refund_status_on_accept: str = "pending"  # Flutterwave completes a refund in its answer
    transfer_outcome_held: str = "pending"
    transfer_outcome_normal: str = ""

    # --- payments -----------------------------------------------------------------------
    def pay(
        self, reference: str, *, amount: int | None = None, currency: str | None = None, webhook: bool = True
    ) -> None:
        """What the payment page's Pay does (``amount``/``currency``: another payment than initialized)."""
        body: dict[str, Any] = {}
        if amount is not None or currency is not None:
            body.update(self._paid_amount(amount, currency))
        if not webhook:
            body["webhook"] = False
        _ok(requests.post(f"{self.url}/_emulator/transactions/{reference}/pay", json=body or None, timeout=TIMEOUT))

    def _paid_amount(self, amount: int | None, currency: str | None) -> dict[str, Any]:
        raise NotImplementedError

    def resend_webhook(self, reference: str, times: int = 1) -> list[int]:
        """The last webhook for ``reference`` again, ``times`` times; the delivery ids."""
        response = requests.post(
            f"{self.url}/_emulator/transactions/{reference}/webhook", params={"times": times}, timeout=TIMEOUT
        )
        assert response.status_code == 202, response.text
        return list(response.json()["data"]["deliveries"])

    def webhooks(self, reference: str) -> list[dict[str, Any]]:
        """The emulator's delivery log for ``reference``: ``{id, status, attempts: [{status_code}]}``."""
        response = requests.get(f"{self.url}/_emulator/webhooks", params={"reference": reference}, timeout=TIMEOUT)
        return list(_ok(response)["items"])

    def delivered(self, reference: str, delivery_ids: list[int]) -> bool:
        done = {item["id"] for item in self.webhooks(reference) if item["status"] == "delivered"}
        return set(delivery_ids) <= done

    def forgeries(self, reference: str) -> list[Forgery]:
        """Webhooks claiming ``reference`` was paid that the receiver must refuse with 401."""
        raise NotImplementedError

    def emulator_sends_a_forgery(self, reference: str) -> bool:
        """Make the emulator itself deliver a badly signed webhook for ``reference``; False where it cannot."""
        raise NotImplementedError

    def claim_unpaid(self, reference: str) -> None:
        """A correctly signed (or hashed) success claim for ``reference``, which nobody paid, taken by the receiver."""
        raise NotImplementedError

    def fail_verify(self, count: int) -> None:
        """The next ``count`` calls of the route the payments consumer verifies with answer 500."""
        raise NotImplementedError

    def clear_faults(self) -> None:
        requests.delete(f"{self.url}/_emulator/faults", timeout=TIMEOUT)

    # --- transfers and refunds ----------------------------------------------------------
    def configure(self, **changes: Any) -> None:
        _ok(requests.post(f"{self.url}/_emulator/config", json=changes, timeout=TIMEOUT))

    def hold_transfers(self) -> None:
        """New transfers stay pending until ``fail_transfer``."""
        self.configure(transfer_outcome=self.transfer_outcome_held)

    def release_transfers(self) -> None:
        self.configure(transfer_outcome=self.transfer_outcome_normal)

    def fail_transfer(self, reference: str) -> None:
        _ok(requests.post(f"{self.url}/_emulator/transfers/{reference}/fail", timeout=TIMEOUT))

    def transferred_amount(self, reference: str) -> int:
        """What the gateway says it transferred for our ``reference``, in minor units."""
        raise NotImplementedError

    def resend_refund_event(self, reference: str, times: int) -> list[int]:
        """Whatever the gateway sends about a refunded payment, again (the delivery ids)."""
        raise NotImplementedError


@dataclass(frozen=True)
class PaystackDriver(Driver):
    def _paid_amount(self, amount: int | None, currency: str | None) -> dict[str, Any]:
        return {key: value for key, value in (("amount", amount), ("currency", currency)) if value is not None}

    def forgeries(self, reference: str) -> list[Forgery]:
        body = json.dumps({"event": "charge.success", "data": {"reference": reference, "amount": 250000}}).encode()
        forged = hmac.new(b"not-the-secret", body, hashlib.sha512).hexdigest()
        signed = hmac.new(PAYSTACK_SECRET.encode(), body, hashlib.sha512).hexdigest()
        tampered = body.replace(b"250000", b"1")  # changed after signing
        json_type = {"Content-Type": "application/json"}
        return [
            (body, {**json_type, "x-paystack-signature": forged}),
            (body, json_type),
            (body, {**json_type, "x-paystack-signature": ""}),
            (tampered, {**json_type, "x-paystack-signature": signed}),
            (body, {**json_type, "verif-hash": FLUTTERWAVE_HASH}),  # the other gateway's credential
        ]

    def emulator_sends_a_forgery(self, reference: str) -> bool:
        requests.post(f"{self.url}/_emulator/transactions/{reference}/webhook?forge=true", timeout=TIMEOUT)
        requests.post(f"{self.url}/_emulator/transactions/{reference}/webhook?signature=bad", timeout=TIMEOUT)
        return True

    def claim_unpaid(self, reference: str) -> None:
        # The emulator signs and sends a charge.success for a transaction nobody paid.
        response = requests.post(f"{self.url}/_emulator/transactions/{reference}/webhook?forge=true", timeout=TIMEOUT)
        assert response.status_code == 202, response.text
        [delivery] = response.json()["data"]["deliveries"]
        wait_until(lambda: self.delivered(reference, [delivery]), timeout=20, what="the forged webhook delivered")

    def fail_verify(self, count: int) -> None:
        self._fault("verify", count)

    def _fault(self, route: str, count: int) -> None:
        fault = {"route": route, "mode": "error", "count": count}
        _ok(requests.post(f"{self.url}/_emulator/faults", json=fault, timeout=TIMEOUT))

    def transferred_amount(self, reference: str) -> int:
        response = requests.get(
            f"{self.url}/transfer/verify/{reference}",
            headers={"Authorization": f"Bearer {PAYSTACK_SECRET}"},
            timeout=TIMEOUT,
        )
        return int(_ok(response)["data"]["amount"])

    def resend_refund_event(self, reference: str, times: int) -> list[int]:
        response = requests.post(
            f"{self.url}/_emulator/transactions/{reference}/webhook",
            params={"event": "refund.processed", "times": str(times)},
            timeout=TIMEOUT,
        )
        assert response.status_code == 202, response.text
        return list(response.json()["data"]["deliveries"])


@dataclass(frozen=True)
class FlutterwaveDriver(Driver):
    def _paid_amount(self, amount: int | None, currency: str | None) -> dict[str, Any]:
        paid: dict[str, Any] = {}
        if amount is not None:
            # Major units, as Flutterwave's API takes them: exact decimal text (the emulator reads strings too).
            paid["amount"] = str(Money(amount, currency or self.currency).to_major())
        if currency is not None:
            paid["currency"] = currency
        return paid

    def forgeries(self, reference: str) -> list[Forgery]:
        body = json.dumps(
            {
                "event": "charge.completed",
                "data": {"id": 1, "tx_ref": reference, "amount": 2500, "currency": "NGN", "status": "successful"},
            }
        ).encode()
        json_type = {"Content-Type": "application/json"}
        signature = hmac.new(PAYSTACK_SECRET.encode(), body, hashlib.sha512).hexdigest()
        # No tampered-body case: v3 signs no body (the hash alone is checked; the consumer verifies by API).
        return [
            (body, {**json_type, "verif-hash": "not-the-hash"}),
            (body, json_type),
            (body, {**json_type, "verif-hash": ""}),
            (body, {**json_type, "verif-hash": FLUTTERWAVE_HASH.upper()}),
            (body, {**json_type, "x-paystack-signature": signature}),  # the other gateway's credential
        ]

    def emulator_sends_a_forgery(self, reference: str) -> bool:
        # The emulator resends wrong-hash copies only of a webhook it sent, and it sends none for an unpaid tx_ref.
        return False

    def claim_unpaid(self, reference: str) -> None:
        body = {
            "event": "charge.completed",
            "data": {"id": 999_999_999, "tx_ref": reference, "amount": 2500, "currency": "NGN", "status": "successful"},
            "event.type": "CARD_TRANSACTION",
        }
        response = requests.post(
            f"{self.api}/webhooks/flutterwave", json=body, headers={"verif-hash": FLUTTERWAVE_HASH}, timeout=TIMEOUT
        )
        assert response.status_code == 200, response.text

    def fail_verify(self, count: int) -> None:
        # The consumer verifies by the webhook's transaction id first (then by tx_ref).
        fault = {"route": "verify", "mode": "error", "count": count}
        _ok(requests.post(f"{self.url}/_emulator/faults", json=fault, timeout=TIMEOUT))

    def transferred_amount(self, reference: str) -> int:
        data = _ok(requests.get(f"{self.url}/_emulator/transfers/{reference}", timeout=TIMEOUT))["data"]
        return Money.from_major(str(data["amount"]), str(data["currency"])).amount

    def resend_refund_event(self, reference: str, times: int) -> list[int]:
        # Flutterwave sends no refund webhook: what it sends about a refunded payment is its charge.completed.
        return self.resend_webhook(reference, times)


def paystack(stack: Any) -> Driver:
    return PaystackDriver(
        name="paystack",
        url=stack.gateway,
        api=stack.api,
        payout_account={"bank_code": "058", "account_number": "0123456789", "currency": "NGN"},
        payment_page_prefix=f"{stack.gateway}/checkout/",
        refund_status_on_accept="pending",
        transfer_outcome_held="pending",
        transfer_outcome_normal="success",
    )


def flutterwave(stack: Any) -> Driver:
    return FlutterwaveDriver(
        name="flutterwave",
        url=stack.flutterwave,
        api=stack.api,
        payout_account={
            "bank_code": "044",
            "account_number": "0690000031",
            "currency": "NGN",
            "gateway": "flutterwave",
        },
        payment_page_prefix=f"{stack.flutterwave}/hosted/pay/",
        refund_status_on_accept="processed",
        transfer_outcome_held="pending",
        transfer_outcome_normal="successful",
    )


DRIVERS: dict[str, Callable[[Any], Driver]] = {"paystack": paystack, "flutterwave": flutterwave}
