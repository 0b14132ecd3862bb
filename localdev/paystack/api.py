"""The Paystack API routes (bearer-checked and fault-injectable), by the operation names faults use."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from localdev.paystack import banks
from localdev.paystack.common import PaystackError
from localdev.paystack.http import body, ok, route
from localdev.paystack.state import Store

# An empty verify reference counts as a verify call for faults.
FAULT_ALIASES = {"verify_empty": "verify"}


class PaystackApi:
    """Handlers of Paystack's own routes, each answering Paystack's envelope; a handler's name is its operation."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @route("POST", "/transaction/initialize")
    def initialize(self, request: Request) -> Response:
        return ok("Authorization URL created", self._store.transactions.initialize(body(request)))

    @route("GET", "/transaction/verify/")
    def verify_empty(self, request: Request) -> Response:
        raise PaystackError(400, "Transaction ID should be numeric.")

    @route("GET", "/transaction/verify/<reference>")
    def verify(self, request: Request, reference: str) -> Response:
        return ok("Verification successful", self._store.transactions.verify(reference))

    @route("POST", "/refund")
    def refund(self, request: Request) -> Response:
        return ok("Refund has been queued for processing", self._store.refunds.create(body(request)))

    @route("GET", "/refund")
    def refund_list(self, request: Request) -> Response:
        data, meta = self._store.refunds.search(request.args)
        return ok("Refunds retrieved", data, meta=meta)

    @route("GET", "/refund/<refund_id>")
    def refund_fetch(self, request: Request, refund_id: str) -> Response:
        if not refund_id.isdigit():
            raise PaystackError(404, "Refund not found")
        return ok("Refund retrieved", self._store.refunds.fetch(int(refund_id)))

    @route("GET", "/bank")
    def banks(self, request: Request) -> Response:
        data, meta = banks.list_banks(request.args)
        return ok("Banks retrieved", data, meta=meta)

    @route("GET", "/bank/resolve")
    def resolve(self, request: Request) -> Response:
        return ok("Account number resolved", banks.resolve(request.args))

    @route("POST", "/transferrecipient")
    def recipient(self, request: Request) -> Response:
        status, data = self._store.recipients.create(body(request))
        return ok("Transfer recipient created successfully", data, status)

    @route("POST", "/transfer")
    def transfer(self, request: Request) -> Response:
        message, data = self._store.transfers.initiate(body(request))
        return ok(message, data)

    @route("POST", "/transfer/finalize_transfer")
    def finalize_transfer(self, request: Request) -> Response:
        return ok("Transfer has been queued", self._store.transfers.finalize(body(request)))

    @route("GET", "/transfer/verify/<reference>")
    def transfer_verify(self, request: Request, reference: str) -> Response:
        return ok("Transfer retrieved", self._store.transfers.verify(reference))
