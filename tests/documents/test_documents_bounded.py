"""BoundedVerifier: hostile PDFs are refused in time, the pool survives, the parent stays small.

The hostile files are built here byte by byte (no binary blobs): a cross-reference stream
that inflates to tens of MB, and one declaring tens of millions of objects in a few bytes.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from documents.bounded import BoundedVerifier, DocumentUncheckable
from documents.verify import verify_pdf
from tests.support.pdfbombs import count_bomb, prev_chain_bomb, xref_bomb

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "forms/catalog/disaster-certificate/templates"
SAMPLE = REPO / "forms/catalog/disaster-certificate/examples/certificate-context.json"











def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture(scope="module")
def sealed(sealed_documents: Any) -> bytes:
    context = json.loads(SAMPLE.read_text(encoding="utf-8"))
    context["document"]["id"] = "DOC-B1"
    return sealed_documents.issuer.issue(TEMPLATES, "certificate.html", context,
                                         document_id="DOC-B1", title="罹災証明書",
                                         municipality_code="131016")


@pytest.fixture(scope="module")
def roots(sealed_documents: Any) -> list[Any]:
    return sealed_documents.trust_roots


@pytest.fixture(scope="module")
def verifier():
    with BoundedVerifier(processes=1) as pool:
        yield pool


@pytest.fixture(scope="module")
def uncapped():
    """No object-count cap: what is left to the process limits."""
    with BoundedVerifier(processes=1, max_declared_objects=None) as pool:
        yield pool


def refused(pool: BoundedVerifier, data: bytes, roots: list[Any]) -> tuple[str, float]:
    started = time.monotonic()
    with pytest.raises(DocumentUncheckable) as caught:
        pool.verify(data, roots)
    assert caught.value.reason == "too_complex"
    assert caught.value.message["ja"].startswith("このファイルは確認できません")
    assert caught.value.message["en"].startswith("This file cannot be checked")
    return caught.value.detail, time.monotonic() - started


def test_the_hostile_files_are_small() -> None:
    assert len(xref_bomb()) < 64 * 1024
    assert len(count_bomb()) < 400


def test_a_sealed_document_verifies_valid(verifier: BoundedVerifier, sealed: bytes,
                                          roots: list[Any]) -> None:
    verdict = verifier.verify(sealed, roots)
    assert verdict.outcome == "valid", verdict
    assert verdict.level == "B-LTA" and verdict.document_id == "DOC-B1"


@pytest.mark.parametrize(("pool", "detail"),
                         [("verifier", "object_count"), ("uncapped", "decode_limit")])
def test_xref_bomb_is_uncheckable_in_time_and_the_parent_does_not_grow(
    request: pytest.FixtureRequest, pool: str, detail: str, sealed: bytes, roots: list[Any]
) -> None:
    bounded: BoundedVerifier = request.getfixturevalue(pool)
    bounded.verify(sealed, roots)  # the child is up
    bomb = xref_bomb()
    before = rss_bytes()
    got, elapsed = refused(bounded, bomb, roots)
    assert got == detail and elapsed < 2.0
    assert rss_bytes() - before < 20 * 1024 * 1024
    assert bounded.verify(sealed, roots).outcome == "valid"


@pytest.mark.parametrize("bomb", [count_bomb, prev_chain_bomb])
def test_count_bombs_are_refused_before_parsing(verifier: BoundedVerifier, bomb: Any,
                                                sealed: bytes, roots: list[Any]) -> None:
    verifier.verify(sealed, roots)  # the child is up
    detail, elapsed = refused(verifier, bomb(), roots)
    assert detail == "object_count" and elapsed < 0.5


def test_count_bomb_past_the_cap_is_killed_by_the_clock_and_the_pool_goes_on(
    uncapped: BoundedVerifier, sealed: bytes, roots: list[Any]
) -> None:
    uncapped.verify(sealed, roots)
    replaced, pids = uncapped.replaced, uncapped.pids()
    before = rss_bytes()
    detail, elapsed = refused(uncapped, count_bomb(), roots)
    assert detail == "timeout" and elapsed < 2.0
    assert rss_bytes() - before < 20 * 1024 * 1024
    started = time.monotonic()
    assert uncapped.verify(sealed, roots).outcome == "valid"
    assert time.monotonic() - started < 2.0  # the replacement is up at once
    assert uncapped.replaced == replaced + 1 and uncapped.pids() != pids


def test_cpu_limit_ends_the_child(sealed: bytes, roots: list[Any]) -> None:
    with BoundedVerifier(processes=1, timeout=20, cpu_seconds=1,
                         max_declared_objects=None) as pool:
        pool.verify(sealed, roots)
        detail, elapsed = refused(pool, count_bomb(), roots)
        assert detail == "cpu_limit" and elapsed < 5.0
        assert pool.verify(sealed, roots).outcome == "valid"


def test_memory_limit_ends_the_child(sealed: bytes, roots: list[Any]) -> None:
    # CPU enough for any machine to reach the memory limit first: on a slow hour the
    # default 2 CPU s ran out before 96 MiB were taken, and the test saw "cpu".
    with BoundedVerifier(processes=1, timeout=20, cpu_seconds=15,
                         memory_bytes=96 * 1024 * 1024, max_declared_objects=None) as pool:
        pool.verify(sealed, roots)
        detail, _ = refused(pool, count_bomb(), roots)
        assert detail == "memory"
        assert pool.last_child_peak is not None and pool.last_child_peak < 400 * 1024 * 1024
        assert pool.verify(sealed, roots).outcome == "valid"
        assert pool.replaced == 1


def test_a_burst_beyond_the_queue_is_busy_at_once(sealed: bytes, roots: list[Any]) -> None:
    with BoundedVerifier(processes=1, max_waiting=0, max_declared_objects=None) as pool:
        pool.verify(sealed, roots)
        outcome: list[str] = []

        def hostile() -> None:
            try:
                pool.verify(count_bomb(), roots)
            except DocumentUncheckable as exc:
                outcome.append(exc.detail)

        thread = threading.Thread(target=hostile)
        thread.start()
        time.sleep(0.3)  # the only child is busy with the bomb
        started = time.monotonic()
        with pytest.raises(DocumentUncheckable) as caught:
            pool.verify(sealed, roots)
        assert caught.value.reason == "busy" and time.monotonic() - started < 0.1
        assert caught.value.message["en"].startswith("Checking is busy")
        thread.join()
        assert outcome == ["timeout"]
        assert pool.verify(sealed, roots).outcome == "valid"


def test_a_child_killed_from_outside_is_replaced(verifier: BoundedVerifier, sealed: bytes,
                                                 roots: list[Any]) -> None:
    verifier.verify(sealed, roots)
    for pid in verifier.pids():
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.1)
    assert verifier.verify(sealed, roots).outcome == "valid"


def test_in_process_verify_refuses_the_bombs_too(sealed: bytes, roots: list[Any]) -> None:
    for bomb, detail in ((xref_bomb(), "object_count"), (count_bomb(), "object_count")):
        started = time.monotonic()
        with pytest.raises(DocumentUncheckable) as caught:
            verify_pdf(bomb, roots)
        assert caught.value.detail == detail and time.monotonic() - started < 0.5
    with pytest.raises(DocumentUncheckable) as caught:
        verify_pdf(xref_bomb(), roots, max_declared_objects=None)
    assert caught.value.detail == "decode_limit"


def test_closed_verifier_refuses(sealed: bytes, roots: list[Any]) -> None:
    pool = BoundedVerifier(processes=1)
    assert pool.verify(sealed, roots).outcome == "valid"
    pids = pool.pids()
    pool.close()
    with pytest.raises(RuntimeError):
        pool.verify(sealed, roots)
    time.sleep(0.2)
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(
            f"/proc/{pid}/status").read_text().lower()
