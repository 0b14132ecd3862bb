"""A flash sale: many buyers pay for one creator's product at the same moment.

The creator's wallet item is the hot spot; every settlement is a transaction conditioned on its
version, so concurrent sales must all land (no lost update) and the ledger must still sum to it.
"""

from __future__ import annotations

import threading
from typing import Any

import requests

from tests.helpers import wait_until
from tests.integration.factories import a_published_product, a_user, an_order, bearer, pay
from tests.integration.money import assert_ledger_matches_balance, expected_net

BUYERS = 10
ORDERS_PER_BUYER = 5
PRICE = 120000


def test_fifty_concurrent_payments_credit_the_creator_fifty_times(stack: Any) -> None:
    creator, creator_token = a_user(stack, "creator")
    product = a_published_product(stack, creator_token, price=PRICE, title="Flash sale")
    buyers = [a_user(stack, "customer")[1] for _ in range(BUYERS)]
    checkouts = [an_order(stack, token, product["id"]) for token in buyers for _ in range(ORDERS_PER_BUYER)]
    assert len(checkouts) == BUYERS * ORDERS_PER_BUYER

    start = threading.Barrier(len(checkouts))

    def pay_now(reference: str) -> None:
        start.wait()
        pay(stack, reference)

    threads = [threading.Thread(target=pay_now, args=(c["payment"]["reference"],)) for c in checkouts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    def paid_orders() -> int:
        page = requests.get(f"{stack.api}/orders?limit=100", headers=bearer(creator_token), timeout=30).json()
        return sum(1 for order in page["items"] if order["status"] == "paid")

    wait_until(lambda: paid_orders() == len(checkouts), timeout=120, interval=1, what="every order paid")
    money = assert_ledger_matches_balance(stack, creator["id"])
    assert money["available"] == len(checkouts) * expected_net(PRICE)
