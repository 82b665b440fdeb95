"""A whole installation for one test (Stack), wired like `madoguchi up`, the development
registry as a real process (DevRegistryProcess), and waiting helpers."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import time
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

from adapters.http import CallPolicy
from adapters.models import PublicFundsAccounts, ResidentRegistry
from adapters.wiring import Adapters, build_adapters
from documents.issuer import DocumentIssuer
from documents.timestamps import LocalTimestampAuthority
from forms.catalog import Catalog
from forms.municipalities import load_municipalities
from identity.devissuer import DevIssuer
from identity.verify import TokenVerifier
from madoguchi.up import dev_registry_command, free_port, registry_answers
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
    registry: ResidentRegistry | None = None  # as the portal context and workers get them
    accounts: PublicFundsAccounts | None = None

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
                      adapters: Adapters | None = None,
                      ) -> tuple[Stack, CaseActivities]:
    """Wire a Stack like `madoguchi up` does, with the test's client and a data dir
    (``notice_settings``: e.g. a municipality's webhook; default: inbox only; ``adapters``:
    e.g. ``dev_registry.adapters()``; default: none configured)."""
    adapters = adapters or Adapters()
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
                            dev_issuer=issuer, sessions=SessionStore(engine),
                            registry=adapters.registry, accounts=adapters.accounts)
    app = create_app(lambda: None)  # type: ignore[arg-type,return-value]
    app.state.portal = context  # ASGITransport runs no lifespan: set the context here
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://portal")
    activities = CaseActivities(catalog=catalog, municipalities=municipalities,
                                issuer=documents.issuer, blobs=blobs, register=register,
                                inbox=InboxChannel(inbox), notices=notices.dispatcher(inbox),
                                registry=adapters.registry, accounts=adapters.accounts)
    stack = Stack(client, http, issuer, cases, inbox, register, blobs, task_queue,
                  registry=adapters.registry, accounts=adapters.accounts)
    return stack, activities


@asynccontextmanager
async def running_stack(client: Client, data_dir: Path, catalog: Catalog,
                        documents: SealedDocuments, **options: Any) -> AsyncIterator[Stack]:
    """A Stack with its workers running; ``options`` go to start_stack (task_queue,
    id_secret, notice_settings, adapters), so a second Stack can take over the first one's cases."""
    built, activities = await start_stack(client, data_dir, catalog, documents, **options)
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as executor:
        async with contextlib.AsyncExitStack() as running:
            for worker in build_workers(client, activities, task_queue=built.task_queue,
                                        executor=executor,
                                        graceful_shutdown=timedelta(seconds=5)):
                await running.enter_async_context(worker)
            yield built
    await built.http.aclose()


class DevRegistryProcess:
    """``madoguchi dev-registry`` as a real process on a free loopback port, as `madoguchi up`
    runs it; :meth:`stop` it to see what a resident sees when the registry is down, and
    :meth:`start` it again on the same port."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.token_file = folder / "dev-registry-token"
        self.token = secrets.token_urlsafe(24)
        self.token_file.write_text(self.token + "\n")
        self.log = folder / "dev-registry.log"
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def registry_url(self) -> str:
        return f"{self.base_url}/registry"

    @property
    def public_funds_url(self) -> str:
        return f"{self.base_url}/public-funds"

    def adapters(self, policy: CallPolicy | None = None) -> Adapters:
        """Clients of this process, as madoguchi.runtime builds them from the settings."""
        return build_adapters(registry_url=self.registry_url, registry_token=self.token,
                              public_funds_url=self.public_funds_url,
                              public_funds_token=self.token, policy=policy)

    def start(self, timeout: float = 30) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(dev_registry_command(self.port, self.token_file),
                                         cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not registry_answers(self.port):
            if self.proc.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:]
                pytest.fail(f"madoguchi dev-registry exited: {tail}")
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail("madoguchi dev-registry did not answer in time")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the process (registry down); its port then refuses connections."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
