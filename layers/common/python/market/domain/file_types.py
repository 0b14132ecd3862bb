"""File types: which contents we accept, and how each is recognised by its first bytes (magic numbers).

A type is accepted only if it is allowed in the settings AND its signature is known here: what
cannot be checked on arrival is not accepted at all.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence


def _starts_with(*prefixes: bytes) -> Callable[[bytes], bool]:
    return lambda head: head.startswith(prefixes)


def _pdf(head: bytes) -> bool:
    # Readers tolerate the header anywhere in the first 1024 bytes (PDF 1.7, implementation note 13), which
    # lets a polyglot pass (a Windows executable with "%PDF-" at offset 60); ISO 32000-2 (7.5.2) puts it first.
    return head.startswith(b"%PDF-")


def _iso_media(head: bytes) -> bool:
    # ISO base media (MP4, M4A, MOV): a box size, then the ``ftyp`` box type at offset 4.
    return head[4:8] == b"ftyp"


def _mp3(head: bytes) -> bool:
    # An ID3v2 tag, or straight into an MPEG audio frame (11 set sync bits).
    return head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0)


def _riff(form: bytes) -> Callable[[bytes], bool]:
    return lambda head: head[:4] == b"RIFF" and head[8:12] == form


def _mobi(head: bytes) -> bool:
    return head[60:68] == b"BOOKMOBI"


SIGNATURES: dict[str, Callable[[bytes], bool]] = {
    "application/pdf": _pdf,
    "application/epub+zip": _starts_with(b"PK\x03\x04"),
    "application/zip": _starts_with(b"PK\x03\x04", b"PK\x05\x06"),
    "application/x-mobipocket-ebook": _mobi,
    "video/mp4": _iso_media,
    "video/quicktime": _iso_media,
    "audio/mp4": _iso_media,
    "audio/x-m4a": _iso_media,
    "audio/mpeg": _mp3,
    "audio/wav": _riff(b"WAVE"),
    "audio/x-wav": _riff(b"WAVE"),
    "audio/ogg": _starts_with(b"OggS"),
    "audio/flac": _starts_with(b"fLaC"),
    "image/png": _starts_with(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": _starts_with(b"\xff\xd8\xff"),
    "image/gif": _starts_with(b"GIF87a", b"GIF89a"),
    "image/webp": _riff(b"WEBP"),
}


# The file name extensions that may go with each type (lower case, without the dot).
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "application/pdf": ("pdf",),
    "application/epub+zip": ("epub",),
    "application/zip": ("zip",),
    "application/x-mobipocket-ebook": ("mobi", "azw"),
    "video/mp4": ("mp4", "m4v"),
    "video/quicktime": ("mov",),
    "audio/mp4": ("m4a", "mp4"),
    "audio/x-m4a": ("m4a",),
    "audio/mpeg": ("mp3",),
    "audio/wav": ("wav",),
    "audio/x-wav": ("wav",),
    "audio/ogg": ("ogg", "oga", "opus"),
    "audio/flac": ("flac",),
    "image/png": ("png",),
    "image/jpeg": ("jpg", "jpeg"),
    "image/gif": ("gif",),
    "image/webp": ("webp",),
}

# Unicode categories never kept in a file name: controls (Cc), format characters (Cf: the bidi overrides
# and isolates such as U+202E, zero-width joiners, the BOM), line and paragraph separators, lone surrogates.
_STRIPPED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
# Characters that would break a Content-Disposition header or a path.
_STRIPPED_CHARACTERS = frozenset('"\\/')


def clean_filename(filename: str) -> str:
    """The base name (no path parts) without control, format (bidi) or separator characters, quotes or
    backslashes, NFC-normalised and trimmed; ``""`` when nothing usable is left."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(
        char
        for char in unicodedata.normalize("NFC", base)
        if unicodedata.category(char) not in _STRIPPED_CATEGORIES and char not in _STRIPPED_CHARACTERS
    ).strip()
    return "" if kept in {".", ".."} else kept[:255]


def extension_matches(filename: str, content_type: str) -> bool:
    """Whether the name ends in an extension of ``content_type`` (``Guide.PDF`` goes with ``application/pdf``)."""
    stem, dot, extension = filename.rpartition(".")
    return bool(dot and stem) and extension.lower() in EXTENSIONS.get(content_type, ())


def matches_signature(content_type: str, head: bytes) -> bool:
    check = SIGNATURES.get(content_type)
    return check is not None and check(head)


def normalize_content_type(value: str) -> str:
    """``"Application/PDF; charset=x"`` -> ``"application/pdf"``."""
    return value.split(";", 1)[0].strip().lower()


def accepted_content_types(allowed: Sequence[str]) -> tuple[str, ...]:
    """The allowed types whose contents can be checked."""
    return tuple(kind for kind in allowed if kind in SIGNATURES)
