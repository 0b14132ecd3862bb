"""Read a creator's money straight from the emulator's table, to check it independently of the API."""

from __future__ import annotations

from typing import Any

BUCKETS = ("available", "pending", "on_hold")


def balance(stack: Any, creator_id: str, currency: str = "NGN") -> dict[str, int]:
    item = (
        stack.client("dynamodb")
        .get_item(
            TableName=stack.table_name,
            Key={"PK": {"S": f"WALLET#{creator_id}"}, "SK": {"S": f"BALANCE#{currency}"}},
            ConsistentRead=True,
        )
        .get("Item")
    )
    if not item:
        return dict.fromkeys(BUCKETS, 0)
    return {bucket: int(item.get(bucket, {"N": "0"})["N"]) for bucket in BUCKETS}


def ledger(stack: Any, creator_id: str) -> list[dict[str, Any]]:
    client = stack.client("dynamodb")
    entries: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": stack.table_name,
        "KeyConditionExpression": "PK = :pk AND begins_with(SK, :ledger)",
        "ExpressionAttributeValues": {":pk": {"S": f"WALLET#{creator_id}"}, ":ledger": {"S": "LEDGER#"}},
        "ConsistentRead": True,
    }
    while True:
        page = client.query(**kwargs)
        for item in page["Items"]:
            entries.append(
                {
                    "type": item["type"]["S"],
                    "bucket": item["bucket"]["S"],
                    "amount": int(item["amount"]["N"]),
                    "currency": item["currency"]["S"],
                    "order_id": item.get("order_id", {}).get("S"),
                }
            )
        if "LastEvaluatedKey" not in page:
            return entries
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def assert_ledger_matches_balance(stack: Any, creator_id: str, currency: str = "NGN") -> dict[str, int]:
    """Every bucket's balance equals the sum of its ledger entries; returns the balance."""
    current = balance(stack, creator_id, currency)
    entries = [e for e in ledger(stack, creator_id) if e["currency"] == currency]
    for bucket in BUCKETS:
        total = sum(e["amount"] for e in entries if e["bucket"] == bucket)
        assert total == current[bucket], f"{bucket}: ledger {total} != balance {current[bucket]}"
    return current


def expected_net(amount: int, fee_bps: int = 500) -> int:
    fee = (amount * fee_bps * 2 + 10000) // 20000
    return amount - min(amount, fee)
