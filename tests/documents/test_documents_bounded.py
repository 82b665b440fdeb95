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
import zlib
from pathlib import Path
from typing import Any

import pytest

from documents.bounded import BoundedVerifier, DocumentUncheckable
from documents.verify import verify_pdf

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "forms/catalog/disaster-certificate/templates"
SAMPLE = REPO / "forms/catalog/disaster-certificate/examples/certificate-context.json"

_HEAD = (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
         b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
         b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n")


def _with_xref_stream(dictionary: bytes, stream: bytes) -> bytes:
    offset = len(_HEAD)
    xref = (b"3 0 obj\n<< /Type /XRef /Root 1 0 R " + dictionary
            + b" /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream\nendobj\n")
    return _HEAD + xref + b"startxref\n%d\n%%%%EOF\n" % offset


def xref_bomb(inflated: int = 25 * 1024 * 1024) -> bytes:
    """A small PDF whose cross-reference stream inflates to ``inflated`` bytes: one entry
    of 7 bytes (``/W [1 4 2]``) per declared object, all alike, so it compresses ~1000:1."""
    count = inflated // 7
    compressor = zlib.compressobj(9)
    block = b"\x01\x00\x00\x00\x0f\x00\x00" * 65536
    parts, left = [], count
    while left > 0:
        n = min(left, 65536)
        parts.append(compressor.compress(block[: n * 7]))
        left -= n
    parts.append(compressor.flush())
    return _with_xref_stream(b"/Size %d /W [1 4 2] /Filter /FlateDecode" % count,
                             b"".join(parts))


def count_bomb(count: int = 50_000_000) -> bytes:
    """A PDF of ~300 bytes declaring ``count`` objects: entries of width 0 (``/W [0 0 0]``)
    take no bytes, and a reader loops over every one of them."""
    return _with_xref_stream(b"/Size %d /W [0 0 0]" % count, b"")


def prev_chain_bomb(sections: int = 40, each: int = 150_000) -> bytes:
    """Cross-reference streams chained by ``/Prev``, each declaring fewer objects than the
    cap, together millions."""
    out, previous = bytearray(_HEAD), None
    for n in range(sections):
        offset = len(out)
        prev = b" /Prev %d" % previous if previous is not None else b""
        out += (b"%d 0 obj\n<< /Type /XRef /Root 1 0 R /Size %d /W [0 0 0]%s /Length 0 >>\n"
                b"stream\n\nendstream\nendobj\n" % (3 + n, each, prev))
        previous = offset
    out += b"startxref\n%d\n%%%%EOF\n" % previous
    return bytes(out)


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
    with BoundedVerifier(processes=1, timeout=20, memory_bytes=96 * 1024 * 1024,
                         max_declared_objects=None) as pool:
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
