"""Wiring: build the libraries' objects from settings, for the web and worker processes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client

from documents.devpki import DevPKI
from documents.fonts import find_japanese_font
from documents.issuer import IssuesDocuments, build_configured_issuer, build_development_issuer
from documents.pool import ProcessPoolIssuer, Recipe
from documents.seal import load_pem_certificates
from documents.timestamps import LocalTimestampAuthority
from forms.catalog import Catalog
from forms.municipalities import Municipality
from identity.config import issuers_from_env
from identity.devissuer import DevIssuer
from identity.issuers import TrustedIssuer
from identity.verify import TokenVerifier
from madoguchi.datadir import DataDir
from madoguchi.settings import Settings, SettingsError
from notices.dispatch import NoticeSettings, NoticeSetup
from notices.inbox import InboxChannel
from portal.deps import PortalContext
from records.attachments import AttachmentStore
from records.blobs import LocalBlobStore
from records.db import create_schema, make_engine
from records.drafts import DraftStore
from records.inbox import InboxStore
from records.jti import RecordsReplayStore
from records.register import DocumentRegister
from workflows.activities import CaseActivities
from workflows.cases import CaseService
from workflows.client import connect
from workflows.codec import KeyRing


@dataclass
class Stores:
    inbox: InboxStore
    register: DocumentRegister
    blobs: LocalBlobStore


class Runtime:
    """The objects one process needs, built lazily from ``settings``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.data = DataDir(settings.data_dir)
        self.data.ensure()
        self.catalog = Catalog.configured(settings.catalog_dir)
        self.municipalities: Mapping[str, Municipality] = self.catalog.municipalities
        self.engine = engine = make_engine(settings.read_model_url)
        create_schema(engine)
        self.stores = Stores(InboxStore(engine), DocumentRegister(engine),
                             LocalBlobStore(self.data.blobs))
        self.attachments = AttachmentStore(engine)
        self.notices = NoticeSetup.build(NoticeSettings(), engine=engine,
                                         keys_dir=self.data.keys, public_url=settings.public_url)

    def dev_issuer(self) -> DevIssuer:
        if not self.settings.development:
            raise RuntimeError("the development issuer is off outside development mode")
        return DevIssuer.load_or_create(self.data.keys)

    def trusted_issuers(self) -> list[TrustedIssuer]:
        """Issuers from MADOGUCHI_ISSUERS_FILE, plus the development issuer in development."""
        dev = self.dev_issuer().trusted_issuers() if self.settings.development else []
        return issuers_from_env() + dev

    async def connect(self) -> Client:
        return await connect(self.settings.temporal_address, self.settings.temporal_namespace,
                             self.data.payload_keys(),
                             compress=self.settings.payload_compression)

    def case_service(self, client: Client) -> CaseService:
        return CaseService(client, catalog=self.catalog, municipalities=self.municipalities,
                           id_secret=self.data.id_secret(), task_queue=self.settings.task_queue,
                           attachments=self.attachments)

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
                             dev_issuer=self.dev_issuer() if self.settings.development else None)

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

    def document_issuer(self) -> IssuesDocuments:
        """In this process, or in ``document_processes`` child processes (all cores)."""
        find_japanese_font()  # fail at start, not in the middle of a case
        recipe = self._issuer_recipe()
        if self.settings.document_processes > 0:
            return ProcessPoolIssuer(recipe, self.settings.document_processes)
        build, args = recipe
        return build(*args)

    def activities(self) -> CaseActivities:
        return CaseActivities(catalog=self.catalog, municipalities=self.municipalities,
                              issuer=self.document_issuer(), blobs=self.stores.blobs,
                              register=self.stores.register,
                              inbox=InboxChannel(self.stores.inbox),
                              notices=self.notices.dispatcher(self.stores.inbox))
