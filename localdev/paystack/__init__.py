"""Local Paystack emulator: Paystack's API shapes, a checkout page, signed webhooks, control routes.

``PaystackEmulator(secret_key=..., webhook_url=..., public_url=...)`` is a WSGI app (serve it
with werkzeug's threaded server); call ``close()`` on shutdown. State lives in memory.
``localdev/paystack/README.md`` lists the routes, the control routes and the fidelity notes.

Modules: ``app`` (WSGI, auth, faults, call log), ``api`` (Paystack's routes), ``controls``,
``settlement_controls`` and ``webhook_controls`` (control routes), ``state`` (the composition of the
resource books ``transactions``, ``refunds``, ``recipients``, ``transfers``; ``banks`` are fixtures),
``webhooks`` and ``deliveries`` (signed delivery, retries, holds, log), ``faults``, ``calls``, ``config``,
``common``, ``formats``, ``http``, ``scheduler``, ``checkout_page``.
"""

from localdev.paystack.app import PaystackEmulator
from localdev.paystack.config import EmulatorConfig

__all__ = ["EmulatorConfig", "PaystackEmulator"]
