"""Timeouts, retries and malformed answers, against real HTTP servers run by the test: one
that fails twice then answers, one that hangs past the read timeout, a port where nothing
listens, one that answers a body that is not the documented model."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from adapters.http import CallPolicy, retry_after
from adapters.models import AdapterUnavailable, PersonQuery
from adapters.publicfunds import HttpPublicFundsAccounts
from adapters.registry import HttpResidentRegistry
from madoguchi.up import free_port

RECORD = {"person_id": "RR-1", "household_id": "HH-1", "address": "東京都千代田区九段南1-2-1",
          "postal_code": "102-0074", "head": "山田 太郎",
          "members": [{"person_id": "RR-1", "name": "山田 太郎", "birthdate": "1985-04-01",
                       "relationship": "世帯主"}]}
ACCOUNT = {"bank_code": "0999", "bank_name": "まどぐち銀行", "branch_code": "001",
           "branch_name": "九段支店", "account_type": "ordinary", "account_number": "1234567",
           "holder_kana": "ヤマダ タロウ"}
QUERY = PersonQuery(name="山田 太郎", birthdate=date(1985, 4, 1),
                    address="東京都千代田区九段南1-2-1")


@dataclass
class Scripted:
    """A loopback HTTP server answering each request with the next scripted step:
    ``(status, body, headers)``, ``("hang", seconds)`` or ``("close",)``; then 200 ``last``."""

    steps: list[tuple]
    last: tuple = (200, RECORD, {})
    seen: list[tuple[float, str, str, str | None]] = field(default_factory=list)
    port: int = 0

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length).decode() if length else None
        self.seen.append((time.monotonic(), handler.command, handler.path, body))
        step = self.steps.pop(0) if self.steps else self.last
        if step[0] == "hang":
            time.sleep(step[1])
            return
        if step[0] == "close":
            handler.close_connection = True
            return
        status, payload, headers = step
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(raw)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(raw)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def scripted() -> Iterator[callable]:
    servers: list[ThreadingHTTPServer] = []

    def serve(steps: list[tuple], last: tuple = (200, RECORD, {})) -> Scripted:
        script = Scripted(list(steps), last)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                script.handle(self)

            do_POST = do_GET

            def log_message(self, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        script.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        servers.append(server)
        return script

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


POLICY = CallPolicy(connect_timeout=0.5, read_timeout=0.5, attempts=3, backoff=0.1,
                    max_backoff=0.4, deadline=5.0)


async def test_two_failures_then_an_answer(scripted):
    server = scripted([(503, {"error": "busy"}, {}), ("close",)])
    record = await HttpResidentRegistry(server.url, "t0ken", POLICY).find(QUERY)
    assert record is not None and record.household_id == "HH-1"
    assert len(server.seen) == 3
    (t1, method, path, body), (t2, *_), (t3, *_) = server.seen
    assert (method, path) == ("POST", "/v1/persons/search")
    assert json.loads(body) == {"name": "山田 太郎", "birthdate": "1985-04-01",
                                "address": "東京都千代田区九段南1-2-1"}
    # Backoff 0.1 s, then doubled.
    assert t2 - t1 >= 0.1 and t3 - t2 >= 0.2


async def test_the_bearer_token_is_sent(scripted):
    seen_headers: list[str] = []
    server = scripted([], last=(200, ACCOUNT, {}))
    original = server.handle

    def keep(handler: BaseHTTPRequestHandler) -> None:
        seen_headers.append(handler.headers.get("Authorization"))
        original(handler)

    server.handle = keep  # type: ignore[method-assign]
    account = await HttpPublicFundsAccounts(server.url + "/", "t0ken", POLICY).account("RR 1/x")
    assert account is not None and account.bank_code == "0999"
    assert seen_headers == ["Bearer t0ken"]
    assert server.seen[0][2] == "/v1/persons/RR%201%2Fx/account"


async def test_retry_after_is_honoured_up_to_the_cap(scripted):
    server = scripted([(429, {"error": "busy"}, {"Retry-After": "1"}),
                       (503, {"error": "busy"}, {"Retry-After": "3600"})])
    policy = CallPolicy(connect_timeout=0.5, read_timeout=0.5, attempts=3, backoff=0.05,
                        max_backoff=1.2, deadline=8.0)
    assert await HttpResidentRegistry(server.url, "t", policy).person("RR-1") is not None
    (t1, *_), (t2, *_), (t3, *_) = server.seen
    assert t2 - t1 >= 1.0  # asked for 1 s
    assert 1.1 <= t3 - t2 < 2.0  # asked for an hour, capped at 1.2 s


@pytest.mark.parametrize("status", [400, 401, 403, 405, 409, 422])
async def test_no_retry_on_a_4xx(scripted, status):
    server = scripted([(status, {"error": "no"}, {})])
    with pytest.raises(AdapterUnavailable, match=f"HTTP {status}$"):
        await HttpResidentRegistry(server.url, "t", POLICY).find(QUERY)
    assert len(server.seen) == 1


async def test_404_is_none_and_not_retried(scripted):
    server = scripted([(404, {"error": "person_not_found"}, {})])
    assert await HttpResidentRegistry(server.url, "t", POLICY).find(QUERY) is None
    assert len(server.seen) == 1


async def test_5xx_every_time_is_unavailable_after_the_attempts(scripted):
    server = scripted([], last=(500, {"error": "boom", "detail": "山田 太郎 RR-1"}, {}))
    with pytest.raises(AdapterUnavailable) as failed:
        await HttpResidentRegistry(server.url, "t", POLICY).person("RR-1")
    assert str(failed.value) == "resident registry: person: HTTP 500 after 3 attempt(s)"
    assert len(server.seen) == 3


async def test_a_server_that_hangs_beyond_the_read_timeout(scripted):
    server = scripted([], last=("hang", 5))
    started = time.monotonic()
    with pytest.raises(AdapterUnavailable, match=r"timed out \(ReadTimeout\) after 3 attempt"):
        await HttpResidentRegistry(server.url, "t", POLICY).find(QUERY)
    took = time.monotonic() - started
    # 3 × 0.5 s read + 0.1 s + 0.2 s backoff, and not the server's 5 s.
    assert 1.7 <= took < 2.5, took
    assert len(server.seen) == 3


async def test_nothing_listening_is_unavailable_within_the_bound():
    port = free_port()  # handed out and closed again: nothing listens there
    policy = CallPolicy()  # the defaults: 2 s / 3 s, 3 attempts, 10 s deadline
    started = time.monotonic()
    with pytest.raises(AdapterUnavailable, match=r"not reachable \(ConnectError\) after 3 attempt"):
        await HttpResidentRegistry(f"http://127.0.0.1:{port}", "t", policy).find(QUERY)
    took = time.monotonic() - started
    assert 0.6 <= took < 1.5, took  # refused at once, so only the backoff: 0.2 + 0.4 s


async def test_the_deadline_bounds_a_call_of_many_attempts(scripted):
    server = scripted([], last=("hang", 5))
    policy = CallPolicy(connect_timeout=0.3, read_timeout=0.4, attempts=10, backoff=0.05,
                        deadline=1.5)
    started = time.monotonic()
    with pytest.raises(AdapterUnavailable, match="no time left"):
        await HttpResidentRegistry(server.url, "t", policy).person("RR-1")
    assert time.monotonic() - started <= policy.deadline
    assert 1 < len(server.seen) < 10


async def test_connection_to_a_black_hole_times_out_on_connect():
    # A listening socket whose backlog is full accepts no more connections: connect hangs.
    with socket.socket() as full:
        full.bind(("127.0.0.1", 0))
        full.listen(0)
        port = full.getsockname()[1]
        fillers = []
        try:
            for _ in range(8):
                s = socket.socket()
                s.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    s.connect(("127.0.0.1", port))
                fillers.append(s)
            policy = CallPolicy(connect_timeout=0.3, read_timeout=0.3, attempts=2,
                                backoff=0.05, deadline=3)
            started = time.monotonic()
            with pytest.raises(AdapterUnavailable, match=r"\(ConnectTimeout\) after 2 attempt"):
                await HttpResidentRegistry(f"http://127.0.0.1:{port}", "t", policy).find(QUERY)
            assert time.monotonic() - started < 1.5
        finally:
            for s in fillers:
                s.close()


@pytest.mark.parametrize(("body", "where"), [
    (b"<html>proxy error</html>", "(body)"),
    ({"person_id": "RR-1"}, "household_id"),
    ({**RECORD, "members": [{"name": "山田 太郎"}]}, "members.0.person_id"),
    ({**RECORD, "members": [{**RECORD["members"][0], "birthdate": "1985-13-01"}]},
     "members.0.birthdate"),
    ([RECORD], "(body)"),
])
async def test_a_malformed_answer_is_unavailable_and_names_fields_not_values(
        scripted, body, where):
    server = scripted([(200, body, {})])
    with pytest.raises(AdapterUnavailable, match="malformed answer") as failed:
        await HttpResidentRegistry(server.url, "t", POLICY).find(QUERY)
    assert where in str(failed.value)
    assert "山田" not in str(failed.value) and "1985" not in str(failed.value)
    assert len(server.seen) == 1  # the same server would answer the same


@pytest.mark.parametrize("change", [{"account_number": "12345678"}, {"bank_code": "99"},
                                    {"account_type": "checking"}, {"holder_kana": None}])
async def test_a_malformed_account_is_unavailable(scripted, change):
    server = scripted([(200, {**ACCOUNT, **change}, {})])
    with pytest.raises(AdapterUnavailable, match="malformed answer"):
        await HttpPublicFundsAccounts(server.url, "t", POLICY).account("RR-1")


def test_retry_after_reads_seconds_and_dates():
    assert retry_after("2", cap=5) == 2
    assert retry_after("60", cap=5) == 5
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    assert 1.5 < retry_after(soon, cap=5) <= 3
    assert retry_after(format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True),
                       cap=5) == 0
    assert retry_after(None, cap=5) is None and retry_after("soon", cap=5) is None


def test_a_policy_that_cannot_work_is_refused():
    with pytest.raises(ValueError):
        CallPolicy(attempts=0)
    with pytest.raises(ValueError):
        CallPolicy(read_timeout=0)
