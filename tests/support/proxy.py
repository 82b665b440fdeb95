"""A TLS reverse proxy on loopback in front of several web processes: Debian's Caddy,
as deploy/compose/Caddyfile runs it, with its own local CA (``tls internal``) instead of
ACME. It load-balances round robin, skips a process that refuses connections, and sets
``X-Forwarded-For`` (the client's address: Caddy trusts no incoming one) and
``X-Forwarded-Proto: https``; the web processes believe those from 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from madoguchi.up import free_port
from tests.support.hygiene import marked
from tests.support.processes import terminate


@dataclass
class Proxy:
    port: int
    root_ca: Path
    process: subprocess.Popen

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def client(self, source: str = "127.0.0.2", **kw) -> httpx.Client:
        """An HTTPS client of the proxy from loopback address ``source`` (each test
        client its own address, so rate limits by address can tell them apart)."""
        context = ssl.create_default_context(cafile=str(self.root_ca))
        transport = httpx.HTTPTransport(local_address=source, verify=context, retries=0)
        return httpx.Client(base_url=self.url, transport=transport, timeout=30, **kw)


CADDYFILE = """\
{{
	admin off
	auto_https disable_redirects
	skip_install_trust
	default_sni 127.0.0.1
	storage file_system {storage}
}}

https://127.0.0.1:{port} {{
	tls internal
	@operators path /codec /codec/* /metrics /metrics/*
	respond @operators 404
	reverse_proxy {upstreams} {{
		lb_policy round_robin
		# Passive health checks only: a process that refuses connections (killed) is
		# skipped for 5 s and the request tried on the other; active checks with short
		# timeouts flap on a loaded 2-core machine and break the round robin. Buffered
		# bodies: without, Caddy 2.6 retries a POST whose dial failed with an empty body
		# ("invalid Read on closed Body") and marks the healthy process down too.
		buffer_requests
		lb_try_duration 10s
		fail_duration 5s
	}}
}}
"""


@contextlib.contextmanager
def running_proxy(upstreams: Sequence[str], root: Path) -> Iterator[Proxy]:
    """Caddy on a free port forwarding to ``upstreams`` (``127.0.0.1:PORT`` each)."""
    binary = shutil.which("caddy")
    if binary is None:
        pytest.fail("caddy is not installed: run deploy/local/setup.sh --test")
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = root / "Caddyfile"
    config.write_text(CADDYFILE.format(storage=root / "storage", port=port,
                                       upstreams=" ".join(upstreams)))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "XDG_DATA_HOME": str(root / "xdg"),
           "XDG_CONFIG_HOME": str(root / "xdg"), **marked()}
    with open(root / "caddy.log", "ab") as log:
        process = subprocess.Popen([binary, "run", "--config", str(config),
                                    "--adapter", "caddyfile"], env=env,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    root_ca = root / "storage" / "pki" / "authorities" / "local" / "root.crt"
    try:
        deadline = time.monotonic() + 30
        while not root_ca.exists() or not _listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("caddy did not start: "
                                   + (root / "caddy.log").read_text(errors="replace")[-2000:])
            time.sleep(0.1)
        yield Proxy(port, root_ca, process)
    finally:
        terminate(process)


def _listening(port: int) -> bool:
    import socket

    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False
