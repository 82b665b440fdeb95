"""Fault injection against a real installation: every process is a real subprocess.

An :class:`Installation` is one madoguchi on this machine, as deployed: its own Temporal
dev server (``temporal server start-dev`` on a SQLite file, so it can be killed and
started again), one ``madoguchi worker`` process per queue (cases, documents, notices),
``madoguchi web``, a loopback SMTP server (aiosmtpd) and a loopback webhook receiver that
verifies the HMAC signature. Each can be killed with SIGKILL, stopped and started again.

What the tests count comes from outside the workers: the SMTP server's messages (by
Message-ID), the receiver's deliveries (by ``Madoguchi-Delivery``), the inbox and the
register of issued documents in the read-model database, and the PDFs in the blob store.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.faults import Installation, running_installation


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[Installation]:
    with running_installation(tmp_path) as inst:
        yield inst


@pytest.fixture(scope="module")
def shared_installation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    """One installation for the tests of a module (each files its own cases)."""
    with running_installation(tmp_path_factory.mktemp("faults")) as inst:
        yield inst
