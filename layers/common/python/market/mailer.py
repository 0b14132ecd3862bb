"""Sending email (SES): the one module that speaks to SES for the services."""

from __future__ import annotations

from email.message import EmailMessage

from botocore.exceptions import ClientError

from market import aws
from market.domain.errors import TransientError


class MailRefused(TransientError):
    """SES did not take the message (throttled, or the sender is not verified): retried, then the DLQ."""


def send(message: EmailMessage, *, sender: str) -> None:
    """Send a built MIME message as it is (raw), from ``sender``."""
    try:
        aws.ses().send_email(FromEmailAddress=sender, Content={"Raw": {"Data": message.as_bytes()}})
    except ClientError as error:
        raise MailRefused(f"SES refused the message: {error.response.get('Error', {}).get('Code')}") from error
