"""The document facade: render → seal, with the QR code to the verify page and the
application data attached.

:class:`DocumentIssuer` is what the ``issue_document`` activity calls. It needs a warm
:class:`~documents.render.DocumentRenderer`, a way to find the :class:`~documents.seal.
Sealer` of a municipality, and the public URL of the portal (for the QR code).

:func:`development_issuer` wires everything from a data directory in development mode
(development PKI, in-process TSA); :class:`SealSource` and :func:`configured_sealers`
describe production e-seals (PEM or PKCS#12 per municipality, a TSA URL).

Masking a holder's name for the public verify page (:func:`mask_name`) lives here too:
the issuing activity computes it when it records the document.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from asn1crypto import x509 as asn1_x509
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import to_jsonable_python
from pyhanko.sign.timestamps import TimeStamper

from documents.devpki import DevPKI
from documents.qr import qr_svg, verify_url
from documents.render import DocumentRenderer
from documents.seal import Sealer, SealError, load_pem_certificates
from documents.timestamps import LocalTimestampAuthority, timestamper_for

__all__ = [
    "APPLICATION_JSON",
    "DocumentIssuer",
    "SealSource",
    "SealerCache",
    "UnknownSealer",
    "WarmUpFailed",
    "configured_sealers",
    "development_issuer",
    "mask_name",
]

#: Name of the attached machine-readable application data.
APPLICATION_JSON = "application.json"

#: What replaces the given name on the public verify page, whatever its length.
MASK = "＊＊＊"

#: The throwaway page :meth:`DocumentIssuer.warm_up` renders.
WARM_UP_TEMPLATE = Path(__file__).with_name("warmup") / "warm-up.html"


class WarmUpFailed(RuntimeError):
    """A document process could not get ready to issue (no Japanese font, a broken
    WeasyPrint install, a seals file it cannot read): the worker must not start, since
    its first document would fail the same way. The message says what failed."""


class UnknownSealer(SealError):
    """No e-seal is configured for the municipality. Not retryable: configuration must
    be fixed."""


def mask_name(family: str, given: str | None = None) -> str:
    """A holder's name as the public verify page shows it: ``山田 ＊＊＊``.

    The rule: the family name is kept (it lets the person the document was shown to match
    it against the paper), the given name is replaced by three full-width asterisks
    whatever its length (so its length is not revealed either). With only one string
    (``given`` is None) the first whitespace-separated part is kept. An empty family name
    gives just the mask.
    """
    if given is None:
        parts = family.split()
        family = parts[0] if parts else ""
    family = family.strip()
    return f"{family} {MASK}" if family else MASK


class SealerCache:
    """Sealers built on first use per municipality and kept (the key is loaded once).

    :param build: makes the sealer of one 地方公共団体コード; raise :class:`UnknownSealer`
        for a municipality without an e-seal.
    """

    def __init__(self, build: Callable[[str], Sealer]) -> None:
        self._build = build
        self._sealers: dict[str, Sealer] = {}
        self._lock = threading.Lock()

    def __call__(self, municipality_code: str) -> Sealer:
        sealer = self._sealers.get(municipality_code)
        if sealer is None:
            with self._lock:
                sealer = self._sealers.get(municipality_code)
                if sealer is None:
                    sealer = self._build(municipality_code)
                    self._sealers[municipality_code] = sealer
        return sealer


class DocumentIssuer:
    """Renders and seals issued documents.

    :param renderer: a warm renderer (one per worker process).
    :param sealers: the sealer of each municipality: a mapping by 地方公共団体コード, or
        a callable (e.g. :class:`SealerCache`).
    :param public_url: the portal's public base URL; the QR code and the printed line
        point at ``<public_url>/verify/<document_id>``.
    """

    def __init__(
        self,
        renderer: DocumentRenderer,
        sealers: Callable[[str], Sealer] | Mapping[str, Sealer],
        public_url: str,
    ) -> None:
        self.renderer = renderer
        self._sealers = sealers
        self.public_url = public_url.rstrip("/")

    def sealer(self, municipality_code: str) -> Sealer:
        """The sealer of a municipality.

        :raises UnknownSealer: if none is configured.
        """
        if isinstance(self._sealers, Mapping):
            try:
                return self._sealers[municipality_code]
            except KeyError:
                raise UnknownSealer(
                    f"no e-seal configured for municipality {municipality_code}"
                ) from None
        return self._sealers(municipality_code)

    def issue(
        self,
        template_dir: Path,
        template_name: str,
        context: Mapping[str, Any],
        *,
        document_id: str,
        title: str,
        municipality_code: str,
        attachments: Mapping[str, bytes] | None = None,
    ) -> bytes:
        """Render the document with its QR code, attach its data, and seal it.

        The template gets two more variables: ``verify_url`` and ``qr_svg`` (an inline SVG
        of that URL). Unless ``attachments`` already has one, an ``application.json`` is
        attached, holding the document id, the municipality and the context's ``data``,
        ``computed`` and ``step_data`` (whichever are present).

        :returns: the sealed, tagged PDF/A-3u.
        :raises documents.render.TemplateError: a defect of the template (not retryable).
        :raises UnknownSealer: no e-seal for the municipality (not retryable).
        :raises documents.seal.SealError: sealing or timestamping failed (retryable when
            the TSA was unreachable).
        :raises documents.fonts.JapaneseFontMissing: no Japanese font is installed.
        """
        sealer = self.sealer(municipality_code)  # fail before the (slower) render
        url = verify_url(self.public_url, document_id)
        full_context = {**context, "verify_url": url, "qr_svg": qr_svg(url, title=url)}
        files = dict(attachments or {})
        if APPLICATION_JSON not in files:
            files[APPLICATION_JSON] = application_json(document_id, municipality_code, context)
        pdf = self.renderer.render_pdf(
            template_dir,
            template_name,
            full_context,
            identifier=document_id,
            title=title,
            attachments=files,
        )
        return sealer.seal(pdf, document_id=document_id)

    def warm_up(self) -> float:
        """Render one throwaway page (not sealed, not kept), so that importing WeasyPrint,
        loading the Japanese font and laying out a first page happen now, at the worker's
        start, and not in the first resident's document (about 1.3 CPU s on 2 cores).

        :returns: the seconds it took.
        :raises documents.fonts.JapaneseFontMissing: no Japanese font is installed.
        :raises documents.render.TemplateError: the warm-up page failed to render.
        """
        started = time.perf_counter()
        url = verify_url(self.public_url, "DOC-WARM-UP")
        context = {"issued_at": datetime.now(UTC), "qr_svg": qr_svg(url, title=url)}
        self.renderer.render_pdf(
            WARM_UP_TEMPLATE.parent, WARM_UP_TEMPLATE.name, context, identifier="DOC-WARM-UP",
            title="warm-up",
            attachments={APPLICATION_JSON: application_json("DOC-WARM-UP", "000000", {})})
        return time.perf_counter() - started


def application_json(document_id: str, municipality_code: str, context: Mapping[str, Any]) -> bytes:
    """The attached machine-readable data: UTF-8 JSON, keys sorted (stable for a retry)."""
    payload: dict[str, Any] = {"document_id": document_id, "municipality": municipality_code}
    for key in ("application_id", "issued_at", "data", "computed", "step_data"):
        if key in context:
            payload[key] = context[key]
    return json.dumps(
        to_jsonable_python(payload), ensure_ascii=False, sort_keys=True, indent=2
    ).encode("utf-8")


# -- wiring ------------------------------------------------------------------------------


class SealSource(BaseModel):
    """Where one municipality's e-seal comes from (production configuration).

    Either ``pkcs12`` or ``key`` + ``certificate``. The passphrase is read from a file
    (e.g. a mounted secret), never from the environment or this model's dump.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    pkcs12: Path | None = Field(default=None, description="PKCS#12 file (.p12/.pfx)")
    key: Path | None = Field(default=None, description="Private key, PEM or DER")
    certificate: Path | None = Field(default=None, description="Seal certificate, PEM")
    chain: tuple[Path, ...] = Field(default=(), description="Intermediate certificates, PEM")
    passphrase_file: Path | None = Field(default=None, description="File holding the passphrase")

    @model_validator(mode="after")
    def _one_kind(self) -> SealSource:
        if (self.pkcs12 is None) == (self.key is None or self.certificate is None):
            raise ValueError("give either pkcs12, or key and certificate")
        return self

    def load(self, timestamper: TimeStamper, trust_roots: list[asn1_x509.Certificate]) -> Sealer:
        """Build the sealer.

        :raises SealError: if a file is missing or does not parse.
        """
        passphrase = None
        if self.passphrase_file is not None:
            try:
                passphrase = self.passphrase_file.read_bytes().rstrip(b"\r\n")
            except OSError as exc:
                raise SealError(f"cannot read {self.passphrase_file}: {exc.strerror}") from exc
        if self.pkcs12 is not None:
            return Sealer.from_pkcs12(
                self.pkcs12, passphrase=passphrase, timestamper=timestamper, trust_roots=trust_roots
            )
        assert self.key is not None and self.certificate is not None
        return Sealer.from_pem(
            self.key,
            self.certificate,
            chain_files=self.chain,
            passphrase=passphrase,
            timestamper=timestamper,
            trust_roots=trust_roots,
        )


def load_seal_sources(path: Path) -> dict[str, SealSource]:
    """The seals file: ``{"131016": {"pkcs12": ..., "passphrase_file": ...}, ...}``.

    :raises ValueError: naming the municipality and the problem, never a key's content.
    """
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"seals file {path}: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"seals file {path}: must hold an object of code -> seal source")
    sources = {}
    for code, entry in raw.items():
        try:
            sources[code] = SealSource.model_validate(entry)
        except ValidationError as exc:
            raise ValueError(f"seals file {path}, municipality {code}: {exc}") from None
    return sources


def configured_sealers(
    sources: Mapping[str, SealSource],
    *,
    tsa_url: str,
    trust_roots_pem: bytes | None = None,
) -> SealerCache:
    """Production sealers: one :class:`SealSource` per 地方公共団体コード, a TSA URL.

    :param trust_roots_pem: the roots of the seal and TSA chains; with them seals are
        B-LTA, without them B-T.
    """
    timestamper = timestamper_for(tsa_url)
    roots = load_pem_certificates(trust_roots_pem) if trust_roots_pem else []

    def build(code: str) -> Sealer:
        source = sources.get(code)
        if source is None:
            raise UnknownSealer(f"no e-seal configured for municipality {code}")
        return source.load(timestamper, roots)

    return SealerCache(build)


def development_issuer(
    renderer: DocumentRenderer,
    pki_dir: Path,
    municipality_names: Mapping[str, str],
    public_url: str,
    *,
    tsa_url: str | None = None,
) -> tuple[DocumentIssuer, DevPKI]:
    """The development issuer: the development PKI under ``pki_dir`` (created on first
    use), each known municipality's seal created on first use, timestamps from the
    in-process TSA (or ``tsa_url``, e.g. the portal's own ``/tsa``).

    :param municipality_names: 地方公共団体コード → name (the seal certificate's
        organization); other codes get :class:`UnknownSealer`.
    :returns: the issuer and the PKI (its ``root_cert_path`` is the trust anchor).
    """
    pki = DevPKI.load_or_create(pki_dir)
    timestamper = timestamper_for(tsa_url, LocalTimestampAuthority.from_pki(pki))
    roots = load_pem_certificates(pki.root_cert_path.read_bytes())

    def build(code: str) -> Sealer:
        name = municipality_names.get(code)
        if name is None:
            raise UnknownSealer(f"no e-seal for unknown municipality {code}")
        files = pki.seal_files(code, name)
        return Sealer.from_pem(files.key, files.cert, timestamper=timestamper, trust_roots=roots)

    return DocumentIssuer(renderer, SealerCache(build), public_url), pki


class IssuesDocuments(Protocol):
    """What the issue activity needs: :class:`DocumentIssuer` or a process pool of them."""

    def issue(self, template_dir: Path, template_name: str, context: Mapping[str, Any], *,
              document_id: str, title: str, municipality_code: str,
              attachments: Mapping[str, bytes] | None = None) -> bytes: ...


def build_development_issuer(pki_dir: Path, municipality_names: Mapping[str, str],
                             public_url: str, tsa_url: str | None = None) -> DocumentIssuer:
    """A development issuer with its own warm renderer (a picklable pool recipe)."""
    issuer, _ = development_issuer(DocumentRenderer(), pki_dir, municipality_names, public_url,
                                   tsa_url=tsa_url)
    return issuer


def build_configured_issuer(seals_file: Path, tsa_url: str, trust_roots_file: Path | None,
                            public_url: str) -> DocumentIssuer:
    """A production issuer from the seals file and TSA (a picklable pool recipe)."""
    roots_pem = trust_roots_file.read_bytes() if trust_roots_file else None
    sealers = configured_sealers(load_seal_sources(seals_file), tsa_url=tsa_url,
                                 trust_roots_pem=roots_pem)
    return DocumentIssuer(DocumentRenderer(), sealers, public_url)
