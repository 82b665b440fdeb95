"""Attachments: files a resident uploads for a form field, then references by id.

The field's ``x-attachment`` rule says which types and how many bytes it takes; the caller
reads the upload with :meth:`AttachmentService.rule`'s ``max_bytes`` as its limit (so a
large file is refused before it is all received) and hands the bytes to
:meth:`AttachmentService.store`. The type is decided by the bytes, never by the name or a
claimed content type; the name is sanitized; the bytes go to the blob store under
``attachments/<id>``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from datetime import UTC, datetime

from forms.attachments import AttachmentRule, attachment_fields, safe_filename, sniff
from identity.principals import AnyPrincipal, Resident
from records.attachments import Attachment, AttachmentStore
from records.blobs import BlobStore
from services.cases import CaseService
from services.refusals import Refused, not_configured
from workflows.models import ApplicationView

_ATTACHMENT_ID = re.compile(r"^att-[a-z2-7]{26}$")


def _not_found() -> Refused:
    return Refused("not_found", "not_found", "ファイルが見つかりません。", "Attachment not found.")


def too_large(rule: AttachmentRule) -> Refused:
    mb = f"{rule.max_bytes / (1024 * 1024):g} MB"
    return Refused("too_large", "attachment_too_large",
                   f"ファイルが大きすぎます。{mb}までのファイルを添付してください。",
                   f"The file is too large; attach files of at most {mb}.",
                   details={"max_bytes": rule.max_bytes})


def _resident(principal: AnyPrincipal) -> Resident:
    if not isinstance(principal, Resident):
        raise Refused("forbidden", "resident_only", "ファイルの添付は住民の方のみ行えます。",
                      "Only residents can upload attachments.")
    return principal


class AttachmentService:
    def __init__(self, cases: CaseService, store: AttachmentStore | None,
                 blobs: BlobStore) -> None:
        self._cases = cases
        self._store = store
        self._blobs = blobs

    @property
    def lookup(self) -> AttachmentStore | None:
        """What forms read attachments through (``forms.validation.AttachmentLookup``)."""
        return self._store

    @property
    def _records(self) -> AttachmentStore:
        if self._store is None:
            raise not_configured("attachments")
        return self._store

    def rule(self, principal: AnyPrincipal, procedure_id: str, field: str,
             municipality: str | None = None) -> AttachmentRule:
        """The rule of ``field`` (a JSON pointer into the form) of the procedure.

        :raises Refused: ``forbidden`` for anyone but a resident, ``not_found`` for the
            procedure, ``invalid`` for a field that takes no files.
        """
        _resident(principal)
        procedure = self._cases.catalogue.procedure(procedure_id, None, municipality)
        rules = dict(attachment_fields(procedure.form_schema))
        found = rules.get(field)
        if found is None:
            raise Refused("invalid", "not_an_attachment_field",
                          "この項目にはファイルを添付できません。",
                          f"The field {field} does not take attachments.",
                          details={"fields": sorted(rules)})
        return found

    def store(self, principal: AnyPrincipal, procedure_id: str, field: str, rule: AttachmentRule,
              filename: str | None, data: bytes) -> Attachment:
        """Keep one uploaded file for ``field``.

        :raises Refused: ``too_large`` past ``rule.max_bytes``, ``unsupported`` for a type
            the field does not take (by the bytes).
        """
        owner = self._cases.applicant_key(_resident(principal))
        records = self._records
        if len(data) > rule.max_bytes:
            raise too_large(rule)
        media_type = sniff(data[:512])
        if media_type is None or media_type not in rule.types:
            names = ", ".join(t.split("/")[-1].upper() for t in rule.types)
            raise Refused("unsupported", "attachment_type",
                          f"この項目に添付できるのは {names} のファイルです。",
                          f"This field accepts {names} files only.",
                          details={"accepted": rule.types, "detected": media_type})
        attachment_id = "att-" + base64.b32encode(secrets.token_bytes(16)).decode().lower()[:26]
        blob_key = f"attachments/{attachment_id}"
        self._blobs.put(blob_key, data)
        record = Attachment(
            id=attachment_id, owner=owner,
            procedure=procedure_id, field=field, media_type=media_type, size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            filename=safe_filename(filename, media_type), blob_key=blob_key,
            created_at=datetime.now(UTC),
        )
        records.add(record)
        return record

    def download(self, principal: AnyPrincipal, attachment_id: str) -> tuple[Attachment, bytes]:
        """The file, for the resident who uploaded it (anyone else: ``not_found``)."""
        found = self._records.get(attachment_id)
        owner = self._cases.applicant_key(principal) if isinstance(principal, Resident) \
            else None
        if found is None or found.owner != owner:
            raise _not_found()
        return found, self._blobs.get(found.blob_key)

    def of_case(self, view: ApplicationView, attachment_id: str) -> tuple[Attachment, bytes]:
        """A file attached to a case the caller may see (check that first): only one the
        case's own answers reference, uploaded by its applicant."""
        found = (self._store.get(attachment_id)
                 if self._store is not None and _ATTACHMENT_ID.match(attachment_id) else None)
        if (found is None or found.owner != view.applicant_key
                or attachment_id not in json.dumps(view.data)):
            raise _not_found()
        return found, self._blobs.get(found.blob_key)
