"""A real Redis server for the tests (Debian's ``redis-server``): a free loopback port, no
persistence, a child of the test session, stopped at the end."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from madoguchi.up import free_port
from tests.support.processes import terminate


@dataclass
class Redis:
    port: int
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@contextlib.contextmanager
def running_redis() -> Iterator[Redis]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run deploy/local/setup.sh --test")
    root = Path(tempfile.mkdtemp(prefix="madoguchi-redis-"))
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(root), "--daemonize", "no",
         "--logfile", str(root / "redis.log")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    server = Redis(port, process)
    try:
        deadline = time.monotonic() + 30
        while not server.ping():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start: "
                                   + (root / "redis.log").read_text(errors="replace"))
            time.sleep(0.05)
        yield server
    finally:
        terminate(process)
        shutil.rmtree(root, ignore_errors=True)
