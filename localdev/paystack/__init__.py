"""Paystack emulator (placeholder until the checkout issue fills it in): answers /health only."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response


class PaystackEmulator:
    def __init__(self, *, secret_key: str, webhook_url: str, public_url: str) -> None:
        self.secret_key = secret_key
        self.webhook_url = webhook_url
        self.public_url = public_url

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        if request.path == "/health":
            response = Response(json.dumps({"status": "ok"}), content_type="application/json")
        else:
            body = json.dumps({"status": False, "message": "Not found"})
            response = Response(body, 404, content_type="application/json")
        return response(environ, start_response)

    def close(self) -> None:
        """Stop background work (webhook retries)."""
