"""A real PostgreSQL server for the tests: initdb in a temporary directory, a free
loopback port, stopped (and its directory removed) at the end.

Debian's ``postgresql-15`` package provides the binaries (``deploy/local/setup.sh --test``
installs it); its own system cluster is not used. PostgreSQL refuses to run as root, and
the suite runs as root in CI: then the server runs as the ``postgres`` user the package
creates, in a directory owned by that user. The server is a child process of the test
session (never daemonized by ``pg_ctl``), so the session-end check sees it if it is left.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from madoguchi.up import free_port

#: Where Debian installs the server binaries (``pg_config --bindir`` is not always there).
BINDIRS = (Path("/usr/lib/postgresql/15/bin"), Path("/usr/lib/postgresql/16/bin"))
SUPERUSER = "madoguchi"
RUN_AS = "postgres"


def bindir() -> Path:
    for candidate in BINDIRS:
        if (candidate / "postgres").is_file():
            return candidate
    found = shutil.which("postgres")
    if found:
        return Path(found).resolve().parent
    pytest.fail("PostgreSQL is not installed: run deploy/local/setup.sh --test "
                "(it installs Debian's postgresql-15)")


@dataclass
class Postgres:
    """One server; :meth:`new_database` gives each test its own database."""

    root: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    _user: str | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    def _demote(self) -> dict:
        """Popen arguments that run a server binary as ``postgres`` when we are root."""
        return {"user": self._user, "group": self._user} if self._user else {}

    def init(self) -> None:
        if os.geteuid() == 0:
            try:
                entry = pwd.getpwnam(RUN_AS)
            except KeyError:
                pytest.fail(f"running as root needs the {RUN_AS!r} user (setup.sh --test)")
            self._user = RUN_AS
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        subprocess.run(
            [str(bindir() / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
             "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"],
            check=True, capture_output=True, timeout=120, **self._demote(),
        )

    def start(self) -> None:
        """Start (or start again, after :meth:`stop` or :meth:`kill`) on the same port."""
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - owned by the child
        self.process = subprocess.Popen(
            [str(bindir() / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-k", str(self.root), "-c", "listen_addresses=127.0.0.1",
             # Tests survive process crashes, not power cuts: skip the fsyncs.
             "-c", "fsync=off", "-c", "full_page_writes=off", "-c", "max_connections=200"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, **self._demote(),
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.log()[-2000:]}")
            ready = subprocess.run(
                [str(bindir() / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port),
                 "-U", SUPERUSER, "-d", "postgres"], capture_output=True)
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"postgres did not start: {self.log()[-2000:]}")

    def log(self) -> str:
        return (self.root / "server.log").read_text(errors="replace")

    def stop(self) -> None:
        """A fast shutdown (SIGINT): sessions are ended, committed data stays."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None

    def kill(self) -> None:
        """A crash: SIGKILL to the postmaster and every backend it forked."""
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh empty database; its SQLAlchemy URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self.psql(f"CREATE DATABASE {name}")
        return self.url(name)

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = subprocess.run(
            [str(bindir() / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER,
             "-d", database, "-v", "ON_ERROR_STOP=1", "-Atc", sql],
            capture_output=True, text=True, timeout=60,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        return done.stdout


@contextlib.contextmanager
def running_postgres() -> Iterator[Postgres]:
    # Not under pytest's tmp_path: that is 0700 root-owned, the postgres user could not
    # enter it.
    root = Path(tempfile.mkdtemp(prefix="madoguchi-pg-"))
    server = Postgres(root)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
