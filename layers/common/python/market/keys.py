"""Signing keys kept in SSM SecureStrings, rotated by writing a new version of the parameter.

A key set is the parameter's current version (it signs) and the version before it (it still
verifies), so ``aws ssm put-parameter --overwrite`` rotates a key within ``max_age`` seconds and
what the old key signed stays valid until then replaced again. Each container keeps a key set
for at most ``max_age`` seconds (``market.clock``), then reads the parameter again: two
``GetParameter`` calls (the current version, then ``<name>:<version - 1>``).

Locally and in tests a key may come straight from the environment instead (``static``).
"""

from __future__ import annotations

from dataclasses import dataclass

from market import clock
from market.aws import client


@dataclass(frozen=True)
class KeySet:
    current: str
    previous: str | None = None

    @property
    def verifying(self) -> tuple[str, ...]:
        """The keys a signature may have been made with, the current one first."""
        return (self.current,) if not self.previous else (self.current, self.previous)

    def __repr__(self) -> str:  # never show the keys themselves
        return f"KeySet(previous={'set' if self.previous else 'none'})"


class MissingKey(RuntimeError):
    """No key is configured, or its parameter is empty: a deployment error, not a request error."""


_cache: dict[str, tuple[int, KeySet]] = {}


def key_set(parameter: str, max_age_seconds: int) -> KeySet:
    """The current and previous versions of the SecureString ``parameter``, read at most every ``max_age_seconds``."""
    now = clock.epoch_seconds()
    cached = _cache.get(parameter)
    if cached is not None and abs(now - cached[0]) < max_age_seconds:
        return cached[1]
    keys = _read(parameter)
    _cache[parameter] = (now, keys)
    return keys


def _read(parameter: str) -> KeySet:
    from botocore.exceptions import ClientError

    ssm = client("ssm")
    found = ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]
    current, version = str(found.get("Value") or ""), int(found.get("Version") or 1)
    if not current:
        raise MissingKey(f"SSM parameter {parameter} is empty")
    previous: str | None = None
    if version > 1:
        try:
            older = ssm.get_parameter(Name=f"{parameter}:{version - 1}", WithDecryption=True)["Parameter"]
            previous = str(older.get("Value") or "") or None
        except ClientError as error:  # a version past SSM's history of 100 is gone: only the current key
            if error.response.get("Error", {}).get("Code") not in {"ParameterVersionNotFound", "ParameterNotFound"}:
                raise
    return KeySet(current, previous)


def reset() -> None:
    """Forget the cached key sets (tests; ``localdev.caches.reset_caches``)."""
    _cache.clear()
