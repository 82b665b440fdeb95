"""Wiring: build the libraries' objects from settings, for the web and worker processes."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client

from documents.render import DocumentRenderer
from forms.catalog import Catalog
from forms.municipalities import Municipality, load_municipalities
from identity.devissuer import DevIssuer
from identity.issuers import TrustedIssuer
from identity.verify import TokenVerifier
from madoguchi.datadir import DataDir
from madoguchi.settings import Settings
from notices.dispatch import NoticeSettings, NoticeSetup
from notices.inbox import InboxChannel
from portal.deps import PortalContext
from records.blobs import LocalBlobStore
from records.db import create_schema, make_engine
from records.inbox import InboxStore
from records.register import DocumentRegister
from workflows.activities import CaseActivities
from workflows.cases import CaseService
from workflows.client import connect


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
        self.catalog = Catalog.load(settings.catalog_dir)
        self.municipalities: dict[str, Municipality] = load_municipalities()
        engine = make_engine(settings.read_model_url)
        create_schema(engine)
        self.stores = Stores(InboxStore(engine), DocumentRegister(engine),
                             LocalBlobStore(self.data.blobs))
        self.notices = NoticeSetup.build(NoticeSettings(), engine=engine,
                                         keys_dir=self.data.keys, public_url=settings.public_url)

    def dev_issuer(self) -> DevIssuer:
        if not self.settings.development:
            raise RuntimeError("the development issuer is off outside development mode")
        return DevIssuer.load_or_create(self.data.keys)

    def trusted_issuers(self) -> list[TrustedIssuer]:
        # Production issuers come from configuration (see the identity issue); the
        # development issuer is trusted in development mode only.
        return self.dev_issuer().trusted_issuers() if self.settings.development else []

    async def connect(self) -> Client:
        return await connect(self.settings.temporal_address, self.settings.temporal_namespace,
                             self.data.payload_keys())

    def case_service(self, client: Client) -> CaseService:
        return CaseService(client, catalog=self.catalog, municipalities=self.municipalities,
                           id_secret=self.data.id_secret(), task_queue=self.settings.task_queue)

    def portal_context(self, client: Client) -> PortalContext:
        return PortalContext(cases=self.case_service(client),
                             verifier=TokenVerifier(self.trusted_issuers()),
                             inbox=self.stores.inbox, register=self.stores.register,
                             blobs=self.stores.blobs, notices=self.notices)

    def activities(self) -> CaseActivities:
        return CaseActivities(catalog=self.catalog, municipalities=self.municipalities,
                              renderer=DocumentRenderer(), blobs=self.stores.blobs,
                              register=self.stores.register,
                              inbox=InboxChannel(self.stores.inbox),
                              notices=self.notices.dispatcher(self.stores.inbox))
