"""``make check-ledger``: prove every wallet of the running local stack equals its ledger.

For every creator with a wallet: each bucket (available, pending, on_hold) must equal the sum
of its ledger entries, and ``on_hold`` must equal the creator's payouts still in flight.
Exits 0 when all agree, 1 listing every difference, 2 when the stack cannot be reached.

    python -m localdev.check_ledger            # the stack on LOCAL_AWS_PORT (default 5000)
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

STACK_NAME = "market-local"
LAYER_DIR = Path(__file__).resolve().parent.parent / "layers" / "common" / "python"


def configure_environment() -> None:
    """Point the market package (pynamodb, boto3) at the local stack's AWS emulator and table."""
    port = os.environ.get("LOCAL_AWS_PORT", "5000")
    os.environ.setdefault("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    os.environ.setdefault("TABLE_NAME", f"{STACK_NAME}-Table")
    os.environ.setdefault("AWS_REGION", "us-east-1")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")


def main() -> int:
    configure_environment()
    if str(LAYER_DIR) not in sys.path:
        sys.path.insert(0, str(LAYER_DIR))  # the market package, as the functions' layer provides it
    from botocore.exceptions import EndpointConnectionError
    from pynamodb.exceptions import PynamoDBException

    from localdev.caches import reset_caches
    from market.repositories.wallets import all_wallet_owners
    from market.services.wallet import audit
    from market.settings import get_settings

    reset_caches()
    settings = get_settings()
    out = sys.stdout
    try:
        owners = all_wallet_owners()
        problems = {owner: audit(owner) for owner in owners}
    except (PynamoDBException, EndpointConnectionError) as error:
        sys.stderr.write(f"cannot read {settings.table_name} at {settings.aws_endpoint_url}: {error}\n")
        return 2
    differences = {owner: found for owner, found in problems.items() if found}
    for line in (line for found in differences.values() for line in found):
        out.write(f"MISMATCH {line}\n")
    out.write(
        f"checked {len(owners)} wallet(s) in {settings.table_name}: "
        f"{'all balances equal their ledger' if not differences else f'{len(differences)} with differences'}\n"
    )
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
