"""A tiny run of the end-to-end storm (``bench/storm.py``) on the test stack: its counters must be 0.

The benchmark itself (1,000 sales, with and without verify faults) stays out of ``make test``;
this keeps its code working and checks, on a few sales, what it checks at scale: every order paid
and emailed once, no double credit, every wallet's ledger equal to its balance.
"""

from __future__ import annotations

from typing import Any

from bench.storm import StormConfig, run_storm


def test_a_small_storm_with_duplicate_webhooks_pays_and_emails_every_order_once(stack: Any) -> None:
    config = StormConfig(
        sales=12, buyers=3, creators=2, duplicates=0.5, threads=4, warm_up=0, raw_transactions=10, stall=60, timeout=180
    )

    report = run_storm(stack, config, say=lambda _: None)

    assert len(report.sales) == 12
    assert sum(1 for sale in report.sales if sale.duplicate) > 0  # some webhooks really came twice
    assert (report.double_credits, report.lost_orders, report.emails_missing) == (0, 0, 0)
    assert report.ledger_problems == []
    assert len(report.pay_to_email_ms) == 12
    assert report.webhook_ms  # the emulator's deliveries were timed
    assert report.ok
