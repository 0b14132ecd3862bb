"""File signatures (magic numbers) checked on arrival, and the names and types we keep."""

from __future__ import annotations

import pytest

from market.domain.errors import ValidationFailed
from market.domain.file_types import SIGNATURES, matches_signature, normalize_content_type
from market.services.uploads import accepted_content_types, safe_filename

SAMPLES: dict[str, bytes] = {
    "application/pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n",
    "application/epub+zip": b"PK\x03\x04\x14\x00\x00\x00\x00\x00mimetypeapplication/epub+zip",
    "application/zip": b"PK\x03\x04\x14\x00\x08\x00",
    "video/mp4": b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00",
    "audio/mpeg": b"ID3\x04\x00\x00\x00\x00\x00\x00",
    "image/png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "image/jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
}


@pytest.mark.parametrize(("content_type", "head"), sorted(SAMPLES.items()))
def test_each_default_type_accepts_its_own_signature(content_type: str, head: bytes) -> None:
    assert matches_signature(content_type, head)


@pytest.mark.parametrize(("content_type", "head"), sorted(SAMPLES.items()))
def test_each_default_type_refuses_every_other_types_signature(content_type: str, head: bytes) -> None:
    others = {
        other for other, other_head in SAMPLES.items() if other != content_type and matches_signature(other, head)
    }
    # A zip container is legitimately both zip and epub; nothing else may pass as something it is not.
    assert others <= {"application/zip", "application/epub+zip"}


@pytest.mark.parametrize(
    ("content_type", "head"),
    [
        ("application/pdf", b"<html>%PDF-"[:6]),
        ("application/pdf", b"MZ\x90\x00\x03\x00"),
        ("application/zip", b"PK\x01\x02"),
        ("video/mp4", b"\x00\x00\x00\x20free"),
        ("audio/mpeg", b"\xff\xd8\xff\xe0"),  # a JPEG's start is not an MPEG frame sync
        ("audio/mpeg", b"RIFF\x00\x00\x00\x00WAVE"),
        ("image/png", b"\x89PNX\r\n\x1a\n"),
        ("image/jpeg", b"\xff\xd8\x00"),
        ("image/jpeg", b""),
        ("text/plain", b"hello"),  # no known signature: never matches
    ],
)
def test_wrong_or_missing_bytes_do_not_match(content_type: str, head: bytes) -> None:
    assert not matches_signature(content_type, head)


def test_mp3_without_a_tag_is_recognised_by_its_frame_sync() -> None:
    assert matches_signature("audio/mpeg", b"\xff\xfb\x90\x64\x00")


def test_pdf_header_must_come_first_though_readers_allow_leading_junk() -> None:
    assert matches_signature("application/pdf", b"%PDF-1.7\n")
    assert not matches_signature("application/pdf", b"\x00" * 100 + b"%PDF-1.7")
    # A Windows executable with "%PDF-" at offset 60 (a polyglot) is not a PDF.
    assert not matches_signature("application/pdf", b"MZ\x90\x00" + b"\x00" * 56 + b"%PDF-1.7")


def test_every_default_allowed_type_can_be_verified_on_arrival() -> None:
    assert set(accepted_content_types()) == set(SAMPLES)
    assert set(SAMPLES) <= set(SIGNATURES)


@pytest.mark.parametrize(
    ("declared", "normal"),
    [("application/pdf", "application/pdf"), (" Image/PNG ", "image/png"), ("audio/mpeg; q=1", "audio/mpeg")],
)
def test_content_types_are_normalised(declared: str, normal: str) -> None:
    assert normalize_content_type(declared) == normal


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("book.pdf", "book.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ada\\My Book.pdf", "My Book.pdf"),
        ('evil"; filename="x.exe', "evil; filename=x.exe"),
        ("line\r\nbreak.pdf", "linebreak.pdf"),
        ("Ọ̀rọ̀ àti Ìtàn.epub", "Ọ̀rọ̀ àti Ìtàn.epub"),
        ("Guide\u202efdp.exe", "Guidefdp.exe"),  # a right-to-left override would show it as "Guideexe.pdf"
        ("\u2066Book\u2069\u200b.pdf\ufeff", "Book.pdf"),
    ],
)
def test_filenames_keep_only_a_safe_base_name(given: str, kept: str) -> None:
    assert safe_filename(given) == kept


@pytest.mark.parametrize("given", ["", "dir/", "..", "\x00\x07", "   "])
def test_unusable_filenames_are_refused(given: str) -> None:
    with pytest.raises(ValidationFailed):
        safe_filename(given)
