"""The creator's wallet: balances, ledger, the audit that proves them, and the hold release.

Balances change only through ``market.repositories.wallets.apply_change`` (one transaction
with the ledger entries beside the balance). ``audit`` checks, for one creator, that every
bucket equals the sum of its ledger entries and that ``on_hold`` equals what payouts still in
flight hold there (payouts of the old model; new payouts hold nothing: their money leaves at the
request); ``make check-ledger`` runs it over every wallet of the local stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from market import clock
from market.domain.money import Money
from market.domain.wallet import Balance, InsufficientFunds, release_change
from market.observability import logger
from market.repositories import payouts as payouts_repo
from market.repositories import wallets as wallets_repo
from market.repositories.transactions import OperationRejected
from market.repositories.wallets import LedgerPage

# Holds are keyed by their release day; the job looks this many days back, so a job that was
# down for up to a month still releases everything that became due meanwhile.
RELEASE_LOOKBACK_DAYS = 31


def balances(creator_id: str) -> list[Balance]:
    return wallets_repo.list_balances(creator_id)


def ledger(creator_id: str, limit: int, cursor: str | None) -> LedgerPage:
    return wallets_repo.list_ledger(creator_id, limit, cursor)


def audit(creator_id: str) -> list[str]:
    """Every way the creator's wallet disagrees with its ledger or its payouts (empty when sound).

    The payouts are read through GSI1, which on AWS is eventually consistent: run it on a quiet
    wallet (a payout created a moment ago may not be listed yet).
    """
    problems = wallets_repo.check_wallet(creator_id)
    in_flight = payouts_repo.in_flight_totals(creator_id)
    held = {balance.currency: balance.on_hold for balance in wallets_repo.list_balances(creator_id)}
    for currency in sorted(set(in_flight) | set(held)):
        if held.get(currency, 0) != in_flight.get(currency, 0):
            problems.append(
                f"{creator_id} {currency} on_hold: balance {held.get(currency, 0)} "
                f"!= payouts in flight {in_flight.get(currency, 0)}"
            )
    return problems


@dataclass(frozen=True)
class ReleaseReport:
    due: int
    released: int
    skipped: int


def release_due_holds() -> ReleaseReport:
    """Move every sale whose hold has passed from ``pending`` to ``available``, exactly once each.

    Each release is one transaction: two ``release`` ledger entries (pending -, available +)
    and the deletion of the hold item, conditioned on it still existing.
    """
    now = clock.now()
    now_iso = clock.iso(now)
    due = released = skipped = 0
    for back in range(RELEASE_LOOKBACK_DAYS, -1, -1):
        day = clock.iso(now - timedelta(days=back))[:10]
        for hold in wallets_repo.due_holds(day, now_iso):
            due += 1
            change = release_change(hold.creator_id, hold.order_id, Money(hold.amount, hold.currency))
            try:
                wallets_repo.apply_change(change, [wallets_repo.release_hold_op(hold)])
            except OperationRejected:
                skipped += 1  # released by a concurrent run
                continue
            except InsufficientFunds:
                skipped += 1
                logger.error("hold exceeds pending balance", creator_id=hold.creator_id, order_id=hold.order_id)
                continue
            released += 1
    logger.info("holds released", due=due, released=released, skipped=skipped)
    return ReleaseReport(due=due, released=released, skipped=skipped)
