"""Verifying a sealed document cryptographically, with pyHanko's validator.

:func:`verify_pdf` answers the question a bank clerk or an insurer asks about a
certificate someone handed them: *was this issued by the municipality, unchanged?* It does
not consult any database: the answer comes from the PDF and the trust roots alone, so it
works offline and years later. Whether the municipality has since revoked or superseded
the document is a separate question for the register (:func:`overall_status` combines the
two for the verify page, the API and ``madoguchi verify``).

The verdict (:class:`Verdict`) in plain words:

=================  ===============================================================
``valid``          sealed, unchanged since, by a certificate chaining to a trusted
                   root, with a valid timestamp
``tampered``       a seal is present but the file was changed after sealing (one
                   flipped byte, an appended update that changes the page), or the
                   seal's cryptography does not hold
``unknown_issuer`` the seal is intact but its certificate (or the timestamp's) does
                   not chain to a trusted root: a seal anyone could have made
``not_sealed``     no seal at all, or not a readable PDF
=================  ===============================================================

A change after the seal is accepted only when it is signature maintenance (validation
data in the DSS, document timestamps): anything else, even one that only edits the
document information (``/Info``) or the XMP metadata a viewer shows as the title, makes
the file ``tampered`` (problem ``metadata_changed_after_seal``). Whether a file is *the*
file that was issued is a question for the register (its SHA-256), not for the seal.

A file that would cost too much to read (a compressed cross-reference or object stream
that inflates to tens of megabytes, millions of declared objects) is refused with
:class:`DocumentUncheckable` rather than answered: no verdict is better than a wrong one
or an exhausted server. :mod:`documents.bounded` adds the process limits around this.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from asn1crypto import x509 as asn1_x509
from pydantic import AwareDatetime, BaseModel, ConfigDict
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.decode_limits import (
    DEFAULT_PURPOSE_LIMITS,
    DecodeLimits,
    DecodePurpose,
    DocumentDecodeBudget,
    StreamDecodeLimits,
)
from pyhanko.pdf_utils.misc import PdfDecodeLimitError, PdfError
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import (
    SignatureCoverageLevel,
    async_validate_pdf_signature,
    async_validate_pdf_timestamp,
)
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext

from documents.seal import SEAL_FIELD_PREFIX, load_pem_certificates

__all__ = [
    "MAX_DECLARED_OBJECTS",
    "MESSAGES",
    "UNCHECKABLE_MESSAGES",
    "DocumentUncheckable",
    "Outcome",
    "OverallStatus",
    "SignerInfo",
    "Verdict",
    "async_verify_pdf",
    "load_trust_roots",
    "overall_status",
    "verify_pdf",
]

log = logging.getLogger("madoguchi.documents")

Outcome = Literal["valid", "tampered", "unknown_issuer", "not_sealed"]
OverallStatus = Literal[
    "valid", "tampered", "unknown_issuer", "not_sealed", "revoked", "superseded"
]

#: What each outcome means, for people. Shown by the page, the API and the CLI.
MESSAGES: dict[str, dict[str, str]] = {
    "valid": {
        "ja": "有効です。発行元の電子公印があり、発行後に改ざんされていません。",
        "en": "Valid. The issuer's e-seal is present and the document has not been changed "
        "since it was issued.",
    },
    "tampered": {
        "ja": "改ざんされています。電子公印の後に文書が変更されているため、信頼できません。",
        "en": "Tampered. The document was changed after it was sealed and cannot be trusted.",
    },
    "unknown_issuer": {
        "ja": "発行元を確認できません。電子公印は信頼できる発行元のものではありません。",
        "en": "Unknown issuer. The e-seal does not come from a trusted issuer.",
    },
    "not_sealed": {
        "ja": "電子公印がありません（または PDF として読み取れません）。",
        "en": "Not sealed. The file carries no e-seal (or is not a readable PDF).",
    },
    "revoked": {
        "ja": "この文書は発行元により取り消されています。",
        "en": "This document has been revoked by its issuer.",
    },
    "superseded": {
        "ja": "この文書は新しい文書に置き換えられています。",
        "en": "This document has been superseded by a newer one.",
    },
}

#: What a refusal to check says, for people (:class:`DocumentUncheckable`).
UNCHECKABLE_MESSAGES: dict[str, dict[str, str]] = {
    "too_complex": {
        "ja": "このファイルは確認できません。大きすぎるか構造が複雑すぎるため、安全に検証できません"
        "でした。発行元から受け取った PDF をそのままお使いください。",
        "en": "This file cannot be checked: it is too large or too complex to verify safely. "
        "Use the PDF exactly as you received it from the issuer.",
    },
    "busy": {
        "ja": "ただいま確認の処理が混み合っています。しばらくしてからもう一度お試しください。",
        "en": "Checking is busy right now. Please try again in a moment.",
    },
}


class DocumentUncheckable(Exception):
    """The file was not checked, because checking it would cost more than allowed.

    Not a verdict on the file: a genuine certificate is never refused (issued PDFs are
    ~60 KB with ~45 objects), a hostile one is refused instead of answered.

    :ivar reason: ``too_complex`` (decode or object-count limit, or the checking process
        ran out of CPU time, memory or wall-clock time) or ``busy`` (every checking
        process is taken and the queue is full).
    :ivar detail: a short code for logs (``decode_limit``, ``object_count``, ``timeout``,
        ``memory``, ``crashed``, ``queue_full``, ...), never shown to users.
    """

    def __init__(self, reason: Literal["too_complex", "busy"], detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail

    @property
    def message(self) -> dict[str, str]:
        return UNCHECKABLE_MESSAGES[self.reason]


_ACCEPTED_LATER_CHANGES = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)

_MiB = 1024 * 1024
#: Decoding limits for untrusted uploads, tighter than pyHanko's defaults. An issued
#: certificate has a cross-reference stream of well under 1 KB and streams of a few MB
#: at most (embedded font subsets); pyHanko's defaults (ratio 1100:1, 256 MiB) let a
#: 38 KB file inflate a 25 MB cross-reference stream that cost 16 s and 974 MB to parse.
DECODE_LIMITS = DecodeLimits(
    per_stream=StreamDecodeLimits(max_ratio=1100, ratio_floor=_MiB, max_output_size=64 * _MiB),
    per_purpose={
        **DEFAULT_PURPOSE_LIMITS,
        DecodePurpose.XREF_STREAM: StreamDecodeLimits(
            max_ratio=None, max_output_size=2 * _MiB
        ),
        DecodePurpose.OBJECT_STREAM: StreamDecodeLimits(
            max_ratio=100, ratio_floor=_MiB, max_output_size=8 * _MiB
        ),
    },
    document_budget=DocumentDecodeBudget(base_allowance=128 * _MiB, max_ratio=20),
)

#: Files declaring more objects than this (``/Size`` of trailers and cross-reference
#: streams, counts in ``/Index``, summed) are refused before parsing: a cross-reference
#: stream with ``/W [0 0 0]`` declares millions of entries in a few bytes. An issued
#: certificate declares ~180 over its four revisions.
MAX_DECLARED_OBJECTS = 200_000

_SIZE = re.compile(rb"/Size\s+(\d{1,20})")
_INDEX = re.compile(rb"/Index\s*\[([\d\s]{0,4096})\]")


def _check_declared_objects(data: bytes, limit: int) -> None:
    # Trailers and cross-reference stream dictionaries are never compressed, so the
    # declared counts are visible in the raw bytes (an integer /Size appears nowhere else;
    # sampled functions use an array). Summed over every section: a chain of /Prev
    # sections, each under the limit, would otherwise add up to millions.
    declared = sum(int(match.group(1)) for match in _SIZE.finditer(data))
    for match in _INDEX.finditer(data):
        declared += sum(int(n) for n in match.group(1).split()[1::2])
    if declared > limit:
        raise DocumentUncheckable("too_complex", "object_count")


class SignerInfo(BaseModel):
    """Who sealed: read from the seal certificate (trusted only if the verdict is valid)."""

    model_config = ConfigDict(frozen=True)

    organization: str | None = None
    common_name: str | None = None
    #: 地方公共団体コード, from an ``organizationIdentifier`` of the form ``LGJP-<code>``.
    municipality_code: str | None = None


class Verdict(BaseModel):
    """The result of checking one PDF's seal. Every field is about the file alone."""

    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    #: The signed bytes hash to the value in the seal, and nothing but allowed
    #: long-term-validation updates (DSS, document timestamps) follows.
    intact: bool = False
    #: The seal's signature is cryptographically valid and the certificate fits its use.
    valid: bool = False
    #: The seal certificate chains to one of the trust roots.
    trusted: bool = False
    #: The RFC 3161 signature timestamp is intact, valid and trusted.
    timestamp_valid: bool = False
    #: Every document timestamp (B-LTA) is intact, valid and trusted; ``None`` if none.
    document_timestamps_valid: bool | None = None
    level: Literal["B-B", "B-T", "B-LTA"] | None = None
    signer: SignerInfo | None = None
    #: The trusted time of the seal (the timestamp's), if any.
    signed_at: AwareDatetime | None = None
    #: The document id the seal names (its field is ``madoguchi-seal-<id>``).
    document_id: str | None = None
    #: Short codes of what failed, for logs and support (e.g. ``modified_after_seal``).
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome == "valid"

    @property
    def message(self) -> dict[str, str]:
        return MESSAGES[self.outcome]


def load_trust_roots(pem: bytes) -> list[asn1_x509.Certificate]:
    """Certificates from PEM (or DER) data, to pass as ``trust_roots``.

    :raises documents.seal.SealError: if the data holds no certificate.
    """
    return load_pem_certificates(pem)


def verify_pdf(
    data: bytes,
    trust_roots: Sequence[asn1_x509.Certificate],
    *,
    max_declared_objects: int | None = MAX_DECLARED_OBJECTS,
) -> Verdict:
    """Check the seal, timestamp and integrity of a PDF.

    Synchronous (runs its own event loop): call it from a worker thread, never from inside
    a running event loop; async code uses :func:`async_verify_pdf`.

    :param data: the PDF bytes, as received.
    :param trust_roots: the roots a seal (and its timestamps) must chain to: the
        municipalities' CA(s) and the TSA's root. Nothing is fetched from the network.
    :param max_declared_objects: refuse files declaring more objects (``None``: no cap).
    :returns: a :class:`Verdict` for any file it could read within its limits.
    :raises DocumentUncheckable: (``too_complex``) when the file exceeds the decoding or
        object-count limits, or runs this process out of memory or recursion depth. The
        limits bound what one file may inflate to, not the CPU time it may take: on a
        public endpoint use :class:`documents.bounded.BoundedVerifier`.
    """
    return asyncio.run(
        async_verify_pdf(data, trust_roots, max_declared_objects=max_declared_objects)
    )


def _context(trust_roots: Sequence[asn1_x509.Certificate]) -> ValidationContext:
    # Offline by design: no OCSP/CRL fetching (a verify page must not be made to call out),
    # and a missing revocation source is not fatal (the development CA publishes none).
    return ValidationContext(
        trust_roots=list(trust_roots), allow_fetching=False, revocation_mode="soft-fail"
    )


def _signer_info(cert: asn1_x509.Certificate) -> SignerInfo:
    subject = cert.subject.native
    org_id = subject.get("organization_identifier")
    code = None
    if isinstance(org_id, str) and org_id.startswith("LGJP-"):
        code = org_id.removeprefix("LGJP-")
    org = subject.get("organization_name")
    cn = subject.get("common_name")
    return SignerInfo(
        organization=org if isinstance(org, str) else None,
        common_name=cn if isinstance(cn, str) else None,
        municipality_code=code,
    )


async def async_verify_pdf(
    data: bytes,
    trust_roots: Sequence[asn1_x509.Certificate],
    *,
    max_declared_objects: int | None = MAX_DECLARED_OBJECTS,
) -> Verdict:
    """:func:`verify_pdf` for async callers (same parameters, result and errors)."""
    try:
        if max_declared_objects is not None:
            _check_declared_objects(data, max_declared_objects)
        return await _verify(data, trust_roots)
    except PdfDecodeLimitError:
        raise DocumentUncheckable("too_complex", "decode_limit") from None
    except RecursionError:
        raise DocumentUncheckable("too_complex", "recursion") from None
    except MemoryError:
        raise DocumentUncheckable("too_complex", "memory") from None


async def _verify(data: bytes, trust_roots: Sequence[asn1_x509.Certificate]) -> Verdict:
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False, decode_limits=DECODE_LIMITS)
        seals = list(reader.embedded_regular_signatures)
        doc_timestamps = list(reader.embedded_timestamp_signatures)
    except _OVER_LIMITS:
        raise
    except (PdfError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        log.info("verify: unreadable PDF (%s)", type(exc).__name__)
        return Verdict(outcome="not_sealed", problems=("unreadable_pdf",))
    if not seals:
        return Verdict(outcome="not_sealed", problems=("no_seal",))

    problems: list[str] = []
    if len(seals) > 1:
        problems.append("several_seals")
    seal = seals[0]
    field = seal.field_name or ""
    document_id = (
        field.removeprefix(SEAL_FIELD_PREFIX) if field.startswith(SEAL_FIELD_PREFIX) else None
    )

    context = _context(trust_roots)
    try:
        status = await async_validate_pdf_signature(
            seal,
            signer_validation_context=context,
            ts_validation_context=_context(trust_roots),
            key_usage_settings=KeyUsageConstraints(key_usage={"non_repudiation"}),
        )
    except _OVER_LIMITS:
        raise
    except Exception as exc:  # a hostile file can break the validator in many ways
        log.info("verify: seal validation failed (%s)", type(exc).__name__)
        return Verdict(
            outcome="tampered", document_id=document_id, problems=(*problems, "seal_unverifiable")
        )

    covered = status.coverage == SignatureCoverageLevel.ENTIRE_FILE or (
        status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and status.modification_level in _ACCEPTED_LATER_CHANGES
    )
    metadata_changed = (
        status.coverage != SignatureCoverageLevel.ENTIRE_FILE
        and _metadata_changed_since(reader, seal.signed_revision)
    )
    intact = bool(status.intact) and covered and not metadata_changed
    if not status.intact:
        problems.append("digest_mismatch")
    if not covered or metadata_changed:
        problems.append("modified_after_seal")
    if metadata_changed:
        problems.append("metadata_changed_after_seal")
    valid = bool(status.valid)
    if not valid:
        problems.append("signature_invalid")
    trusted = bool(status.trusted)
    if not trusted:
        problems.append("seal_not_trusted")

    ts = status.timestamp_validity
    timestamp_valid = ts is not None and bool(ts.intact and ts.valid and ts.trusted)
    timestamp_trusted = ts is not None and bool(ts.trusted)
    if ts is None:
        problems.append("no_timestamp")
    elif not timestamp_valid:
        problems.append("timestamp_invalid")

    dts_valid: bool | None = None
    dts_trusted = True
    if doc_timestamps:
        dts_valid = True
        for dts in doc_timestamps:
            try:
                dts_status = await async_validate_pdf_timestamp(
                    dts, validation_context=_context(trust_roots)
                )
                ok = bool(dts_status.intact and dts_status.valid and dts_status.trusted)
                dts_trusted = dts_trusted and bool(dts_status.trusted)
                if dts_status.intact and dts_status.valid:
                    # A later change not covered by this document timestamp is tampering
                    # unless it is itself signature maintenance.
                    level = dts_status.modification_level
                    if dts_status.coverage != SignatureCoverageLevel.ENTIRE_FILE and (
                        level is not None and level not in _ACCEPTED_LATER_CHANGES
                    ):
                        ok = False
                        intact = False
                        problems.append("modified_after_document_timestamp")
            except _OVER_LIMITS:
                raise
            except Exception as exc:
                log.info("verify: document timestamp failed (%s)", type(exc).__name__)
                ok = False
                dts_trusted = False
            if not ok:
                dts_valid = False
        if not dts_valid:
            problems.append("document_timestamp_invalid")

    if ts is None:
        level = "B-B"
    elif doc_timestamps:
        level = "B-LTA"
    else:
        level = "B-T"

    signed_at: datetime | None = ts.timestamp if ts is not None and timestamp_valid else None

    if not intact or not valid or (ts is not None and not (ts.intact and ts.valid)):
        outcome: Outcome = "tampered"
    elif dts_valid is False and dts_trusted:
        outcome = "tampered"
    elif not trusted or not timestamp_trusted or not dts_trusted:
        outcome = "unknown_issuer"
    elif not timestamp_valid:
        outcome = "tampered"
    else:
        outcome = "valid"
    return Verdict(
        outcome=outcome,
        intact=intact,
        valid=valid,
        trusted=trusted,
        timestamp_valid=timestamp_valid,
        document_timestamps_valid=dts_valid,
        level=level,  # type: ignore[arg-type]
        signer=_signer_info(status.signing_cert),
        signed_at=signed_at,
        document_id=document_id,
        problems=tuple(problems),
    )


_OVER_LIMITS = (PdfDecodeLimitError, DocumentUncheckable, MemoryError, RecursionError)

# pyHanko rewrites the XMP packet in each signature-maintenance revision with the same
# content; only its dates may move.
_XMP_DATES = re.compile(
    rb'xmp:(?:ModifyDate|MetadataDate)(?:="[^"]*"|>[^<]*</xmp:(?:ModifyDate|MetadataDate)>)'
)


def _plain(value: object, resolver: HistoricalResolver, depth: int = 0) -> object:
    """A comparable form of a PDF value as of one revision (indirect references resolved
    in that revision, a few levels deep)."""
    if isinstance(value, generic.IndirectObject) and depth < 4:
        return _plain(resolver(value.reference), resolver, depth + 1)
    if isinstance(value, generic.StreamObject):
        return (_plain(generic.DictionaryObject(value), resolver, depth + 1), value.data)
    if isinstance(value, generic.DictionaryObject):
        return {str(k): _plain(value.raw_get(k), resolver, depth + 1) for k in value}
    if isinstance(value, generic.ArrayObject):
        return [_plain(v, resolver, depth + 1) for v in value]
    if isinstance(value, generic.IndirectObject):
        return repr(value)
    return value


def _metadata(reader: PdfFileReader, revision: int) -> tuple[object, object]:
    """The document information and the XMP packet (without its dates) of a revision."""
    resolver = reader.get_historical_resolver(revision)
    trailer = resolver.trailer_view
    info = _plain(trailer.raw_get("/Info"), resolver) if "/Info" in trailer else None
    root = resolver(trailer.raw_get("/Root").reference)
    xmp_ref = root.raw_get("/Metadata") if "/Metadata" in root else None
    xmp: object = None
    if isinstance(xmp_ref, generic.IndirectObject):
        stream = resolver(xmp_ref.reference)
        if isinstance(stream, generic.StreamObject):
            xmp = _XMP_DATES.sub(b"", stream.data)
    return info, xmp


def _metadata_changed_since(reader: PdfFileReader, revision: int) -> bool:
    """Whether the document information or the XMP metadata differs now from what the
    seal's revision had. pyHanko's modification analysis files such a change under
    "LTA updates" (the level that signature maintenance needs), so it is checked here."""
    try:
        latest = reader.xrefs.total_revisions - 1
        return _metadata(reader, revision) != _metadata(reader, latest)
    except _OVER_LIMITS:
        raise
    except Exception as exc:  # unreadable metadata after the seal is a change too
        log.info("verify: metadata comparison failed (%s)", type(exc).__name__)
        return True


def overall_status(verdict: Verdict | None, register_status: str | None) -> OverallStatus:
    """One word for a file (or a document id) checked against the seal and the register.

    A seal that does not hold wins (the file is not what was issued, whatever the register
    says); otherwise a register that has revoked or superseded the document wins.

    :param verdict: the seal check, or ``None`` when only the register is asked (the
        verify page of a document id, without an upload).
    :param register_status: ``valid`` / ``revoked`` / ``superseded``, or ``None`` if the
        register does not know the document.
    """
    if verdict is not None and verdict.outcome != "valid":
        return verdict.outcome
    if register_status in ("revoked", "superseded"):
        return register_status  # type: ignore[return-value]
    return "valid"
