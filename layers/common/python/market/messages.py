"""Every queue message, as one typed record each, and the one way to send them.

- ``GatewayEventMessage`` (payments queue): which gateway said what happened to which reference;
  never a webhook's values (the consumer asks the gateway's API);
- ``DeliveryMessage`` (delivery queue): a paid order to deliver (or, ``resend``, to email again);
- ``PayoutMessage`` (payouts queue): a held payout whose transfer to start.

``send`` always sets the ``correlation_id`` message attribute (the caller's, or a new one), so a
consumer's logs continue the trace of the request that caused the message. Standard library only
at import: the webhook receiver sends with it at cold start, passing its own client; consumers
parse records with ``record_model`` (pydantic, through Powertools' batch processor).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parser.models import SqsRecordModel

CORRELATION_ATTRIBUTE = "correlation_id"


@dataclass(frozen=True)
class GatewayEventMessage:
    gateway: str
    event: str  # a market.gateways.events.EventKind
    reference: str
    received_at: str
    gateway_event: str = ""
    refund_id: str | None = None
    transaction_id: str | None = None


@dataclass(frozen=True)
class DeliveryMessage:
    order_id: str
    # The order's product, so the consumer reads both in one request (absent from older messages).
    product_id: str | None = None
    # True: a fresh email with a fresh link although one was sent (POST /orders/resend, guest orders).
    resend: bool | None = None


@dataclass(frozen=True)
class PayoutMessage:
    payout_id: str


Message = GatewayEventMessage | DeliveryMessage | PayoutMessage

# Which setting names each message's queue.
QUEUE_SETTINGS: dict[type[Any], str] = {
    GatewayEventMessage: "payments_queue_url",
    DeliveryMessage: "delivery_queue_url",
    PayoutMessage: "payouts_queue_url",
}


class Sender(Protocol):
    def send_message(self, **kwargs: Any) -> Any: ...


class BatchSender(Protocol):
    def send_message_batch(self, **kwargs: Any) -> Any: ...


SEND_BATCH_LIMIT = 10  # entries per SendMessageBatch


class NotSent(RuntimeError):
    """SQS refused some entries of a batch (the others were sent)."""


def encode(message: Message) -> str:
    """The message body: compact JSON, absent optional values left out."""
    return json.dumps({k: v for k, v in asdict(message).items() if v is not None}, separators=(",", ":"))


def send(
    message: Message,
    *,
    queue_url: str | None = None,
    client: Sender | None = None,
    correlation_id: str | None = None,
) -> None:
    """Send ``message`` to its queue, with the correlation id of the work that caused it.

    By default the queue URL comes from the settings, the client from ``market.aws`` and the
    correlation id from the logger (each imported only then).
    """
    if queue_url is None:
        from market.settings import get_settings

        queue_url = getattr(get_settings(), QUEUE_SETTINGS[type(message)])
        if not queue_url:
            raise RuntimeError(f"{QUEUE_SETTINGS[type(message)].upper()} is not set")
    if client is None:
        from market import aws

        client = cast(Sender, aws.sqs())
    if correlation_id is None:
        from market.observability import logger

        correlation_id = logger.get_correlation_id() or str(uuid.uuid4())
    client.send_message(
        QueueUrl=queue_url,
        MessageBody=encode(message),
        MessageAttributes={CORRELATION_ATTRIBUTE: {"DataType": "String", "StringValue": str(correlation_id)}},
    )


def send_batch(batch: list[Message], *, client: BatchSender | None = None, correlation_id: str | None = None) -> None:
    """Send messages of one type to their queue, ten to a ``SendMessageBatch`` (one round trip where
    ``send`` would take ten). ``NotSent`` when SQS refused some of them (sending all again is safe:
    every consumer is idempotent)."""
    if not batch:
        return
    types = {type(message) for message in batch}
    if len(types) != 1:
        raise ValueError("a batch holds one message type")
    from market.settings import get_settings

    setting = QUEUE_SETTINGS[types.pop()]
    queue_url = getattr(get_settings(), setting)
    if not queue_url:
        raise RuntimeError(f"{setting.upper()} is not set")
    if client is None:
        from market import aws

        client = cast(BatchSender, aws.sqs())
    if correlation_id is None:
        from market.observability import logger

        correlation_id = logger.get_correlation_id() or str(uuid.uuid4())
    attributes = {CORRELATION_ATTRIBUTE: {"DataType": "String", "StringValue": str(correlation_id)}}
    for start in range(0, len(batch), SEND_BATCH_LIMIT):
        entries = [
            {"Id": str(index), "MessageBody": encode(message), "MessageAttributes": attributes}
            for index, message in enumerate(batch[start : start + SEND_BATCH_LIMIT])
        ]
        failed = client.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed") or []
        if failed:
            raise NotSent(f"SQS refused {len(failed)} of {len(entries)} messages: {failed[0].get('Code')}")


_RECORD_MODELS: dict[type[Any], type[Any]] = {}


def record_model(message_type: type[Any]) -> type[SqsRecordModel]:
    """The Powertools SQS record model whose ``body`` is ``message_type``, parsed from its JSON."""
    known = _RECORD_MODELS.get(message_type)
    if known is None:
        from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
        from pydantic import Json, create_model

        body: Any = Json[message_type]  # type: ignore[misc,valid-type]  # the body's type is only known at run time
        known = create_model(f"{message_type.__name__}Record", __base__=SqsRecordModel, body=(body, ...))
        _RECORD_MODELS[message_type] = known
    return known


# ---------------------------------------------------------------- S3 notifications (uploads queue)
# The shape S3 gives them (its names); only what the upload check reads.


@dataclass(frozen=True)
class S3Bucket:
    name: str


@dataclass(frozen=True)
class S3Object:
    key: str  # URL-encoded, as S3 sends it


@dataclass(frozen=True)
class S3Entity:
    bucket: S3Bucket
    object: S3Object


@dataclass(frozen=True)
class S3EventRecord:
    eventName: str
    s3: S3Entity


@dataclass(frozen=True)
class ObjectCreatedNotification:
    """An S3 notification; the first one after a notification is configured is ``s3:TestEvent``."""

    Records: tuple[S3EventRecord, ...] = ()
    Event: str | None = None
