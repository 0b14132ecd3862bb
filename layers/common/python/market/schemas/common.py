"""Types every response schema shares."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import PlainSerializer

from market.clock import iso

# A time as the contract writes it: ISO 8601 UTC with milliseconds and ``Z``.
IsoTime = Annotated[datetime, PlainSerializer(iso, return_type=str)]
