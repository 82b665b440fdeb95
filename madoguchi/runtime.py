"""Wiring: build the libraries' objects from settings, for the web and worker processes.

Everything is built when the process starts (not on first use), so a wrong setting, an
unreachable blob store or a missing key stops the process at once with one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.client import Client

from adapters.http import CallPolicy
from adapters.wiring import Adapters, build_adapters
from documents.devpki import DevPKI
from documents.fonts import find_japanese_font
from documents.issuer import IssuesDocuments, build_configured_issuer, build_development_issuer
from documents.pool import ProcessPoolIssuer, Recipe
from documents.seal import load_pem_certificates
from documents.timestamps import LocalTimestampAuthority
from forms.catalog import Catalog
from forms.municipalities import Municipality
from identity.config import load_trusted_issuers
from identity.devissuer import DevIssuer
from identity.issuers import TrustedIssuer
from identity.verify import TokenVerifier
from madoguchi.datadir import DataDir
from madoguchi.settings import Settings, SettingsError
from notices.dispatch import NoticeSetup
from notices.inbox import InboxChannel
from portal.deps import PortalContext
from records.attachments import AttachmentStore
from records.blobs import BlobError, BlobStore, LocalBlobStore
from records.counter import CounterStore
from records.db import create_schema, make_engine
from records.drafts import DraftStore
from records.inbox import InboxStore
from records.jti import RecordsReplayStore
from records.register import DocumentRegister
from records.s3blobs import S3BlobStore
from records.sessions import SessionStore
from services.admission import Admission
from services.cases import CaseService
from workflows.activities import CaseActivities
from workflows.codec import KeyRing


@dataclass
class Stores:
    inbox: InboxStore
    register: DocumentRegister
    blobs: BlobStore


class Runtime:
    """The objects one process needs, built from ``settings`` at start."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data = DataDir(settings.data_dir)
        self.data.ensure()
        self.catalog = Catalog.configured(settings.catalog_dir)
        self.municipalities: Mapping[str, Municipality] = self.catalog.municipalities
        self.engine = engine = make_engine(settings.read_model_url)
        create_schema(engine)
        blobs = blob_store_from_settings(settings, local_root=self.data.blobs)
        if isinstance(blobs, S3BlobStore):
            blobs.check()
        self.stores = Stores(InboxStore(engine), DocumentRegister(engine), blobs)
        self.attachments = AttachmentStore(engine)
        self.notices = NoticeSetup.build(settings.notice_settings(), engine=engine,
                                         keys_dir=self.data.keys, public_url=settings.public_url)
        self.adapters = adapters_from_settings(settings)
        # The names the use cases and the activities take them by.
        self.registry = self.adapters.registry
        self.accounts = self.adapters.accounts

    def dev_issuer(self) -> DevIssuer:
        if not self.settings.development:
            raise RuntimeError("the development issuer is off outside development mode")
        return DevIssuer.load_or_create(self.data.keys)

    def trusted_issuers(self) -> list[TrustedIssuer]:
        """Issuers of ``MADOGUCHI_ISSUERS_FILE``, plus the development issuer in development."""
        dev = self.dev_issuer().trusted_issuers() if self.settings.development else []
        configured = self.settings.issuers_file
        return (load_trusted_issuers(configured) if configured else []) + dev

    def case_service(self, client: Client) -> CaseService:
        admission = Admission(self.settings.intake_max_in_flight,
                              wait=self.settings.intake_admission_wait,
                              answer_within=self.settings.intake_answer_within)
        return CaseService(client, catalog=self.catalog, id_secret=self.data.id_secret(),
                           task_queue=self.settings.task_queue, attachments=self.attachments,
                           admission=admission)

    def portal_context(self, client: Client) -> PortalContext:
        roots, tsa = self.seal_verification()
        return PortalContext(cases=self.case_service(client),
                             verifier=TokenVerifier(self.trusted_issuers(),
                                                    replay_store=RecordsReplayStore(self.engine)),
                             inbox=self.stores.inbox, register=self.stores.register,
                             blobs=self.stores.blobs, notices=self.notices,
                             catalog=self.catalog, attachments=self.attachments,
                             drafts=DraftStore(self.engine, KeyRing.load_or_create(
                                 self.data.keys / "draft-keys.json")),
                             trust_roots=roots, tsa=tsa,
                             dev_issuer=self.dev_issuer() if self.settings.development else None,
                             sign_in_url=self.settings.identity_provider_url,
                             sessions=SessionStore(self.engine),
                             registry=self.registry, accounts=self.accounts,
                             counter=CounterStore(self.engine),
                             counter_session_minutes=self.settings.counter_session_minutes)

    def _issuer_recipe(self) -> Recipe:
        """How to build the document issuer (also in a child process of the pool)."""
        if self.settings.development:
            names = {code: m.name.ja for code, m in self.municipalities.items()}
            return build_development_issuer, (self.data.keys / "pki", names,
                                              self.settings.public_url, self.settings.tsa_url)
        if not (self.settings.tsa_url and self.settings.seals_file):
            raise SettingsError("production needs MADOGUCHI_TSA_URL and MADOGUCHI_SEALS_FILE")
        return build_configured_issuer, (self.settings.seals_file, self.settings.tsa_url,
                                         self.settings.trust_roots_file,
                                         self.settings.public_url)

    def seal_verification(self) -> tuple[list[Any], LocalTimestampAuthority | None]:
        """The roots that verify our seals, and (development) the local TSA served at /tsa."""
        if self.settings.development:
            pki = DevPKI.load_or_create(self.data.keys / "pki")
            return (load_pem_certificates(pki.root_cert_path.read_bytes()),
                    LocalTimestampAuthority.from_pki(pki))
        roots_file = self.settings.trust_roots_file
        return (load_pem_certificates(roots_file.read_bytes()) if roots_file else []), None

    def document_issuer(self, *, warm: bool = False) -> IssuesDocuments:
        """In this process, or in ``document_processes`` child processes (all cores).

        :param warm: get ready to issue now (a process that serves the documents queue):
            start every pool child and render a warm-up page in each (or here), so the
            first resident's document does not pay for WeasyPrint's import and the fonts.
        :raises documents.fonts.JapaneseFontMissing: no Japanese font is installed.
        :raises documents.issuer.WarmUpFailed: a pool child could not get ready.
        """
        find_japanese_font()  # fail at start, not in the middle of a case
        recipe = self._issuer_recipe()
        if self.settings.document_processes > 0:
            pool = ProcessPoolIssuer(recipe, self.settings.document_processes,
                                     nice=self.settings.document_nice)
            if warm:
                pool.start()
            return pool
        build, args = recipe
        issuer = build(*args)
        if warm:
            issuer.warm_up()
        return issuer

    def activities(self, *, warm_documents: bool = False) -> CaseActivities:
        """The activities, with the document issuer warm if ``warm_documents``."""
        return CaseActivities(catalog=self.catalog, municipalities=self.municipalities,
                              issuer=self.document_issuer(warm=warm_documents),
                              blobs=self.stores.blobs,
                              register=self.stores.register,
                              inbox=InboxChannel(self.stores.inbox),
                              notices=self.notices.dispatcher(self.stores.inbox),
                              registry=self.registry, accounts=self.accounts)


def adapters_from_settings(settings: Settings) -> Adapters:
    """The resident registry and public-funds adapters the settings configure (or None).

    :raises madoguchi.settings.SettingsError: if a token file cannot be read.
    """
    registry_token, accounts_token = settings.adapter_tokens()
    policy = CallPolicy(connect_timeout=settings.adapter_connect_timeout,
                        read_timeout=settings.adapter_read_timeout,
                        attempts=settings.adapter_attempts, deadline=settings.adapter_deadline)
    return build_adapters(registry_url=settings.registry_url, registry_token=registry_token,
                          public_funds_url=settings.public_funds_url,
                          public_funds_token=accounts_token, policy=policy)


def blob_store_from_settings(settings: Settings, *, local_root: Path) -> BlobStore:
    """The blob store the settings name: ``local`` (files under ``local_root``) or ``s3``.

    :raises madoguchi.settings.SettingsError: if a credentials file cannot be read.
    """
    if settings.blob_store == "local":
        return LocalBlobStore(local_root)
    if not settings.s3_bucket:  # Settings refuses this already; keep the type checker honest
        raise BlobError("MADOGUCHI_BLOB_STORE=s3 needs MADOGUCHI_S3_BUCKET")
    return S3BlobStore.connect(
        settings.s3_bucket,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        credentials=settings.s3_credentials(),
        ca_file=settings.s3_ca_file,
        prefix=settings.s3_prefix,
    )
