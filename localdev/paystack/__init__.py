"""Local Paystack emulator: Paystack's API shapes, a checkout page, signed webhooks, control routes.

``PaystackEmulator(secret_key=..., webhook_url=..., public_url=...)`` is a WSGI app (serve it
with werkzeug's threaded server); call ``close()`` on shutdown. State lives in memory.

Paystack API (``Authorization: Bearer <secret_key>``; otherwise 401 ``Invalid key``, or
``No Authorization Header was found`` / ``Format is Authorization Bearer [secret key]``):
  POST /transaction/initialize          GET /transaction/verify/{reference}
  POST /refund                          GET /refund/{id}
  GET  /bank?currency=NGN               GET /bank/resolve?account_number=&bank_code=
  POST /transferrecipient               POST /transfer
  POST /transfer/finalize_transfer      GET /transfer/verify/{reference}
Envelopes, messages and ``data`` fields follow PAYSTACK.md §§1-6. Notable choices where real
behaviour is unconfirmed: an initialized, unpaid transaction verifies as ``abandoned``; an
unknown verify reference answers 404 (``unknown_reference_status`` makes it 400); a failed
account resolution answers 422; a fully refunded transaction becomes ``reversed`` (a partial
refund leaves it ``success``). Fixtures: banks 058 Guaranty Trust Bank, 044 Access Bank, 011
First Bank of Nigeria; account names are derived from (bank, account) so they never change;
account ``0000000000`` (and any number that is not 10 digits) never resolves. Test OTP: 123456.

Behaviour:
- Pay -> ``success``, ``paid_at``, ``gateway_response: "Successful"``, ``fees`` (``fee_bps`` of
  the paid amount, half-up, + ``fee_flat``, capped at ``fee_cap``), then ``charge.success``.
  Decline -> ``failed``, ``"Declined"``, no webhook (Paystack sends none for failed charges).
- Refund -> ``pending`` (+ ``refund.pending``), then ``processed`` + ``refund.processed``:
  AUTOMATIC by default, ``refund_delay_seconds`` (0.2 s) after creation. Turn it off with
  ``POST /_emulator/config {"auto_process_refunds": false}`` (or ``EmulatorConfig``) to hold
  refunds ``pending`` until ``/_emulator/refunds/{id}/process`` or ``/fail``.
- Transfer -> ``success`` at once + ``transfer.success`` (test transfers always succeed), unless
  ``transfer_outcome`` is ``failed`` (settles failed + ``transfer.failed`` after the delay) or
  ``pending`` (waits for a control route), or the reference was marked to fail / need an OTP.
- Webhooks: serialised once (compact JSON), POSTed as exactly those bytes to ``webhook_url``
  with ``Content-Type: application/json`` and ``x-paystack-signature`` = hex HMAC-SHA512 keyed
  with the secret key, from a background pool; anything but 200 is retried after each of
  ``webhook_retry_delays`` (1, 2, 4, 8 s by default); every attempt is logged.

Control routes (no auth; JSON body, form fields or query parameters):
  GET  /checkout/{access_code}                      the page behind authorization_url
  GET  /_emulator/transactions/{ref}                the transaction as verify shows it
  POST /_emulator/transactions/{ref}/pay            body {"amount", "currency"} (or ?amount=&currency=)
                                                    records another paid amount/currency than initialized;
                                                    "webhook": false pays without sending charge.success
  POST /_emulator/transactions/{ref}/decline | /abandon
  POST /_emulator/transactions/{ref}/webhook        resend the last webhook for it: ?times=N, ?signature=bad,
                                                    ?event=charge.success, ?forge=true (signed charge.success
                                                    for a transaction that was never paid)
  GET  /_emulator/webhooks?reference=&event=        delivery log, oldest first, with every attempt
  POST /_emulator/webhooks/{id}/replay              same bytes again (?times=, ?signature=bad)
  POST /_emulator/transfers/{ref}/fail | /reverse | /succeed | /require-otp | /webhook
                                                    (fail and require-otp on a reference not seen yet apply
                                                    when it is initiated)
  POST /_emulator/refunds/{id}/process | /fail
  POST /_emulator/faults {"route": "verify", "mode": "error"|"timeout", "count": N, "status"?, "seconds"?}
                                                    the next N calls answer 500 (or "status") at once, or are
                                                    processed and answered after "seconds" (default
                                                    fault_timeout_seconds, 5 s); GET lists, DELETE clears.
                                                    Routes: initialize verify refund refund_fetch banks resolve
                                                    recipient transfer finalize_transfer transfer_verify
  GET|POST /_emulator/config                        read or change EmulatorConfig fields at run time
  POST /_emulator/reset                             forget everything, restore the settings
  GET  /health
"""

from localdev.paystack.app import PaystackEmulator
from localdev.paystack.state import EmulatorConfig

__all__ = ["EmulatorConfig", "PaystackEmulator"]
