"""Validation of uploaded records before anything is stored.

The type is sniffed from the bytes (the ``filetype`` package reads magic numbers); the declared
content type and the file name's extension are ignored, because both are whatever the sender
says. The stored name is a random id plus the extension of the sniffed type, so nothing the
patient typed ever reaches a path; their file name is kept only as text to show.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass

import filetype  # type: ignore[import-untyped]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_MAX_PER_CASE = 10
MAX_NAME = 200

#: sniffed MIME type -> the extension of the stored file
ALLOWED_TYPES: dict[str, str] = {
    "application/pdf": "pdf",
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/webp": "webp",
    "image/heic": "heic",
}


class AttachmentRejected(ValueError):
    """An upload refused before anything was written (422, 413 when too large, 409 too many)."""

    status = 422

    def __init__(self, code: str, message: str, status: int = 422):
        self.code, self.message, self.status = code, message, status
        super().__init__(message)


@dataclass(frozen=True)
class AttachmentLimits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_per_case: int = DEFAULT_MAX_PER_CASE


@dataclass(frozen=True)
class ValidUpload:
    id: str
    stored_name: str
    display_name: str
    media_type: str
    size: int
    sha256: str


def display_name(filename: str) -> str:
    """The name to show: refused if it holds a path or a NUL (a sign of an attack, not a typo);
    other control and format characters dropped; at most MAX_NAME characters."""
    if "\x00" in filename:
        raise AttachmentRejected("bad_name", "The file name contains a NUL character.")
    if "/" in filename or "\\" in filename or filename.strip() in {".", ".."}:
        raise AttachmentRejected("bad_name", "Give the file's name without a folder path.")
    name = "".join(c for c in filename if not unicodedata.category(c).startswith("C")).strip()
    if not name:
        raise AttachmentRejected("bad_name", "The file needs a name.")
    return name[:MAX_NAME]


def validate_upload(filename: str, data: bytes, existing: int, limits: AttachmentLimits) -> ValidUpload:
    """Check one upload against the case's ``existing`` attachment count; raises AttachmentRejected."""
    if existing >= limits.max_per_case:
        raise AttachmentRejected("too_many", f"A case holds at most {limits.max_per_case} attachments.", 409)
    if len(data) > limits.max_bytes:
        limit_mb = limits.max_bytes / (1024 * 1024)
        raise AttachmentRejected("too_large", f"The file is larger than {limit_mb:g} MB.", 413)
    if not data:
        raise AttachmentRejected("empty", "The file is empty.")
    name = display_name(filename)
    kind = filetype.guess(data)
    mime: str | None = str(kind.mime) if kind is not None else None
    if mime not in ALLOWED_TYPES:
        raise AttachmentRejected("wrong_type", "Attach PDF documents or images (PNG, JPEG, WebP, HEIC) only.")
    attachment_id = secrets.token_hex(16)
    return ValidUpload(id=attachment_id, stored_name=f"{attachment_id}.{ALLOWED_TYPES[mime]}",
                       display_name=name, media_type=mime, size=len(data),
                       sha256=hashlib.sha256(data).hexdigest())
