"""Upload validation: the type is read from the bytes; names, sizes and counts are checked."""

from __future__ import annotations

import pytest

from curbside.consults.attachments import AttachmentLimits, AttachmentRejected, display_name, validate_upload

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489") + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 16
LIMITS = AttachmentLimits(max_bytes=1024, max_per_case=2)


@pytest.mark.parametrize(("data", "mime", "extension"), [
    (PDF, "application/pdf", "pdf"), (PNG, "image/png", "png"), (JPEG, "image/jpeg", "jpg")])
def test_allowed_types_are_sniffed(data: bytes, mime: str, extension: str) -> None:
    upload = validate_upload("scan.bin", data, 0, LIMITS)
    assert upload.media_type == mime
    assert upload.stored_name == f"{upload.id}.{extension}"
    assert len(upload.id) == 32
    assert upload.display_name == "scan.bin"


@pytest.mark.parametrize("data", [b"MZ\x90\x00" + b"\x00" * 60,  # a Windows program
                                  b"<html><script>alert(1)</script></html>",
                                  b"PK\x03\x04" + b"\x00" * 40])  # a zip
def test_a_lying_extension_does_not_make_a_pdf(data: bytes) -> None:
    with pytest.raises(AttachmentRejected) as refused:
        validate_upload("report.pdf", data, 0, LIMITS)
    assert refused.value.code == "wrong_type"


def test_oversize_empty_and_too_many() -> None:
    with pytest.raises(AttachmentRejected) as big:
        validate_upload("big.pdf", PDF + b"\x00" * 1024, 0, LIMITS)
    assert (big.value.code, big.value.status) == ("too_large", 413)
    with pytest.raises(AttachmentRejected) as empty:
        validate_upload("empty.pdf", b"", 0, LIMITS)
    assert empty.value.code == "empty"
    with pytest.raises(AttachmentRejected) as many:
        validate_upload("third.pdf", PDF, 2, LIMITS)
    assert (many.value.code, many.value.status) == ("too_many", 409)


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "..\\boot.ini", "a/b.pdf",
                                  "scan\x00.pdf",
                                  "..", "", "\x07\x08"])
def test_paths_nul_and_empty_names_are_refused(name: str) -> None:
    with pytest.raises(AttachmentRejected) as refused:
        validate_upload(name, PDF, 0, LIMITS)
    assert refused.value.code == "bad_name"


def test_control_characters_are_dropped_from_the_shown_name() -> None:
    assert display_name("scan\r\n\u202eFDP.exe\t.pdf") == "scanFDP.exe.pdf"
    assert len(display_name("a" * 500 + ".pdf")) == 200
