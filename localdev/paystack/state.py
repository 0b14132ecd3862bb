"""The emulator's memory: one book per resource, composed behind one lock.

``Store`` builds the shared ``Context`` (lock, settings, clock, ids, ``emit``, ``schedule``) and hands it to
each book; the books hold the state and the Paystack JSON shapes of their resource:
``transactions`` (initialize, verify, checkout outcomes), ``refunds``, ``recipients`` and ``transfers``.
Banks are fixtures without state (``localdev.paystack.banks``).
"""

from __future__ import annotations

import threading

from localdev.paystack.common import Clock, Context, Emit, Ids, Schedule
from localdev.paystack.config import EmulatorConfig
from localdev.paystack.recipients import Recipients
from localdev.paystack.refunds import Refunds
from localdev.paystack.transactions import Transactions
from localdev.paystack.transfers import Transfers


class Store:
    """All emulator state behind one lock."""

    def __init__(
        self, *, config: EmulatorConfig, clock: Clock, emit: Emit, schedule: Schedule, public_url: str
    ) -> None:
        self.lock = threading.RLock()
        self.config = config
        self._ids = Ids()
        ctx = Context(lock=self.lock, config=config, clock=clock, ids=self._ids, emit=emit, schedule=schedule)
        self.transactions = Transactions(ctx, public_url=public_url)
        self.refunds = Refunds(ctx, self.transactions)
        self.recipients = Recipients(ctx)
        self.transfers = Transfers(ctx, self.recipients)

    def reset(self) -> None:
        with self.lock:
            self._ids.reset()
            for book in (self.transactions, self.refunds, self.recipients, self.transfers):
                book.reset()
