"""All use cases of one installation, assembled from its parts once per process."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from adapters.models import PublicFundsAccounts, ResidentRegistry
from forms.catalog import Catalog
from notices.dispatch import NoticeSetup
from records.attachments import AttachmentStore
from records.blobs import BlobStore
from records.counter import CounterStore
from records.drafts import DraftStore
from records.inbox import InboxStore
from records.register import DocumentRegister
from services.attachments import AttachmentService
from services.campaigns import CampaignService
from services.cases import CaseService
from services.catalogue import CatalogueService
from services.counter import CounterService
from services.documents import DocumentService
from services.drafts import DraftService
from services.life_events import LifeEventService
from services.linking import RegistryLinks
from services.notices import NoticeService
from services.refusals import not_configured

T = TypeVar("T")


class Application:
    """What a page, an API route or a command calls: one object per group of use cases.

    Built with :meth:`assemble`; a process that runs no cases (one that only verifies
    documents) has the document checks only, and the other groups refuse as
    ``unavailable``.
    """

    def __init__(self, cases: CaseService | None, catalogue: CatalogueService | None,
                 documents: DocumentService, drafts: DraftService | None = None,
                 attachments: AttachmentService | None = None,
                 notices: NoticeService | None = None,
                 life_events: LifeEventService | None = None,
                 counter: CounterService | None = None) -> None:
        self._cases, self._catalogue = cases, catalogue
        self.documents = documents
        self._drafts, self._attachments, self._notices = drafts, attachments, notices
        self._life_events = life_events
        self._counter = counter

    @classmethod
    def assemble(
        cls, cases: CaseService | None, *, register: DocumentRegister, blobs: BlobStore,
        inbox: InboxStore, notices: NoticeSetup | None = None, catalog: Catalog | None = None,
        drafts: DraftStore | None = None, attachments: AttachmentStore | None = None,
        trust_roots: Sequence[Any] = (), registry: ResidentRegistry | None = None,
        accounts: PublicFundsAccounts | None = None, counter: CounterStore | None = None,
        counter_session_minutes: int = 30,
    ) -> Application:
        """Wire the use cases of one process from its stores and clients."""
        catalogue = cases.catalogue if cases is not None else (
            CatalogueService(catalog) if catalog is not None else None)
        documents = DocumentService(register=register, blobs=blobs, cases=cases,
                                    catalogue=catalogue, trust_roots=trust_roots)
        if cases is None:
            return cls(None, catalogue, documents)
        cases.links = RegistryLinks(cases.keys, registry)
        life_events = LifeEventService(cases.client, cases, registry=registry,
                                       accounts=accounts, task_queue=cases.task_queue)
        return cls(cases, catalogue, documents, drafts=DraftService(cases, drafts),
                   attachments=AttachmentService(cases, attachments, blobs),
                   notices=NoticeService(cases.keys, inbox, notices),
                   life_events=life_events,
                   counter=CounterService(cases, life_events, counter, registry=registry,
                                          idle_minutes=counter_session_minutes)
                   if counter is not None else None)

    @property
    def cases(self) -> CaseService:
        return _present(self._cases, "cases")

    @property
    def catalogue(self) -> CatalogueService:
        return _present(self._catalogue, "catalogue")

    @property
    def campaigns(self) -> CampaignService:
        return self.cases.campaigns

    @property
    def drafts(self) -> DraftService:
        return _present(self._drafts, "drafts")

    @property
    def attachments(self) -> AttachmentService:
        return _present(self._attachments, "attachments")

    @property
    def notices(self) -> NoticeService:
        return _present(self._notices, "notices")

    @property
    def life_events(self) -> LifeEventService:
        return _present(self._life_events, "life_events")

    @property
    def counter(self) -> CounterService:
        return _present(self._counter, "counter")


def _present(part: T | None, what: str) -> T:
    if part is None:
        raise not_configured(what)
    return part

