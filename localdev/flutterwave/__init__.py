"""Local Flutterwave v3 emulator: Flutterwave's API shapes, a hosted payment page, webhooks, control routes.

``FlutterwaveEmulator(secret_key=..., secret_hash=..., webhook_url=..., public_url=...)`` is a
WSGI app (serve it with werkzeug's threaded server); call ``close()`` on shutdown. State lives
in memory. Amounts are major units on the wire and int minor units inside (``money``).
``README.md`` beside this file lists every route and control, the choices made where Flutterwave's
behaviour is not documented, and where the official Node SDK and the docs disagree.

Modules: ``app`` (WSGI, bearer check, faults), ``api`` (the /v3 routes), ``controls`` (hosted page,
/_emulator), ``payments`` (hosted links, transactions), ``refunds``, ``transfers``, ``banks``,
``webhooks`` (verif-hash delivery, retries, log), ``faults``, ``money``, ``config``, ``envelope``,
``hosted_page``; ``sdk/`` is the Node project that drives the emulator with ``flutterwave-node-v3``.
"""

from localdev.flutterwave.app import FlutterwaveEmulator
from localdev.flutterwave.config import EmulatorConfig

__all__ = ["EmulatorConfig", "FlutterwaveEmulator"]
