"""`madoguchi up` keeps the Temporal dev server and the development registry on loopback
(issue #15, #18).

The dev server has no TLS and no authorization: whoever reaches its frontend can decide
cases (the codec refuses what they send, but they can still terminate or reset), and its
UI lets anyone do the same by mouse. The test starts the server exactly as `up` does and
looks at every socket it listens on.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from madoguchi.datadir import DataDir
from madoguchi.up import (
    dev_registry_command,
    dev_registry_token,
    dev_server_command,
    free_port,
    next_free_port,
    port_answers,
    registry_answers,
)

LOOPBACK_HEX = {"0100007F",  # 127.0.0.1 in /proc/net/tcp
                "00000000000000000000000001000000",  # ::1 in /proc/net/tcp6
                "0000000000000000FFFF00000100007F"}  # ::ffff:127.0.0.1
LISTEN = "0A"


def listening(pid: int) -> list[tuple[str, int]]:
    """(address as /proc/net shows it, port) of every socket ``pid`` listens on."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port = fields[1].split(":")
            if fields[3] == LISTEN and fields[9] in inodes:
                found.append((address, int(port, 16)))
    return found


def other_address() -> str | None:
    """A non-loopback IPv4 address of this machine, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


@pytest.fixture
def dev_server(tmp_path):
    temporal_port = free_port()
    ui_port = next_free_port(temporal_port + 1, avoid=set())
    proc = subprocess.Popen(dev_server_command(tmp_path / "temporal.db", temporal_port, ui_port),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (port_answers(temporal_port) and port_answers(ui_port)):
            assert proc.poll() is None, "the dev server exited"
            assert time.monotonic() < deadline, "the dev server did not start"
            time.sleep(0.2)
        yield proc, temporal_port, ui_port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_the_dev_server_listens_on_loopback_only(dev_server):
    proc, temporal_port, ui_port = dev_server
    sockets = listening(proc.pid)
    ports = {port for _, port in sockets}
    assert {temporal_port, ui_port} <= ports, sockets
    # Frontend gRPC, UI, HTTP API and metrics alike: nothing on 0.0.0.0, :: or eth0.
    assert [(a, p) for a, p in sockets if a not in LOOPBACK_HEX] == []
    address = other_address()
    if address is not None:
        for port in (temporal_port, ui_port):
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=2).close()


def test_the_dev_registry_listens_on_loopback_only_and_wants_its_token(tmp_path):
    """The development registry (fictional households, one bearer token), as `up` runs it."""
    data = DataDir(tmp_path / "var")
    data.ensure()
    token_file = dev_registry_token(data)
    assert token_file.stat().st_mode & 0o077 == 0  # the token is the registry's only lock
    assert dev_registry_token(data).read_text() == token_file.read_text()  # made once
    port = free_port()
    proc = subprocess.Popen(dev_registry_command(port, token_file),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not registry_answers(port):
            assert proc.poll() is None, "the dev registry exited"
            assert time.monotonic() < deadline, "the dev registry did not start"
            time.sleep(0.1)
        sockets = listening(proc.pid)
        assert port in {p for _, p in sockets}
        assert [(a, p) for a, p in sockets if a not in LOOPBACK_HEX] == []
        address = other_address()
        if address is not None:
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=2).close()
        url = f"http://127.0.0.1:{port}/registry/v1/persons/RR-131016-0001"
        assert httpx.get(url, timeout=5).status_code == 401
        token = token_file.read_text().strip()
        reply = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
        assert reply.status_code == 200 and reply.json()["head"] == "山田 太郎"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
