"""Direct uploads to S3: presigned POST tickets, and the check of every object that arrives.

A ticket is an S3 presigned POST whose policy pins the generated key (``products/<product
id>/<random>``, never the client's file name), the declared content type and a
``content-length-range`` of 1 to the declared size, and expires after
``settings.upload_url_ttl_seconds``. The declaration (file name, type, size) is recorded as an
upload item before the ticket is handed out.

S3 enforces the policy, but the emulator does not and a client may lie, so the S3 event
consumer checks what really arrived (``check_uploaded_object``): the size against the
declaration, the stored content type against the allowed list and the declaration, and the
first bytes against the declared type's signature. A valid object is attached to its product
(name, type, size, ETag, and sha256 when the object is at most ``SHA256_MAX_BYTES``); the file
it replaces is deleted only once the new one is attached. An invalid object is recorded on the
product as ``file_error`` (its creator sees why) and then deleted.

Attaching is keyed on the object's ETag, so a redelivered event changes nothing; and a ticket
reused to overwrite an attached object with something else is checked again (and detached,
returning a published product to draft, if it fails: a published product always has a
verified file).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from enum import StrEnum

from market import clock, storage
from market.domain import file_types
from market.domain.errors import FieldError, PayloadTooLarge, TransientError, UnsupportedMediaType, ValidationFailed
from market.domain.file_types import matches_signature, normalize_content_type
from market.domain.product import FileError, Product, ProductFile, Upload
from market.observability import logger
from market.repositories import products
from market.repositories.products import VersionConflict
from market.services.catalog import owned_product
from market.settings import get_settings

UPLOAD_PREFIX = "products/"
# Objects up to this size are hashed (read once, streamed); larger ones only have their first bytes read.
SHA256_MAX_BYTES = 50 * 1024 * 1024
# How many leading bytes are read to check a file's signature.
SNIFF_BYTES = 1024
# Upload items outlive their ticket by this long, for late or redelivered S3 events.
UPLOAD_RECORD_GRACE_SECONDS = 7 * 24 * 3600
_SAVE_ATTEMPTS = 3


def accepted_content_types() -> tuple[str, ...]:
    return file_types.accepted_content_types(get_settings().allowed_content_types)


def safe_filename(filename: str) -> str:
    """The base name without path parts, control or bidi characters, quotes or backslashes (it goes into
    ``Content-Disposition`` at download and into emails); 422 when nothing usable is left."""
    cleaned = file_types.clean_filename(filename)
    if not cleaned:
        raise ValidationFailed([FieldError("filename", "must be a file name")])
    return cleaned


# ---------------------------------------------------------------- tickets


@dataclass(frozen=True)
class UploadTicket:
    url: str
    fields: dict[str, str]
    key: str
    expires_in: int


def issue_upload_ticket(
    creator_id: str, product_id: str, *, filename: str, content_type: str, size_bytes: int
) -> UploadTicket:
    """A presigned POST for one new file of the creator's product (415, 413, 409 archived)."""
    product = owned_product(product_id, creator_id)
    product.check_takes_file()
    settings = get_settings()
    kind = normalize_content_type(content_type)
    if kind not in accepted_content_types():
        raise UnsupportedMediaType(f"Files of type {kind or '(none)'} are not accepted.")
    if size_bytes > settings.max_upload_bytes:
        raise PayloadTooLarge(f"Files may be at most {settings.max_upload_bytes} bytes.")
    name = safe_filename(filename)
    if not file_types.extension_matches(name, kind):
        extensions = ", ".join(f".{extension}" for extension in file_types.EXTENSIONS.get(kind, ()))
        raise ValidationFailed([FieldError("filename", f"must end in {extensions} for {kind}")])
    key = f"{UPLOAD_PREFIX}{product.id}/{secrets.token_hex(16)}"
    ttl = settings.upload_url_ttl_seconds
    products.put_upload(
        Upload(
            key=key,
            product_id=product.id,
            creator_id=creator_id,
            filename=name,
            content_type=kind,
            size_bytes=size_bytes,
            issued_at_ms=int(clock.now().timestamp() * 1000),
            status="pending",
            etag=None,
            reason=None,
            replaced_key=None,
            expires_at=clock.epoch_seconds() + ttl + UPLOAD_RECORD_GRACE_SECONDS,
        )
    )
    post = storage.presigned_post(key, kind, size_bytes, ttl)
    logger.info("upload ticket issued", product_id=product.id, key=key, content_type=kind, size_bytes=size_bytes)
    return UploadTicket(url=post.url, fields=post.fields, key=key, expires_in=ttl)


# ---------------------------------------------------------------- arrival


class Outcome(StrEnum):
    ATTACHED = "attached"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # an older upload arrived after a newer one was attached
    DUPLICATE = "duplicate"  # this very object was already attached
    GONE = "gone"  # the object is no longer there (already rejected, or replaced since)
    ORPHAN = "orphan"  # no ticket was issued for this key: deleted
    IGNORED = "ignored"  # not an upload of ours


@dataclass(frozen=True)
class _Verified:
    size_bytes: int
    content_type: str
    sha256: str | None
    etag: str


@dataclass(frozen=True)
class _Refused:
    code: str
    message: str
    etag: str


def check_uploaded_object(bucket: str, key: str) -> Outcome:
    """Check one created object and attach it to its product, or refuse it. Safe to repeat."""
    settings = get_settings()
    if bucket != settings.bucket_name or not key.startswith(UPLOAD_PREFIX):
        logger.warning("object event ignored", bucket=bucket, key=key)
        return Outcome.IGNORED
    upload = products.get_upload(key)
    if upload is None:
        return _orphan(key)
    stored = storage.head(key)
    if stored is None:
        return Outcome.GONE
    if upload.status == "attached" and upload.etag == stored.etag:
        # A redelivered event: finish a replacement that may have stopped before its delete.
        if upload.replaced_key and upload.replaced_key != key:
            storage.delete(upload.replaced_key)
        return Outcome.DUPLICATE
    try:
        verdict = _inspect(upload, stored)
    except storage.ObjectChanged:  # replaced or deleted while being read; its own event will follow
        return Outcome.GONE
    for _ in range(_SAVE_ATTEMPTS):
        try:
            if isinstance(verdict, _Verified):
                return _attach(upload, verdict)
            return _refuse(upload, verdict)
        except VersionConflict:
            continue
    raise TransientError("The product kept changing while an upload was being attached.")


def _orphan(key: str) -> Outcome:
    parts = key.split("/")
    product = products.get_product(parts[1]) if len(parts) >= 3 and parts[1] else None
    if product is not None and product.file is not None and product.file.key == key:
        return Outcome.DUPLICATE
    logger.warning("object without an upload ticket deleted", key=key)
    storage.delete(key)
    return Outcome.ORPHAN


def _inspect(upload: Upload, stored: storage.StoredObject) -> _Verified | _Refused:
    size, etag = stored.size_bytes, stored.etag
    stored_type = normalize_content_type(stored.content_type)
    if size < 1:
        return _Refused("empty", "The uploaded file is empty.", etag)
    if size > upload.size_bytes:
        return _Refused(
            "too_large", f"The uploaded file has {size} bytes, more than the {upload.size_bytes} declared.", etag
        )
    if stored_type not in accepted_content_types():
        return _Refused("type_not_allowed", f"Files of type {stored_type or '(none)'} are not accepted.", etag)
    if stored_type != upload.content_type:
        return _Refused(
            "type_mismatch", f"The file was stored as {stored_type}, but {upload.content_type} was declared.", etag
        )
    first_bytes, sha256 = storage.read_head(upload.key, etag, size, head_bytes=SNIFF_BYTES, hash_up_to=SHA256_MAX_BYTES)
    if not matches_signature(upload.content_type, first_bytes):
        return _Refused("content_mismatch", f"The file's content is not {upload.content_type}.", etag)
    return _Verified(size_bytes=size, content_type=stored_type, sha256=sha256, etag=etag)


def _attach(upload: Upload, verified: _Verified) -> Outcome:
    product = products.get(upload.product_id, consistent=True)
    if product is None or product.status == "archived":
        reason = "The product no longer exists." if product is None else "The product is archived."
        return _refuse(upload, _Refused("product_unavailable", reason, verified.etag), product=product)
    current = product.file
    if current is not None and current.key != upload.key and current.issued_at_ms > upload.issued_at_ms:
        # A newer upload is already attached: this older one loses.
        products.save_upload(replace(upload, status="rejected", reason="superseded", etag=verified.etag))
        storage.delete(upload.key)
        logger.info("upload superseded", product_id=product.id, key=upload.key)
        return Outcome.SUPERSEDED
    replaced_key = current.key if current is not None and current.key != upload.key else None
    attached = replace(
        product,
        file=ProductFile(
            key=upload.key,
            name=upload.filename,
            content_type=verified.content_type,
            size_bytes=verified.size_bytes,
            sha256=verified.sha256,
            etag=verified.etag,
            issued_at_ms=upload.issued_at_ms,
            attached_at=clock.now(),
        ),
        file_error=None,
        updated_at=clock.now(),
    )
    products.save_with_upload(
        attached,
        replace(upload, status="attached", etag=verified.etag, reason=None, replaced_key=replaced_key),
    )
    if replaced_key is not None:
        storage.delete(replaced_key)
    logger.info("upload attached", product_id=product.id, key=upload.key, size_bytes=verified.size_bytes)
    return Outcome.ATTACHED


def _refuse(upload: Upload, refused: _Refused, *, product: Product | None = None) -> Outcome:
    """Record why on the product (when this is its latest upload) and the ticket, then delete the object."""
    if product is None:
        product = products.get(upload.product_id, consistent=True)
    updated: Product | None = None
    if product is not None and product.status != "archived":
        error = FileError(code=refused.code, message=refused.message, filename=upload.filename, at=clock.now())
        current = product.file
        if current is not None and current.key == upload.key:
            # The attached object itself was overwritten (ticket reused) with something invalid.
            status = "draft" if product.status == "published" else product.status
            updated = replace(product, file=None, file_error=error, status=status, updated_at=clock.now())
        elif current is None or current.issued_at_ms <= upload.issued_at_ms:
            updated = replace(product, file_error=error, updated_at=clock.now())
    products.save_with_upload(updated, replace(upload, status="rejected", reason=refused.code, etag=refused.etag))
    storage.delete(upload.key)
    logger.info("upload rejected", product_id=upload.product_id, key=upload.key, reason=refused.code)
    return Outcome.REJECTED
