"""Whole installations in real processes (Temporal, worker, web), SMTP and webhook sinks,
for the fault tests."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller

from documents.devpki import DevPKI
from identity.devissuer import DevIssuer
from madoguchi.datadir import DataDir
from madoguchi.up import free_port, port_answers
from notices.webhook import verify_signature
from records.db import create_schema, make_engine
from records.deliveries import DeliveryLog
from records.inbox import InboxStore
from records.register import DocumentRegister
from workflows.search_attributes import dev_server_flags

REPO = Path(__file__).resolve().parents[2]


BIN = Path(sys.executable).parent


MADOGUCHI = [sys.executable, "-m", "madoguchi"]


MUNICIPALITY = "131016"


#: The faults catalogue: the 罹災証明書 as packaged, but every applicant notice also goes
#: out by e-mail and webhook, so a case exercises all three outbound paths.
FAULTS_VERSION = "9.1.0"


WEBHOOK_SECRET = "faults-webhook-secret-0123456789"


#: Loads are sized to keep tests/faults under 4 minutes on 2 cores; MADOGUCHI_FAULT_CASES
#: runs the issue's full 200.
FAULT_CASES = int(os.environ.get("MADOGUCHI_FAULT_CASES", "0")) or None


def wait_until(
    check: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.2
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {result!r})")
        time.sleep(interval)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    status = Path(f"/proc/{pid}/status")
    return not status.exists() or "State:\tZ" in status.read_text()


class Process:
    """A long-running subprocess that can be killed (SIGKILL) and started again."""

    def __init__(
        self,
        name: str,
        args: list[str],
        env: dict[str, str],
        log: Path,
        ready: Callable[[Process], bool],
    ) -> None:
        self.name, self.args, self.env, self.log = name, args, env, log
        self._ready = ready
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.kills = 0

    def start(self, *, wait: bool = True, timeout: float = 90) -> None:
        assert self.proc is None or self.proc.poll() is not None, f"{self.name} is running"
        self._offset = self.log.stat().st_size if self.log.exists() else 0
        self.proc = subprocess.Popen(
            self.args,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=open(self.log, "ab"),  # noqa: SIM115 - owned by the child
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.starts += 1
        if wait:
            self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 90) -> None:
        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"{self.name} exited {self.proc.returncode}:\n{self.output()[-3000:]}"
                )
            return self._ready(self)

        wait_until(ready, timeout=timeout, what=f"{self.name} ready")

    def output(self, since_start: bool = False) -> str:
        if not self.log.exists():
            return ""
        with open(self.log, "rb") as fh:
            if since_start:
                fh.seek(self._offset)
            return fh.read().decode("utf-8", errors="replace")

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: a crash; the process gets no chance to finish anything."""
        assert self.proc is not None
        pid = self.proc.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        wait_until(lambda: gone(pid), timeout=10, what=f"{self.name} gone")
        self.kills += 1

    def stop(self, timeout: float = 30) -> None:
        if not self.running:
            return
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class WebhookReceiver:
    """A municipality's system on loopback: verifies ``Madoguchi-Signature`` and stores
    each delivery, deduplicating on ``Madoguchi-Delivery`` as docs/notices.md tells
    receivers to. ``posts`` counts every POST (re-posts included), ``stored`` each id."""

    def __init__(self, secret: str = WEBHOOK_SECRET) -> None:
        self.secret = secret
        self.port = free_port()
        self.posts: Counter[str] = Counter()
        self.stored: dict[str, dict[str, Any]] = {}
        self.bad_signatures = 0
        self.on_post: Callable[[str], None] | None = None  # runs before the answer
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                header = self.headers.get("Madoguchi-Signature", "")
                if not verify_signature(receiver.secret, header, body):
                    with receiver._lock:
                        receiver.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                delivery = self.headers["Madoguchi-Delivery"]
                document = json.loads(body)
                with receiver._lock:
                    receiver.posts[delivery] += 1
                    receiver.stored.setdefault(delivery, document)
                if receiver.on_post is not None:
                    receiver.on_post(delivery)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                """Quiet: the test reads what it needs from the receiver's counters."""

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Down: connections are refused until :meth:`start`."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def for_application(self, application_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [d for d in self.stored.values() if d["application_id"] == application_id]

    def reposts(self) -> int:
        with self._lock:
            return sum(n - 1 for n in self.posts.values())


class SmtpSink:
    """The municipality's SMTP relay on loopback (aiosmtpd): counts messages by Message-ID."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: Counter[str] = Counter()
        self.by_application: dict[str, list[str]] = {}
        self.on_data: Callable[[str], None] | None = None  # runs before the 250 reply
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> None:
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                message = message_from_bytes(envelope.original_content or envelope.content)
                message_id = message["Message-ID"]
                with sink._lock:
                    sink.messages[message_id] += 1
                if sink.on_data is not None:
                    await asyncio.get_running_loop().run_in_executor(None, sink.on_data, message_id)
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def duplicates(self) -> int:
        with self._lock:
            return sum(n - 1 for n in self.messages.values())


def faults_catalog(root: Path) -> Path:
    """A catalogue folder with the faults version of the 罹災証明書 (see FAULTS_VERSION)."""
    source = REPO / "forms" / "catalog" / "disaster-certificate"
    target = root / f"disaster-certificate@{FAULTS_VERSION}"
    shutil.copytree(source, target)
    definition = json.loads((target / "procedure.json").read_text(encoding="utf-8"))
    definition["version"] = FAULTS_VERSION
    for rule in definition["notices"].values():
        if rule["to"] == "applicant":
            rule["channels"] = ["inbox", "email", "webhook"]
    (target / "procedure.json").write_text(
        json.dumps(definition, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return root


def _temporal_ready(port: int) -> Callable[[Process], bool]:
    return lambda _: port_answers(port)


def _worker_ready(process: Process) -> bool:
    return "worker ready" in process.output(since_start=True)


def _web_ready(port: int) -> Callable[[Process], bool]:
    def ready(_: Process) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    return ready


@dataclass
class Installation:
    """One madoguchi installation of real processes (see the module docstring)."""

    root: Path
    temporal: Process
    web: Process
    workers: dict[str, Process]
    smtp: SmtpSink
    webhook: WebhookReceiver
    web_port: int
    temporal_port: int
    env: dict[str, str]
    issuer: DevIssuer = field(init=False)
    started_at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.engine = make_engine(f"sqlite:///{self.data / 'madoguchi.db'}")
        create_schema(self.engine)
        self.inbox = InboxStore(self.engine)
        self.register = DocumentRegister(self.engine)
        self.deliveries = DeliveryLog(self.engine)

    @property
    def data(self) -> Path:
        return self.root / "var"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.web_port}{path}"

    def load_issuer(self) -> None:
        self.issuer = DevIssuer.load_or_create(self.data / "keys")

    def resident(self, sub: str, name: str = "災害 太郎") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.issue_resident(sub, name)}"}

    def caseworker(self, sub: str, roles: str) -> dict[str, str]:
        token = self.issuer.issue_caseworker(sub, [MUNICIPALITY], roles.split(","))
        return {"Authorization": f"Bearer {token}"}

    def start_workers(self) -> None:
        for worker in self.workers.values():
            worker.start(wait=False)
        for worker in self.workers.values():
            worker.wait_ready()

    def all_processes(self) -> list[Process]:
        return [self.temporal, *self.workers.values(), self.web]

    def blob_sha256(self, blob_key: str) -> str:
        return hashlib.sha256((self.data / "blobs" / blob_key).read_bytes()).hexdigest()


def build_installation(root: Path, *, extra_env: dict[str, str] | None = None) -> Installation:
    data = root / "var"
    (data / "logs").mkdir(parents=True)
    temporal_port, web_port = free_port(), free_port()
    smtp, webhook = SmtpSink(), WebhookReceiver()
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "MADOGUCHI_MODE": "development",
        "MADOGUCHI_DATA_DIR": str(data),
        "MADOGUCHI_CATALOG_DIR": str(faults_catalog(root / "catalog")),
        "MADOGUCHI_TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}",
        "MADOGUCHI_TASK_QUEUE": f"faults-{uuid.uuid4().hex[:8]}",
        "MADOGUCHI_PUBLIC_URL": f"http://127.0.0.1:{web_port}",
        "MADOGUCHI_CASE_METRICS_INTERVAL": "0",
        "MADOGUCHI_SMTP_HOST": "127.0.0.1",
        "MADOGUCHI_SMTP_PORT": str(smtp.port),
        "MADOGUCHI_SMTP_FROM": "窓口 <noreply@city.example.jp>",
        "MADOGUCHI_SMTP_SECURITY": "none",
        "MADOGUCHI_SMTP_TIMEOUT_SECONDS": "5",
        "MADOGUCHI_WEBHOOKS": json.dumps(
            {MUNICIPALITY: {"url": webhook.url, "secret": WEBHOOK_SECRET}}
        ),
        # Longer than the notice activity's 30 s start-to-close (as docs/notices.md asks),
        # and no longer: after a crash the retry waits for the lease.
        "MADOGUCHI_DELIVERY_LEASE_SECONDS": "31",
        "MADOGUCHI_PUSH_ENABLED": "false",
        **(extra_env or {}),
    }
    logs = data / "logs"
    temporal = Process(
        "temporal",
        [
            str(BIN / "temporal"),
            "server",
            "start-dev",
            "--db-filename",
            str(data / "temporal.db"),
            "--ip",
            "127.0.0.1",
            "--port",
            str(temporal_port),
            "--headless",
            "--log-level",
            "error",
            *dev_server_flags(),
        ],
        env,
        logs / "temporal.log",
        _temporal_ready(temporal_port),
    )
    workers = {
        queue: Process(
            f"worker-{queue}",
            [*MADOGUCHI, "worker", "--queue", queue],
            env,
            logs / f"worker-{queue}.log",
            _worker_ready,
        )
        for queue in ("cases", "documents", "notices")
    }
    web = Process(
        "web",
        [*MADOGUCHI, "web", "--port", str(web_port)],
        env,
        logs / "web.log",
        _web_ready(web_port),
    )
    return Installation(
        root=root,
        temporal=temporal,
        web=web,
        workers=workers,
        smtp=smtp,
        webhook=webhook,
        web_port=web_port,
        temporal_port=temporal_port,
        env=env,
    )


def prepare_keys(data: Path) -> None:
    """Create the installation's keys once, before any process starts, as an operator
    does (docs/deploying.md): processes started together must not race to create them."""
    folder = DataDir(data)
    folder.ensure()
    folder.payload_keys()
    folder.id_secret()
    DevIssuer.load_or_create(folder.keys)
    pki = DevPKI.load_or_create(folder.keys / "pki")
    pki.seal_files(MUNICIPALITY, "千代田区")


def record_numbers(name: str, numbers: dict[str, Any]) -> None:
    """Keep a test's numbers for docs/reliability.md (test-artifacts/faults/<name>.json)."""
    folder = REPO / "test-artifacts" / "faults"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(
        json.dumps(numbers, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    print(f"\n[faults] {name}: {json.dumps(numbers, ensure_ascii=False)}")


@contextlib.contextmanager
def running_installation(root: Path) -> Iterator[Installation]:
    """A whole installation, every process running; torn down on exit."""
    inst = build_installation(root)
    prepare_keys(inst.data)
    inst.smtp.start()
    inst.webhook.start()
    try:
        inst.temporal.start()
        inst.web.start(wait=False)
        inst.start_workers()
        inst.web.wait_ready()
        inst.load_issuer()
        yield inst
    finally:
        for process in reversed(inst.all_processes()):
            process.stop(timeout=10)
        inst.smtp.stop()
        inst.webhook.stop()
        inst.engine.dispose()
