"""The local outbox: what the functions sent through SES (moto), read back as parsed emails."""

from __future__ import annotations

import email
import email.policy
import threading
import time
from typing import Any

from localdev.template import ACCOUNT_ID


class Outbox:
    def __init__(self, region: str) -> None:
        self.region = region
        self._first_seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def _messages(self) -> list[Any]:
        from moto.ses.models import ses_backends  # the moto server runs in this process

        return list(ses_backends[ACCOUNT_ID][self.region].sent_messages)

    def items(self, to: str | None = None) -> list[dict[str, Any]]:
        out = []
        for message in self._messages():
            item = self._parse(message)
            with self._lock:
                seen = self._first_seen.setdefault(message.id, time.time())
            item["sent_at"] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seen)) + f".{int(seen * 1000) % 1000:03d}Z"
            if to is None or to.lower() in (address.lower() for address in item["to"]):
                out.append(item)
        out.reverse()  # newest first
        return out

    @staticmethod
    def _parse(message: Any) -> dict[str, Any]:
        if hasattr(message, "raw_data"):
            parsed = email.message_from_string(message.raw_data, policy=email.policy.default)
            text_part = parsed.get_body(preferencelist=("plain",))
            html_part = parsed.get_body(preferencelist=("html",))
            recipients = [str(a) for a in (message.destinations or [])]
            if not recipients:
                recipients = [addr.strip() for addr in str(parsed.get("To", "")).split(",") if addr.strip()]
            return {
                "id": message.id,
                "from": str(parsed.get("From", message.source)),
                "to": recipients,
                "subject": str(parsed.get("Subject", "")),
                "text": text_part.get_content() if text_part is not None else None,
                "html": html_part.get_content() if html_part is not None else None,
            }
        destinations = message.destinations or {}
        recipients = [*destinations.get("ToAddresses", []), *destinations.get("CcAddresses", [])]
        body = message.body or ""
        is_html = body.lstrip().startswith("<")
        return {
            "id": message.id,
            "from": message.source,
            "to": recipients,
            "subject": message.subject,
            "text": None if is_html else body,
            "html": body if is_html else None,
        }
