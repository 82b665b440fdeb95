"""Issued documents: the holder's download, the municipality's revocation, what anyone may
know of one (the public verify page), and the check of an uploaded file."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel

from documents.bounded import BoundedVerifier, DocumentUncheckable, shared_verifier
from documents.verify import MESSAGES, OverallStatus, Verdict, overall_status
from identity.principals import AnyPrincipal, Caseworker
from records.blobs import BlobNotFound, BlobStore
from records.register import DocumentRegister, IssuedDocument
from services.cases import CaseService
from services.catalogue import CatalogueService
from services.refusals import Refused
from workflows.models import Revocation

log = logging.getLogger("madoguchi.services")

#: Longest revocation reason (it is shown on the public verify page).
MAX_REASON = 1000
#: Largest upload accepted for a check. Issued certificates are ~60 KB.
MAX_CHECK_BYTES = 20 * 1024 * 1024


class PublicStatusChange(BaseModel):
    status: Literal["revoked", "superseded"]
    reason: str
    at: AwareDatetime
    superseded_by: str | None = None


class PublicMunicipality(BaseModel):
    code: str
    name: dict[str, str]


class PublicValue(BaseModel):
    """One value the document certifies, as the register holds it (already masked)."""

    label: dict[str, str]
    value: dict[str, str]


class PublicDocument(BaseModel):
    """What anyone may know about an issued document (no personal data but the masked
    holder name and the masked values the procedure declares public)."""

    id: str
    #: The municipal number printed on it (第 … 号), if the document is numbered.
    number: str | None = None
    document_type: str
    title: dict[str, str]
    #: What it certifies (e.g. the damage grade), for comparing with a paper copy.
    certified: list[PublicValue] = []
    municipality: PublicMunicipality
    issued_at: AwareDatetime
    holder_masked: str | None
    status: Literal["valid", "revoked", "superseded"]
    status_change: PublicStatusChange | None = None
    verify_url: str


class CheckResult(BaseModel):
    """The result of checking an uploaded file."""

    status: OverallStatus
    message: dict[str, str]
    seal: Verdict
    #: The register entry the file belongs to (by its exact bytes, or by the document id
    #: the valid seal names), if any.
    document: PublicDocument | None = None
    #: The file is byte for byte the one the register recorded at issue.
    same_file_as_issued: bool = False


class RevocationOut(BaseModel):
    """A document and its revocation: asked for (waiting for a second caseworker), or
    confirmed (the document's status is then ``revoked``)."""

    document: PublicDocument
    revocation: Revocation


class DocumentFile(BaseModel):
    content: bytes
    media_type: str
    filename: str


def document_not_found() -> Refused:
    return Refused("not_found", "not_found", "書類が見つかりません。", "Document not found.")


def file_too_large() -> Refused:
    mb = MAX_CHECK_BYTES // (1024 * 1024)
    return Refused("too_large", "file_too_large", f"ファイルが大きすぎます（{mb} MB まで）。",
                   f"The file is too large ({mb} MB at most).")


def file_missing() -> Refused:
    return Refused("invalid", "file_missing", "PDF ファイルを選んでください。",
                   "Choose a PDF file to check.")


#: Builds the public verify page's address of a document id.
VerifyLink = Callable[[str], str]


class DocumentService:
    def __init__(self, *, register: DocumentRegister, blobs: BlobStore,
                 cases: CaseService | None, catalogue: CatalogueService | None,
                 trust_roots: Sequence[Any] = (),
                 verifier: BoundedVerifier | None = None) -> None:
        self._register = register
        self._blobs = blobs
        self._cases = cases
        self._catalogue = catalogue
        self._roots = list(trust_roots)
        self._bounded = verifier

    def _verifier(self) -> BoundedVerifier:
        """The given verifier, else the process's shared one (started on first use)."""
        return self._bounded if self._bounded is not None else shared_verifier()

    # ---- the holder and the municipality ---------------------------------------------

    async def download(self, principal: AnyPrincipal, document_id: str) -> DocumentFile:
        """The PDF, for whoever may see its application.

        :raises Refused: ``not_found`` (also for someone else's), ``gone`` once the file was
            deleted at the end of its retention period.
        """
        doc = self._register.get(document_id)
        if doc is None or self._cases is None:
            raise document_not_found()
        # Visible exactly when its application is: the same rule, in one place.
        await self._cases.details(principal, doc.application_id)
        try:
            content = self._blobs.get(doc.blob_key)
        except BlobNotFound:
            raise Refused("gone", "retention_expired",
                          "保存期間が過ぎたため、この書類のファイルは削除されました。"
                          "書類番号で有効性は確認できます。",
                          "This document's file was deleted when its retention period "
                          "ended; its number can still be checked on the verify page.") from None
        return DocumentFile(content=content, media_type=doc.media_type, filename=doc.filename)

    async def revoke(self, caseworker: Caseworker, document_id: str, reason: str,
                     link: VerifyLink) -> RevocationOut:
        """Ask for the revocation of an issued document, with a reason shown on the public
        verify page; it takes effect when a second caseworker confirms
        (:meth:`confirm_revocation`). Both steps are in the case's timeline.

        :raises Refused: ``invalid`` (no reason, too long), ``not_found``, ``forbidden``
            (another municipality's, the procedure's revocation role missing), ``conflict``
            (already revoked or superseded, or already waiting for confirmation).
        """
        reason = reason.strip()
        if not reason:
            raise Refused("invalid", "reason_required", "取消しの理由を入力してください。",
                          "Give the reason for the revocation.")
        if len(reason) > MAX_REASON:
            raise Refused("invalid", "reason_too_long",
                          f"取消しの理由は{MAX_REASON}文字以内で入力してください。",
                          f"Keep the reason within {MAX_REASON} characters.")
        return await self._revocation_step(caseworker, document_id, reason, link, confirm=False)

    async def confirm_revocation(self, caseworker: Caseworker, document_id: str,
                                 link: VerifyLink) -> RevocationOut:
        """Confirm another caseworker's request: the document is revoked in the register.

        :raises Refused: as :meth:`revoke`; ``forbidden`` (``four_eyes``) for the caseworker
            who asked, ``conflict`` where nothing was asked for.
        """
        return await self._revocation_step(caseworker, document_id, None, link, confirm=True)

    async def _revocation_step(self, caseworker: Caseworker, document_id: str,
                               reason: str | None, link: VerifyLink,
                               confirm: bool) -> RevocationOut:
        doc = self._register.get(document_id)
        if doc is None or self._cases is None:
            raise document_not_found()
        if doc.municipality not in caseworker.municipalities:
            raise Refused("forbidden", "other_municipality",
                          "他の自治体が発行した書類は取り消せません。",
                          "Only the issuing municipality can revoke this document.")
        if doc.status != "valid":
            word = {"revoked": ("取り消されています", "revoked"),
                    "superseded": ("差し替えられています", "superseded")}[doc.status]
            raise Refused("conflict", "already_" + doc.status, f"この書類はすでに{word[0]}。",
                          f"This document is already {word[1]}.")
        view = await self._cases.revoke_document(caseworker, doc.application_id, document_id,
                                                 reason, confirm)
        revocation = next(r for r in view.revocations if r.document_id == document_id)
        return RevocationOut(document=self.public(document_id, link), revocation=revocation)

    def status(self, document_id: str) -> str:
        """``valid``, ``revoked`` or ``superseded`` (a document not registered yet: valid)."""
        registered = self._register.get(document_id)
        return registered.status if registered else "valid"

    # ---- anyone -----------------------------------------------------------------------

    def find_public(self, document_id: str, link: VerifyLink) -> PublicDocument | None:
        doc = self._register.get(document_id)
        return self._public(doc, link) if doc is not None else None

    def public(self, document_id: str, link: VerifyLink) -> PublicDocument:
        """What the register says about a document. :raises Refused: ``not_found``."""
        found = self.find_public(document_id, link)
        if found is None:
            raise document_not_found()
        return found

    def _public(self, doc: IssuedDocument, link: VerifyLink) -> PublicDocument:
        name = self._catalogue.municipality_name(doc.municipality) if self._catalogue else None
        change = self._register.status_change(doc.id) if doc.status != "valid" else None
        return PublicDocument(
            id=doc.id, number=doc.number, document_type=doc.document_type, title=doc.title,
            certified=[PublicValue(label=v.label, value=v.value) for v in doc.certified],
            municipality=PublicMunicipality(
                code=doc.municipality,
                name=name or {"ja": doc.municipality, "en": doc.municipality}),
            issued_at=doc.issued_at, holder_masked=doc.holder_masked, status=doc.status,
            status_change=None if change is None else PublicStatusChange(
                status=change.status, reason=change.reason, at=change.at,
                superseded_by=change.superseded_by),
            verify_url=link(doc.id),
        )

    async def check(self, data: bytes, link: VerifyLink) -> CheckResult:
        """Check an uploaded file's seal and timestamp, and its status in the register.

        :raises Refused: ``invalid`` (empty, or ``cannot_check``: too complex to check within
            the limits), ``too_large``, ``unavailable`` where no seal roots are configured
            or every checking process is busy.
        """
        if not data:
            raise file_missing()
        if len(data) > MAX_CHECK_BYTES:
            raise file_too_large()
        if not self._roots:
            raise Refused("unavailable", "verification_unavailable",
                          "この窓口では現在、電子公印を検証できません。",
                          "Seal verification is not configured on this server.")
        try:
            # In a child process with CPU, memory and time limits (the upload may be
            # hostile), waited for in a thread.
            verdict = await asyncio.to_thread(self._verifier().verify, data, self._roots)
        except DocumentUncheckable as exc:
            log.info("verify upload: cannot check (%s)", exc.detail)
            if exc.reason == "busy":
                raise Refused("unavailable", "verify_busy", exc.message["ja"],
                              exc.message["en"]) from None
            raise Refused("invalid", "cannot_check", exc.message["ja"],
                          exc.message["en"]) from None
        doc = self._register.by_sha256(hashlib.sha256(data).hexdigest())
        same_file = doc is not None
        if doc is None and verdict.ok and verdict.document_id:
            # Extended after issue (e.g. a later archival timestamp): found by the id its seal
            # names, which is trustworthy only because the seal is valid.
            doc = self._register.get(verdict.document_id)
        status = overall_status(verdict, doc.status if doc else None)
        # Only the register entry a genuine file belongs to is shown for an upload.
        public = self._public(doc, link) if doc is not None and verdict.ok else None
        log.info("verify upload: outcome=%s status=%s document=%s", verdict.outcome, status,
                 doc.id if doc else None)
        return CheckResult(status=status, message=MESSAGES[status], seal=verdict,
                           document=public, same_file_as_issued=same_file and verdict.ok)
