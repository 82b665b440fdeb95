"""Attachments declared by form fields: rules, content sniffing, safe file names.

A field takes files when its schema carries ``x-attachment``::

    "photos": {
      "title": "被害の写真", "x-title-en": "Photos of the damage",
      "type": "array",
      "items": {"$ref": "https://madoguchi.example/schemas/common/attachment.schema.json"},
      "x-attachment": {"types": ["image/jpeg", "image/png"], "max_bytes": 5242880,
                       "max_count": 3}
    }

The form data holds attachment ids (``att-...``), never bytes: files are uploaded first
(``POST /api/attachments``), stored in the blob store, and referenced. A field with
``max_count`` 1 may also be a single id (``"type": "string"``).

The content type is decided by the bytes (:func:`sniff`, the ``filetype`` package), never
by the file name or the type the browser claims.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from referencing import Registry

from forms.schemas import iter_fields

__all__ = [
    "ATTACHMENT_ID",
    "KNOWN_TYPES",
    "AttachmentRule",
    "attachment_fields",
    "rule_problems",
    "safe_filename",
    "sniff",
]

#: What an attachment id looks like (also in forms/common/attachment.schema.json).
ATTACHMENT_ID = re.compile(r"^att-[a-z2-7]{26}$")

#: Types the engine can recognise by content; a rule may only allow these.
KNOWN_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png", "image/heic"})

#: Ceiling for any field's ``max_bytes`` (the upload route also caps its request body).
MAX_BYTES_LIMIT = 50 * 1024 * 1024


class AttachmentRule(BaseModel):
    """``x-attachment`` of a field: what may be attached there."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    types: list[str] = Field(min_length=1, description="Allowed media types")
    max_bytes: int = Field(gt=0, le=MAX_BYTES_LIMIT, description="Per file")
    max_count: int = Field(default=1, ge=1, le=20, description="Files in the field")

    def describe(self) -> dict[str, Any]:
        return self.model_dump()


def rule_problems(rule: object) -> list[tuple[str, str]]:
    """``(pointer inside x-attachment, message)`` for a malformed rule."""
    try:
        parsed = AttachmentRule.model_validate(rule)
    except ValidationError as exc:
        return [("".join(f"/{p}" for p in err["loc"]), err["msg"]) for err in exc.errors()]
    unknown = sorted(set(parsed.types) - KNOWN_TYPES)
    if unknown:
        known = ", ".join(sorted(KNOWN_TYPES))
        return [("/types", f"unknown media type(s) {unknown} (known: {known})")]
    return []


def attachment_fields(
    schema: dict[str, Any], registry: Registry | None = None
) -> Iterator[tuple[str, AttachmentRule]]:
    """``(pointer, rule)`` for every field of ``schema`` that takes attachments.

    Fields whose rule is malformed are skipped (the catalogue check reports them).
    """
    for pointer, chain in iter_fields(schema, registry):
        for node in chain:
            raw = node.get("x-attachment")
            if raw is not None:
                try:
                    rule = AttachmentRule.model_validate(raw)
                except ValidationError:
                    break
                yield pointer, rule
                break


def sniff(head: bytes) -> str | None:
    """The media type of a file from its first bytes (at least 262), or ``None``."""
    import filetype  # small, but only the upload path needs it

    kind = filetype.guess(head)
    if kind is None:
        return None
    return "image/heic" if kind.mime == "image/heif" else kind.mime


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


def safe_filename(name: str | None, media_type: str) -> str:
    """A file name safe to show and to put in ``Content-Disposition``.

    Keeps the last path segment only (``../../etc/passwd`` → ``passwd``), drops control
    and reserved characters, leading dots and spaces, caps the length, and ends with the
    extension of the sniffed type, so a name never claims another type than the bytes.
    """
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]
    text = _UNSAFE.sub("_", text).strip().lstrip(". ")
    stem = text.rsplit(".", 1)[0] if "." in text else text
    stem = stem.strip(" .")[:100] or "file"
    return f"{stem}.{_EXTENSIONS.get(media_type, 'bin')}"


_EXTENSIONS = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/heic": "heic",
}
