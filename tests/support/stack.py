"""A whole installation for one test (Stack), wired like `madoguchi up`, and waiting helpers."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client

from documents.issuer import DocumentIssuer
from documents.timestamps import LocalTimestampAuthority
from forms.catalog import Catalog
from forms.municipalities import load_municipalities
from identity.devissuer import DevIssuer
from identity.verify import TokenVerifier
from notices.dispatch import NoticeSettings, NoticeSetup
from notices.inbox import InboxChannel
from portal.app import create_app
from portal.deps import PortalContext
from records.attachments import AttachmentStore
from records.blobs import LocalBlobStore
from records.db import create_schema, make_engine
from records.drafts import DraftStore
from records.inbox import InboxStore
from records.register import DocumentRegister
from records.sessions import SessionStore
from services.cases import CaseService
from workflows.activities import CaseActivities
from workflows.codec import KeyRing
from workflows.worker import build_workers

REPO = Path(__file__).resolve().parents[2]


BIN = Path(sys.executable).parent


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


async def eventually(check, *, timeout: float = 20.0, interval: float = 0.2):
    """Poll until ``await check()`` returns something truthy (visibility, activities and
    background notices lag); that value, or an AssertionError after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not met within {timeout} s: {result!r}")
        await asyncio.sleep(interval)


def documents_of(view: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """The documents of one type in an application as the API shows it: a 罹災証明書 case
    also holds its 申請控え (``application-copy``), issued as soon as it is filed."""
    return [d for d in view["documents"] if d["type"] == kind]


def binary(name: str) -> str:
    found = BIN / name
    if found.exists():
        return str(found)
    on_path = shutil.which(name)
    if on_path is None:
        pytest.fail(f"{name} is missing: install the project with its test extra")
    return on_path


@dataclass
class SealedDocuments:
    """The development document issuer (PKI, seals, local TSA), made once per session."""

    issuer: DocumentIssuer
    trust_roots: list[Any]
    tsa: LocalTimestampAuthority


@dataclass
class Stack:
    """One madoguchi installation for one test: its own data, task queue and worker."""

    client: Client
    http: httpx.AsyncClient
    issuer: DevIssuer
    cases: CaseService
    inbox: InboxStore
    register: DocumentRegister
    blobs: LocalBlobStore
    task_queue: str
    started: list[str] = field(default_factory=list)  # cases to terminate after the test

    def resident(self, sub: str = "demo-1", name: str = "山田 太郎") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.issue_resident(sub, name)}"}

    def caseworker(self, sub: str, roles: str = "reviewer,surveyor,approver",
                   municipality: str = "131016") -> dict[str, str]:
        token = self.issuer.issue_caseworker(sub, [municipality], roles.split(","))
        return {"Authorization": f"Bearer {token}"}


async def start_stack(client: Client, data_dir: Path, catalog: Catalog,
                      documents: SealedDocuments, *, task_queue: str | None = None,
                      id_secret: bytes | None = None,
                      notice_settings: NoticeSettings | None = None,
                      ) -> tuple[Stack, CaseActivities]:
    """Wire a Stack like `madoguchi up` does, with the test's client and a data dir
    (``notice_settings``: e.g. a municipality's webhook; default: inbox only)."""
    task_queue = task_queue or f"tq-{uuid.uuid4().hex[:12]}"
    engine = make_engine(f"sqlite:///{data_dir / 'madoguchi.db'}")
    create_schema(engine)
    inbox, register = InboxStore(engine), DocumentRegister(engine)
    blobs = LocalBlobStore(data_dir / "blobs")
    issuer = DevIssuer.load_or_create(data_dir / "keys")
    municipalities = load_municipalities()
    attachments = AttachmentStore(engine)
    cases = CaseService(client, catalog=catalog, municipalities=municipalities,
                        id_secret=id_secret or os.urandom(32), task_queue=task_queue,
                        attachments=attachments)
    notices = NoticeSetup.build(notice_settings or NoticeSettings(), engine=engine,
                                keys_dir=data_dir / "keys",
                                public_url="http://portal")
    context = PortalContext(cases=cases, verifier=TokenVerifier(issuer.trusted_issuers()),
                            inbox=inbox, register=register, blobs=blobs, notices=notices,
                            catalog=catalog, attachments=attachments,
                            drafts=DraftStore(engine, KeyRing.generate("draft-test")),
                            trust_roots=documents.trust_roots, tsa=documents.tsa,
                            dev_issuer=issuer, sessions=SessionStore(engine))
    app = create_app(lambda: None)  # type: ignore[arg-type,return-value]
    app.state.portal = context  # ASGITransport runs no lifespan: set the context here
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal")
    activities = CaseActivities(catalog=catalog, municipalities=municipalities,
                                issuer=documents.issuer, blobs=blobs, register=register,
                                inbox=InboxChannel(inbox), notices=notices.dispatcher(inbox))
    stack = Stack(client, http, issuer, cases, inbox, register, blobs, task_queue)
    return stack, activities


@asynccontextmanager
async def running_stack(client: Client, data_dir: Path, catalog: Catalog,
                        documents: SealedDocuments, **options: Any) -> AsyncIterator[Stack]:
    """A Stack with its workers running; ``options`` go to start_stack (task_queue,
    id_secret, notice_settings), so a second Stack can take over the first one's cases."""
    built, activities = await start_stack(client, data_dir, catalog, documents, **options)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as executor:
        async with contextlib.AsyncExitStack() as running:
            for worker in build_workers(client, activities, task_queue=built.task_queue,
                                        executor=executor,
                                        graceful_shutdown=timedelta(seconds=5)):
                await running.enter_async_context(worker)
            yield built
    await built.http.aclose()
