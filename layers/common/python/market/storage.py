"""The files bucket (S3): upload tickets, what arrived, and short-lived download URLs.

The one module that speaks S3 for the services: a missing or changed object is told apart from a
failure here (``ObjectMissing``, ``ObjectChanged``), so no service handles botocore's errors.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from market import aws
from market.domain.product import ProductFile
from market.settings import get_settings

_MISSING = {"404", "NoSuchKey", "NotFound"}
_CHANGED = {"412", "PreconditionFailed"}
# RFC 8187 attr-char, besides letters and digits (what may stay unencoded in filename*).
_ATTR_CHARS = "!#$&+-.^_`|~"


class ObjectChanged(Exception):
    """The object is gone or is no longer the version that was checked (another upload replaced it)."""


@dataclass(frozen=True)
class StoredObject:
    size_bytes: int
    content_type: str
    etag: str


@dataclass(frozen=True)
class PresignedPost:
    url: str
    fields: dict[str, str]


def _bucket() -> str:
    return get_settings().bucket_name


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def presigned_post(key: str, content_type: str, max_bytes: int, expires_in: int) -> PresignedPost:
    """A browser's direct upload of one object: the key, type and a size of 1 to ``max_bytes`` are pinned."""
    post = aws.s3().generate_presigned_post(
        Bucket=_bucket(),
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", 1, max_bytes]],
        ExpiresIn=expires_in,
    )
    return PresignedPost(url=post["url"], fields={k: str(v) for k, v in post["fields"].items()})


def head(key: str) -> StoredObject | None:
    """What is stored at ``key`` (``None`` when nothing is)."""
    try:
        answer = aws.s3().head_object(Bucket=_bucket(), Key=key)
    except ClientError as error:
        if _code(error) in _MISSING:
            return None
        raise
    return StoredObject(
        size_bytes=int(answer.get("ContentLength", 0)),
        content_type=str(answer.get("ContentType", "")),
        etag=str(answer.get("ETag", "")).strip('"'),
    )


def read_head(key: str, etag: str, size: int, *, head_bytes: int, hash_up_to: int) -> tuple[bytes, str | None]:
    """The first ``head_bytes`` of exactly this ETag's version, and its sha256 when ``size <= hash_up_to``.

    Raises ``ObjectChanged`` when the object is gone or another version replaced it.
    """
    request: dict[str, Any] = {"Bucket": _bucket(), "Key": key, "IfMatch": f'"{etag}"'}
    hashing = size <= hash_up_to
    if not hashing:
        request["Range"] = f"bytes=0-{head_bytes - 1}"
    try:
        body = aws.s3().get_object(**request)["Body"]
    except ClientError as error:
        if _code(error) in _MISSING | _CHANGED:
            raise ObjectChanged(key) from error
        raise
    digest = hashlib.sha256()
    first = b""
    try:
        for chunk in body.iter_chunks(chunk_size=1024 * 1024):
            if len(first) < head_bytes:
                first += chunk[: head_bytes - len(first)]
            if hashing:
                digest.update(chunk)
    finally:
        body.close()
    return first, digest.hexdigest() if hashing else None


def delete(keys: Sequence[str] | str) -> None:
    for key in [keys] if isinstance(keys, str) else keys:
        aws.s3().delete_object(Bucket=_bucket(), Key=key)


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename`` fallback and the exact name in ``filename*`` (RFC 6266)."""
    folded = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    fallback = "".join(ch if 0x20 <= ord(ch) < 0x7F and ch not in '"\\' else "_" for ch in folded).strip()
    exact = quote(filename, safe=_ATTR_CHARS)
    return f"attachment; filename=\"{fallback or 'download'}\"; filename*=UTF-8''{exact}"


def presigned_download(file: ProductFile) -> str:
    """A short-lived GET of the file, served as an attachment under the creator's file name."""
    settings = get_settings()
    url: str = aws.s3().generate_presigned_url(
        "get_object",
        Params={
            "Bucket": settings.bucket_name,
            "Key": file.key,
            "ResponseContentDisposition": content_disposition(file.name),
            "ResponseContentType": file.content_type,
        },
        ExpiresIn=settings.download_url_ttl_seconds,
    )
    return url
