"""`madoguchi up` as a user runs it: real processes, real ports, crashes and restarts.

A case is started, every process is killed with SIGKILL mid-case, `madoguchi up` is
started again on the same data directory, and the case goes on to its issued PDF.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from identity.devissuer import DevIssuer
from madoguchi.up import free_port
from tests.support.faults import gone
from tests.support.stack import documents_of

MADOGUCHI = [sys.executable, "-m", "madoguchi"]
EXAMPLE = (Path(__file__).resolve().parents[2] / "forms" / "catalog" / "disaster-certificate"
           / "examples" / "valid-basic.json")


class Up:
    """One `madoguchi up` process tree."""

    def __init__(self, data: Path, port: int, temporal_port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self.proc = subprocess.Popen(
            [*MADOGUCHI, "up", "--data", str(data), "--port", str(port),
             "--temporal-port", str(temporal_port), "--no-demo"],
            stdout=open(log, "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
            stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"madoguchi up exited {self.proc.returncode}:\n{self.output()}")
            if "Press Ctrl-C to stop." in self.output():
                return
            time.sleep(0.3)
        pytest.fail(f"madoguchi up not ready in {timeout} s:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def children(self) -> list[int]:
        found = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                               text=True).stdout.split()
        return [int(pid) for pid in found]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[tuple[Path, int, int]]:
    data = tmp_path / "var"
    yield data, free_port(), free_port()


def _wait_for(check, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError("condition not met in time")


def _the_dev_registry_serves_web_and_worker(up: Up, data: Path) -> None:
    """`up` runs the development registry (issue #18) and hands its URLs and token to the
    web server and the worker, and to nobody outside the machine."""
    port = int(re.search(r"dev registry +http://127\.0\.0\.1:(\d+)", up.output()).group(1))
    token = (data / "keys" / "dev-registry-token").read_text().strip()
    found = httpx.post(f"http://127.0.0.1:{port}/registry/v1/persons/search",
                       json={"name": "山田 太郎", "birthdate": "1985-04-01",
                             "address": "東京都千代田区九段南1-2-1"},
                       headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert found.status_code == 200 and len(found.json()["members"]) == 3
    handed = []
    for pid in up.children():
        environ = dict(item.split("=", 1) for item in
                       Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item)
        command = Path(f"/proc/{pid}/cmdline").read_text().split("\0")
        if command[2:4] in (["madoguchi", "web"], ["madoguchi", "worker"]):
            assert environ["MADOGUCHI_REGISTRY_URL"] == f"http://127.0.0.1:{port}/registry"
            assert environ["MADOGUCHI_PUBLIC_FUNDS_URL"] == f"http://127.0.0.1:{port}/public-funds"
            assert environ["MADOGUCHI_REGISTRY_TOKEN_FILE"] == str(data / "keys"
                                                                  / "dev-registry-token")
            handed.append(command[3])
        if command[2:4] == ["madoguchi", "dev-registry"]:
            assert command[command.index("--host") + 1] == "127.0.0.1"
    assert sorted(handed) == ["web", "worker"]


def test_kill_everything_mid_case_then_restart_and_finish(installation, tmp_path):
    data, port, temporal_port = installation
    first = Up(data, port, temporal_port, tmp_path / "first.log")
    try:
        first.wait_ready()
        _the_dev_registry_serves_web_and_worker(first, data)
        issuer = DevIssuer.load_or_create(data / "keys")
        resident = {"Authorization": "Bearer " + issuer.issue_resident("demo-1", "山田 太郎")}
        surveyor = {"Authorization": "Bearer " + issuer.issue_caseworker(
            "cw-1", ["131016"], ["reviewer", "surveyor"])}
        approver = {"Authorization": "Bearer " + issuer.issue_caseworker(
            "cw-2", ["131016"], ["approver"])}
        filing = {"procedure": "disaster-certificate", "municipality": "131016",
                  "data": json.loads(EXAMPLE.read_text(encoding="utf-8"))}
        created = httpx.post(first.url("/api/applications"), json=filing, headers=resident,
                             timeout=30)
        assert created.status_code == 201, created.text
        app_id = created.json()["id"]
        for action, body in (("accept", {}), ("survey", {"data": {
                "damage_ratio": 25, "surveyed_on": "2026-10-03"}})):
            reply = httpx.post(first.url(f"/api/applications/{app_id}/actions"),
                               json={"action": action, **body}, headers=surveyor, timeout=30)
            assert reply.status_code == 200, reply.text
    finally:
        pids = first.children()
        for pid in [*pids, first.proc.pid]:
            os.kill(pid, signal.SIGKILL)  # a crash: nobody gets to clean up
        first.proc.wait(timeout=10)
    _wait_for(lambda: all(gone(pid) for pid in pids))

    second = Up(data, port, temporal_port, tmp_path / "second.log")
    try:
        second.wait_ready()
        after = httpx.get(second.url(f"/api/applications/{app_id}"), headers=resident,
                          timeout=30)
        assert after.status_code == 200, after.text
        assert after.json()["stage"] == "approval"
        assert after.json()["computed"]["damage_grade"]["code"] == "half"
        approved = httpx.post(second.url(f"/api/applications/{app_id}/actions"),
                              json={"action": "approve"}, headers=approver, timeout=30)
        assert approved.status_code == 200, approved.text

        def issued():
            body = httpx.get(second.url(f"/api/applications/{app_id}"), headers=resident,
                             timeout=30).json()
            return documents_of(body, "certificate") or None

        (doc,) = _wait_for(issued, timeout=60)
        pdf = httpx.get(second.url(doc["url"]), headers=resident, timeout=30)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf.content, capture_output=True,
                              check=True).stdout.decode()
        assert "半壊" in text and "罹災証明書" in text
    finally:
        children = second.children()
        second.proc.send_signal(signal.SIGINT)  # Ctrl-C
        assert second.proc.wait(timeout=60) == 0, second.output()
    assert "stopped" in second.output()
    assert all(gone(pid) for pid in children), "Ctrl-C must stop every child process"


def test_up_refuses_a_port_in_use_with_a_clear_message(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*MADOGUCHI, "up", "--data", str(tmp_path / "var"), "--port", str(port),
             "--temporal-port", str(free_port()), "--no-demo"],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert f"port {port} is in use" in result.stderr
    assert "Traceback" not in result.stderr
