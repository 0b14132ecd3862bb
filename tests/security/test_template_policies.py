"""Least privilege: each function's role grants exactly what its code calls, and nothing else.

``TABLE`` and ``INDEXES`` below are the one readable list of which function reaches which key
prefixes of the single table, with which DynamoDB actions, and the code path that needs each.
template.yaml writes the same thing as IAM statements (one per action, narrowed with
``dynamodb:LeadingKeys``); these tests read the template's statements back and fail when the two
differ, in either direction. A new item type (``DISCOUNT#``...) or a new call means: a line here,
and the prefix in the statement of each action in template.yaml (README, "Least privilege and limits").

moto does not enforce IAM: a missing prefix breaks production only. Keep this table honest by
tracing the code (``functions/<area>/<entry>.py`` -> ``market.services`` -> ``market.repositories``).
"""

from __future__ import annotations

import pytest

from tests.template import iam

GET, QUERY, BATCH_GET, CHECK = "GetItem", "Query", "BatchGetItem", "ConditionCheckItem"
PUT, UPDATE, DELETE, BATCH_WRITE = "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem"

# Table access per function: key prefix (an IAM StringLike pattern) -> DynamoDB actions.
# Transactions (TransactWriteItems) are authorized item by item as PutItem / UpdateItem / DeleteItem /
# ConditionCheckItem, so a prefix written inside a transaction appears with those actions.
TABLE: dict[str, dict[str, set[str]]] = {
    "AuthFunction": {
        # register (transaction); refresh/me read (and login, for an old guard); rehash; login checks the role's copy
        "USER#*": {GET, PUT, UPDATE, CHECK},
        "EMAIL#*": {BATCH_GET, PUT, UPDATE},  # register's guard (transaction); login reads its copy; rehash updates it
        "REFRESH#*": {GET, PUT, UPDATE},  # login puts the first token; refresh reads, spends and puts the next
        "FAMILY#*": {GET, PUT, UPDATE},  # login starts a family; refresh reads/extends it; reuse and logout revoke
        # login failures: read with the guard, ADD, reset, IP check; register's per-IP/address counters (ADD)
        "RATE#*": {BATCH_GET, UPDATE, DELETE, CHECK},
    },
    "UploadFunction": {
        "PRODUCT#*": {GET, PUT},  # create/edit/publish/archive (version-conditioned put), owner checks
        "UPLOAD#*": {PUT},  # the upload ticket recorded before the presigned POST is handed out
        "DISCOUNT#*": {GET, QUERY, PUT, UPDATE},  # POST/GET/DELETE /discounts: create, list, deactivate
    },
    "UploadEventsFunction": {
        "UPLOAD#*": {GET, PUT},  # the ticket of the object that arrived; its new state
        "PRODUCT#*": {GET, PUT},  # attach or refuse the file (transaction with the ticket); orphan check
    },
    "CheckoutFunction": {
        "IDEMPOTENCY#*": {GET, PUT},  # POST /orders Idempotency-Key: replay read, claim in the order transaction
        "PRODUCT#*": {GET, BATCH_GET},  # the product being bought (with its signed-in buyer, or alone for a guest)
        "USER#*": {BATCH_GET},  # the buyer's email for the gateway, read with the product
        "ORDER#*": {GET, PUT, UPDATE},  # create (transaction), checkout attempts, payment page, verify's settlement
        "REF#*": {PUT},  # the payment reference of each checkout attempt (with the order, or before a new initialize)
        "PENDING#*": {PUT, DELETE},  # the reconciler's marker: put with the order, removed when verify settles/fails
        "TXN#*": {GET, PUT},  # POST /orders/{id}/verify: the exactly-once guard of settlement
        "WALLET#*": {GET, PUT, UPDATE},  # verify's settlement: balance (read, conditional update), ledger entries
        "STATS#*": {UPDATE},  # verify's settlement: the dashboard's sales counters (ADD)
        "HOLDS#*": {PUT},  # verify's settlement in a currency with a hold period
        "RATE#*": {UPDATE},  # POST /orders: counters per IP and per account (ADD), services/limits.py
        "OPENORDERS#*": {UPDATE},  # the buyer's pending-order count: +1 (bounded) with the order, -1 when it closes
        "REFUNDS#*": {GET, QUERY, PUT, UPDATE},  # verify of a mismatched payment: its capture refund, claim, status
        "OPENREFUND#*": {PUT, DELETE},  # the capture refund's open marker (refund reconciler's worklist)
        # POST /orders {discount_code}: the code, its use reserved in the order's transaction; verify gives it
        # back when the order fails and takes it again when a late payment settles it
        "DISCOUNT#*": {GET, UPDATE},
    },
    "WebhookFunction": {},  # signature check and enqueue only: no table access at all
    "PaymentsFunction": {
        "REF#*": {GET, BATCH_GET},  # charge.success / refund.*: the order behind the reference (a batch's at once)
        "ORDER#*": {GET, BATCH_GET, UPDATE},  # settlement (pending -> paid / failed), refunds (refunded amount, status)
        "TXN#*": {GET, BATCH_GET, PUT},  # settlement's exactly-once guard (a batch's read at once)
        "PENDING#*": {DELETE},  # settlement removes the reconciler's marker
        "WALLET#*": {GET, PUT, UPDATE},  # balances and ledger: sales, transfer success/failure, refunds
        "STATS#*": {UPDATE},  # sales and refund counters (ADD)
        "HOLDS#*": {PUT},  # a sale in a currency with a hold period
        "PAYOUT#*": {GET, UPDATE},  # transfer.success / failed / reversed: the payout and its status
        "REFUNDS#*": {GET, QUERY, PUT, UPDATE},  # refund.*: open refunds, claims of gateway refunds, status, totals;
        # a mismatched charge.success writes its capture refund
        "OPENREFUND#*": {PUT, DELETE},  # a capture refund's marker; removed when a refund is processed or fails
        "OPENORDERS#*": {UPDATE},  # settling or failing a pending order takes the buyer's open count down
        "EARLY#*": {PUT},  # an event that came before its record (unknown reference, unmatched gateway refund)
        "GRANT#*": {UPDATE},  # a full refund revokes the order's download grants
        "DISCOUNT#*": {UPDATE},  # a failed order gives its code's use back; a late settlement takes it again
    },
    "ReconcilerFunction": {
        "PENDING#*": {QUERY, DELETE},  # the worklist of pending orders; removed when settled, failed or expired
        "ORDER#*": {GET, UPDATE},  # re-verify and settle, or expire
        "TXN#*": {GET, PUT},  # settlement's exactly-once guard
        "WALLET#*": {GET, PUT, UPDATE},  # settlement's balance and ledger
        "STATS#*": {UPDATE},  # settlement's sales counters
        "HOLDS#*": {PUT},  # settlement in a currency with a hold period
        "OPENORDERS#*": {UPDATE},  # settling or expiring a pending order takes the buyer's open count down
        "RECONCILER#*": {GET, PUT},  # the sweep's cursor over the pending markers
        "REFUNDS#*": {GET, QUERY, PUT, UPDATE},  # a mismatched payment's capture refund, its claim and status
        "OPENREFUND#*": {PUT, DELETE},  # the capture refund's open marker
        "DISCOUNT#*": {UPDATE},  # an expired order gives its code's use back; a late settlement takes it again
    },
    "RefundReconcilerFunction": {
        "OPENREFUND#*": {QUERY, DELETE},  # the open refunds' markers; removed when a refund is processed or fails
        "RECONCILER#*": {GET, PUT},  # the sweep's cursor
        "REFUNDS#*": {GET, QUERY, PUT, UPDATE},  # the refund, claims of gateway refunds (lost answers), status, totals
        "ORDER#*": {GET, UPDATE},  # the order refunded (refunded amount, status)
        "WALLET#*": {GET, PUT, UPDATE},  # the debit of a processed refund (ledger entries) or the reservation released
        "STATS#*": {UPDATE},  # the refund's day counters
        "GRANT#*": {UPDATE},  # a full refund revokes the order's download grants
    },
    "DeliveryFunction": {
        "RATE#*": {UPDATE},  # fresh links per order and library pages per buyer, per hour
        "LIBRARY#*": {QUERY},  # GET /library
        "ORDER#*": {GET, BATCH_GET, CHECK},  # link requests, the library's orders, the download's access check
        "PRODUCT#*": {GET},  # the product's current file
        "GRANT#*": {GET, PUT, UPDATE, BATCH_WRITE},  # download (read, take a use), new links, the library's links
    },
    "DeliveryWorkerFunction": {
        "ORDER#*": {GET, BATCH_GET, CHECK, UPDATE},  # the paid order (with its product), still unsent under
        # the lease (in the lease's transaction); delivery_email_sent_at once the email went out
        "LIBRARY#*": {PUT},  # the buyer's library entry
        "PRODUCT#*": {GET, BATCH_GET},  # title and file for the email
        "DELIVERY#*": {PUT, DELETE},  # the delivery lease (conditional put), given back after a failed send
        "GRANT#*": {PUT},  # the emailed link's grant
    },
    "WalletFunction": {
        "WALLET#*": {GET, QUERY, PUT, UPDATE},  # balances, ledger, payout accounts; payouts and refunds move money
        "STATS#*": {QUERY, UPDATE},  # GET /creator/dashboard; a refund's counters
        "IDEMPOTENCY#*": {GET, PUT},  # POST /wallet/payouts Idempotency-Key
        "PAYOUT#*": {GET, PUT},  # a new payout (in the wallet transaction), its replay
        "ORDER#*": {GET, UPDATE},  # POST /orders/{id}/refund: the order, its refunded amount when processed at once
        "REFUNDS#*": {GET, QUERY, PUT, UPDATE},  # the refund, the order's refund totals (reservation transaction),
        # claims of gateway refunds (a lost answer found again), GET /orders/{id}/refunds
        "OPENREFUND#*": {PUT, DELETE},  # the refund's open marker, put with the reservation, removed when it closes
        "GRANT#*": {UPDATE},  # a full refund revokes the order's download grants
    },
    "PayoutsWorkerFunction": {
        "PAYOUT#*": {GET, UPDATE},  # the payout to transfer; processing, paid, failed
        "WALLET#*": {GET, PUT, UPDATE},  # a transfer settled or reversed at once moves the held money
    },
    "HoldReleaseFunction": {
        "HOLDS#*": {QUERY, DELETE},  # the holds due, each consumed once (conditional delete in the transaction)
        "WALLET#*": {GET, PUT, UPDATE},  # pending -> available with two ledger entries
    },
}

# Queries on the secondary indexes: index -> allowed LeadingKeys. For a Query on an index the partition
# key is the index's (GSI1PK / GSI2PK); each set also lists the table key prefix of the items paged
# through, since a later page's ExclusiveStartKey carries their PK too (AWS does not document whether
# LeadingKeys sees it; no index partition starts with those prefixes, so they open nothing).
INDEXES: dict[str, dict[str, set[str]]] = {
    "UploadFunction": {
        "GSI1": {"CREATOR#*", "PRODUCT#*"},  # GET /creator/products, GET /products?creator_id=
        "GSI2": {"CATALOG", "PRODUCT#*"},  # GET /products: the catalog partition
    },
    "CheckoutFunction": {
        "GSI1": {"BUYER#*", "GUEST#*", "ORDER#*"},  # GET /orders for a buyer; POST /orders/resend: a guest's orders
        "GSI2": {"CREATOR_ORDERS#*", "ORDER#*"},  # GET /orders for a creator
    },
    "PaymentsFunction": {
        "GSI1": {"ORDER_GRANTS#*", "GRANT#*"},  # a full refund finds the order's grants to revoke
    },
    "RefundReconcilerFunction": {
        "GSI1": {"ORDER_GRANTS#*", "GRANT#*"},  # a full refund finds the order's grants to revoke
    },
    "WalletFunction": {
        "GSI1": {"CREATOR_PAYOUTS#*", "ORDER_GRANTS#*", "PAYOUT#*", "GRANT#*"},  # GET /wallet/payouts; refund revokes
    },
}

# Every other AWS call, per function.
SSM = {  # SecureStrings read (Powertools get_parameter, decrypt)
    "AuthFunction": {"JwtSigningKeyParameter"},
    # CursorSigningKeyParameter: every function that pages a listing (market.cursors). Each function that
    # calls a gateway's API reads both gateways' secret keys (the order's or payout account's gateway decides
    # which); the receiver reads Paystack's key (its HMAC) and Flutterwave's hash.
    "UploadFunction": {"JwtSigningKeyParameter", "CursorSigningKeyParameter"},
    "CheckoutFunction": {
        "JwtSigningKeyParameter",
        "PaystackSecretParameter",
        "FlutterwaveSecretParameter",
        "CursorSigningKeyParameter",
    },
    "WebhookFunction": {"PaystackSecretParameter", "FlutterwaveSecretHashParameter"},
    "PaymentsFunction": {"PaystackSecretParameter", "FlutterwaveSecretParameter"},
    "RefundReconcilerFunction": {"PaystackSecretParameter", "FlutterwaveSecretParameter"},
    "ReconcilerFunction": {"PaystackSecretParameter", "FlutterwaveSecretParameter"},
    "DeliveryFunction": {"JwtSigningKeyParameter", "CursorSigningKeyParameter"},
    "WalletFunction": {
        "JwtSigningKeyParameter",
        "PaystackSecretParameter",
        "FlutterwaveSecretParameter",
        "CursorSigningKeyParameter",
    },
    "PayoutsWorkerFunction": {"PaystackSecretParameter", "FlutterwaveSecretParameter"},
}
SQS_SEND = {
    "CheckoutFunction": {"DeliveryQueue"},  # verify settles, then enqueues the delivery
    "WebhookFunction": {"PaymentsQueue"},
    "PaymentsFunction": {"DeliveryQueue"},
    "ReconcilerFunction": {"DeliveryQueue", "ScheduledJobsDLQ"},  # + its own failed runs (Lambda's DLQ)
    "RefundReconcilerFunction": {"ScheduledJobsDLQ"},  # its own failed runs (Lambda's DLQ)
    "WalletFunction": {"PayoutsQueue"},
    "HoldReleaseFunction": {"ScheduledJobsDLQ"},
}
SQS_RECEIVE = {
    "UploadEventsFunction": "UploadsQueue",
    "PaymentsFunction": "PaymentsQueue",
    "DeliveryWorkerFunction": "DeliveryQueue",
    "PayoutsWorkerFunction": "PayoutsQueue",
}
S3_OBJECTS = {  # on FilesBucket/products/* only
    "UploadFunction": {"s3:PutObject"},  # the presigned POST is signed with the function's credentials
    "UploadEventsFunction": {"s3:GetObject", "s3:DeleteObject"},  # head + ranged read, then keep or delete
    "DeliveryFunction": {"s3:GetObject"},  # the presigned download URL
}
S3_BUCKET = {"UploadEventsFunction": {"s3:ListBucket"}}  # 404 rather than 403 for a key that is gone
SES = {"DeliveryWorkerFunction": {"ses:SendEmail"}}
# The only actions AWS offers no resource-level permission for, that a function needs.
STAR_RESOURCE_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}

DYNAMODB_ACTIONS = {GET, QUERY, BATCH_GET, CHECK, PUT, UPDATE, DELETE, BATCH_WRITE}
ALL_PREFIXES = sorted({prefix for access in TABLE.values() for prefix in access})
FUNCTIONS = sorted(iam.functions())
SAMPLE_ID = "abc123"


def sample_key(prefix: str) -> str:
    return prefix.replace("*", SAMPLE_ID)


def table_access(function: str) -> dict[str, set[str]]:
    """prefix -> actions, from the template's statements on the table."""
    out: dict[str, set[str]] = {}
    for statement in iam.statements(function):
        if statement.resources != (iam.table_arn(),):
            continue
        for action in statement.actions:
            assert action.startswith("dynamodb:"), statement
            assert statement.leading_keys, f"{function} {statement.sid}: table access without dynamodb:LeadingKeys"
            for prefix in statement.leading_keys:
                out.setdefault(prefix, set()).add(action.removeprefix("dynamodb:"))
    return out


def index_access(function: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for statement in iam.statements(function):
        for resource in statement.resources:
            if not resource.startswith(iam.table_arn() + "/index/"):
                continue
            assert statement.actions == ("dynamodb:Query",), f"{function} {statement.sid}: only Query on an index"
            assert statement.leading_keys, f"{function} {statement.sid}: index query without dynamodb:LeadingKeys"
            out.setdefault(resource.rsplit("/", 1)[1], set()).update(statement.leading_keys)
    return out


def test_the_table_lists_every_function_of_the_template() -> None:
    assert sorted(TABLE) == FUNCTIONS


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_function_has_a_role_of_its_own_and_nothing_else_attached(function: str) -> None:
    role_id = iam.role_logical_id(function)
    users = [name for name in FUNCTIONS if iam.role_logical_id(name) == role_id]
    assert users == [function], f"{role_id} is shared by {users}"
    role = iam.role(function)
    # No managed policy (SAM's generated roles add AWSLambdaSQSQueueExecutionRole, logs and X-Ray on "*").
    assert not role.get("ManagedPolicyArns"), role.get("ManagedPolicyArns")
    assert not role.get("PermissionsBoundary")
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust == {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    assert iam.statements(function), f"{function} has an empty policy"
    assert "Policies" not in iam.functions()[function]["Properties"], "Policies are ignored once a Role is given"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_table_access_is_exactly_the_table_above(function: str) -> None:
    assert table_access(function) == TABLE[function]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_index_queries_are_exactly_the_indexes_above(function: str) -> None:
    assert index_access(function) == INDEXES.get(function, {})


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_function_reaches_another_aggregates_keys(function: str) -> None:
    """For every known prefix the function does not own, no DynamoDB action on the table lets it in."""
    granted = TABLE[function]
    for prefix in ALL_PREFIXES:
        key = sample_key(prefix)
        for action in sorted(DYNAMODB_ACTIONS):
            expected = action in granted.get(prefix, set())
            assert iam.allowed(function, f"dynamodb:{action}", iam.table_arn(), [key]) is expected, (
                function,
                action,
                key,
            )


def test_the_auth_function_cannot_touch_money_orders_or_deliveries() -> None:
    money_and_orders = ("WALLET#", "ORDER#", "PAYOUT#", "TXN#", "REF#", "REFUNDS#", "STATS#", "HOLDS#")
    for prefix in (*money_and_orders, "GRANT#", "LIBRARY#", "DELIVERY#", "PRODUCT#"):
        key = prefix + "usr_1"
        for action in sorted(DYNAMODB_ACTIONS):
            assert not iam.allowed("AuthFunction", f"dynamodb:{action}", iam.table_arn(), [key]), (action, key)
    # A batch or transaction that mixes its own keys with a wallet's is refused as a whole.
    assert not iam.allowed("AuthFunction", "dynamodb:PutItem", iam.table_arn(), ["USER#usr_1", "WALLET#usr_1"])
    assert iam.allowed("AuthFunction", "dynamodb:PutItem", iam.table_arn(), ["USER#usr_1", "EMAIL#a@b.c"])


def test_no_function_may_scan_or_read_the_table_without_partition_keys() -> None:
    # ForAllValues on an absent key set is true: actions that carry no partition key must never be granted.
    for function in FUNCTIONS:
        for statement in iam.statements(function):
            for action in statement.actions:
                if action.startswith("dynamodb:"):
                    assert action.removeprefix("dynamodb:") in DYNAMODB_ACTIONS, (function, action)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_wildcard_action_and_star_resources_only_where_aws_requires_them(function: str) -> None:
    for statement in iam.statements(function):
        for action in statement.actions:
            assert "*" not in action, (function, statement.sid, action)
            assert "?" not in action, (function, statement.sid, action)
        for resource in statement.resources:
            if resource == "*":
                assert set(statement.actions) <= STAR_RESOURCE_ACTIONS, (function, statement.sid)
            elif "*" in resource or "?" in resource:
                # The only wildcard inside an ARN: the product files' keys.
                assert resource == f"{iam.bucket_arn()}/products/*", (function, statement.sid, resource)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_other_services_are_exactly_what_the_code_calls(function: str) -> None:
    objects, bucket = f"{iam.bucket_arn()}/products/*", iam.bucket_arn()
    seen: dict[str, set[str]] = {"ssm": set(), "send": set(), "receive": set(), "s3": set(), "bucket": set()}
    ses: set[str] = set()
    for statement in iam.statements(function):
        for action in statement.actions:
            service = action.split(":", 1)[0]
            if service in ("dynamodb", "logs", "xray"):
                continue
            if action == "ssm:GetParameter":
                for resource in statement.resources:
                    seen["ssm"].add(resource)
            elif action == "sqs:SendMessage":
                seen["send"].update(statement.resources)
            elif action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
                seen["receive"].update(statement.resources)
            elif service == "s3" and statement.resources == (objects,):
                seen["s3"].add(action)
            elif service == "s3" and statement.resources == (bucket,):
                seen["bucket"].add(action)
            elif service == "ses":
                ses.add(action)
            else:
                raise AssertionError(f"{function}: unexpected {action} on {statement.resources}")
    assert seen["ssm"] == {iam.parameter_arn(p) for p in SSM.get(function, set())}
    assert seen["send"] == {iam.queue_arn(q) for q in SQS_SEND.get(function, set())}
    receive = SQS_RECEIVE.get(function)
    assert seen["receive"] == ({iam.queue_arn(receive)} if receive else set())
    assert seen["s3"] == S3_OBJECTS.get(function, set())
    assert seen["bucket"] == S3_BUCKET.get(function, set())
    assert ses == SES.get(function, set())


def test_the_delivery_consumer_may_send_only_as_the_configured_sender() -> None:
    sender = iam.local().parameters["EmailSender"]
    domain = sender.split("@", 1)[1]
    identity = f"arn:aws:ses:{iam.REGION}:{iam.ACCOUNT}:identity/"
    assert iam.allowed("DeliveryWorkerFunction", "ses:SendEmail", identity + sender)
    assert iam.allowed("DeliveryWorkerFunction", "ses:SendEmail", identity + domain)
    assert not iam.allowed("DeliveryWorkerFunction", "ses:SendEmail", identity + "someone-else.example")


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_logs_only_to_its_own_log_group(function: str) -> None:
    props = iam.functions()[function]["Properties"]
    group = props["LoggingConfig"]["LogGroup"]["Ref"]
    spec = iam.template()["Resources"][group]
    assert spec["Type"] == "AWS::Logs::LogGroup"
    assert "RetentionInDays" in spec["Properties"]
    log_statements = [s for s in iam.statements(function) if any(a.startswith("logs:") for a in s.actions)]
    assert [(s.actions, s.resources) for s in log_statements] == [
        (("logs:CreateLogStream", "logs:PutLogEvents"), (iam.local().arn(group),))
    ]
