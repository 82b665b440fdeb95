"""The deployed shape on one machine (issue #22), as docs/deploying.md describes it:

* the Temporal dev server (standing in for the cluster: no TLS, no PostgreSQL persistence);
* the read models on a real PostgreSQL, rate limits in a real Redis;
* two ``madoguchi web`` processes behind Caddy (TLS on loopback, round robin), believing
  ``X-Forwarded-For`` / ``-Proto`` from the proxy's address only;
* a ``madoguchi worker`` per task queue: cases, notices, and two for documents (each with
  its pool process);
* blobs in S3 (moto's server on loopback).

Development mode only for the development token issuer and PKI (the tests sign in with
it); the production settings check is tests/deploy/test_deploy_production_refusals.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from documents.devpki import DevPKI
from identity.devissuer import DevIssuer
from madoguchi.up import free_port
from records.secretfile import read_or_create
from tests.support.pg import Postgres
from tests.support.processes import Proc, get, wait_for
from tests.support.proxy import Proxy, running_proxy
from workflows.codec import KeyRing

EXAMPLE = (Path(__file__).resolve().parents[2] / "forms" / "catalog" / "disaster-certificate"
           / "examples" / "valid-basic.json")
WORKERS = ("cases", "documents-1", "documents-2", "notices")


@dataclass
class Shape:
    data: Path
    database_url: str
    bucket: str
    postgres: Postgres
    proxy: Proxy
    webs: list[Proc]
    workers: dict[str, Proc]
    metrics: dict[str, int]
    issuer: DevIssuer
    s3: Any  # tests/deploy/conftest.py's S3Server
    filed: list[str] = field(default_factory=list)

    @property
    def procs(self) -> list[Proc]:
        return [*self.webs, *self.workers.values()]

    def bearer(self, token: str) -> dict[str, str]:
        return {"Authorization": "Bearer " + token}

    def resident(self, subject: str, name: str = "山田 太郎") -> dict[str, str]:
        return self.bearer(self.issuer.issue_resident(subject, name))

    def caseworker(self, subject: str, *roles: str) -> dict[str, str]:
        return self.bearer(self.issuer.issue_caseworker(subject, ["131016"], list(roles)))

    def filing(self) -> dict[str, Any]:
        return {"procedure": "disaster-certificate", "municipality": "131016",
                "data": json.loads(EXAMPLE.read_text(encoding="utf-8"))}

    def blobs(self) -> list[str]:
        """The keys of every object in the installation's bucket."""
        client, keys = self.s3.client(), []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            keys.extend(o["Key"] for o in page.get("Contents", []))
        return keys

    def scrape(self, name: str) -> str:
        reply = get(f"http://127.0.0.1:{self.metrics[name]}/metrics")
        return reply.text if reply is not None else ""

    def served(self, web: str, route: str, method: str = "POST", status: str = "200") -> float:
        """How many ``method route`` requests web process ``web`` answered ``status``."""
        labels = f'method="{method}",route="{re.escape(route)}",status="{status}"'
        pattern = r"madoguchi_http_requests_total\{" + labels + r"\} ([0-9.e+]+)"
        found = re.search(pattern, self.scrape(web))
        return float(found.group(1)) if found else 0.0

    def activities_running(self, worker: str) -> float:
        """Activity slots in use in ``worker`` now (the Temporal SDK's gauge)."""
        found = re.findall(r'temporal_worker_task_slots_used\{[^}]*worker_type="ActivityWorker"'
                           r'[^}]*\} ([0-9.e+]+)', self.scrape(f"sdk-{worker}"))
        return sum(float(value) for value in found)

    def wait_ready(self, procs: list[Proc] | None = None, *, since: int = 0,
                   timeout: float = 180) -> None:
        """Until each process of ``procs`` (default: all) serves: a web process answers
        /healthz, a worker logged "worker ready" (after byte ``since`` of its log)."""
        for proc in procs or self.procs:
            if proc.name.startswith("web"):
                port = proc.args[proc.args.index("--port") + 1]
                wait_for(lambda p=port: (r := get(f"http://127.0.0.1:{p}/healthz"))
                         is not None and r.status_code == 200, self.procs, timeout,
                         f"{proc.name} ready")
            else:
                wait_for(lambda p=proc: '"worker ready"' in p.output()[since:], self.procs,
                         timeout, f"{proc.name} ready")

    def restart(self, proc: Proc) -> None:
        """Start a killed process again (as systemd or Kubernetes would) and wait for it."""
        since = len(proc.output())
        proc.start()
        self.wait_ready([proc], since=since)


def _env(base: dict[str, str], **values: str) -> dict[str, str]:
    return {**base, **{f"MADOGUCHI_{k.upper()}": v for k, v in values.items()}}


@contextlib.contextmanager
def running_shape(*, temporal_address: str, namespace: str, postgres: Postgres,
                  redis_url: str, s3_server: Any, root: Path) -> Iterator[Shape]:
    data = root / "data"
    keys = data / "keys"
    # Every process reads the installation's keys; made once before any starts, as an
    # operator's secrets are (two processes creating them at once would differ).
    read_or_create(keys / "payload-keys.json", lambda: KeyRing.generate().to_json())
    read_or_create(keys / "id-secret", lambda: os.urandom(32).hex())
    read_or_create(keys / "draft-keys.json", lambda: KeyRing.generate().to_json())
    issuer = DevIssuer.load_or_create(keys)
    DevPKI.load_or_create(keys / "pki")
    database_url = postgres.new_database()
    bucket = s3_server.new_bucket()
    key_id_file, secret_file = s3_server.credential_files(root / "secrets")
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    web_ports = [free_port(), free_port()]
    names = [f"web-{i + 1}" for i in range(2)] + [f"worker-{w}" for w in WORKERS]
    names += [f"sdk-{w}" for w in WORKERS]  # the Temporal SDK's own metrics
    metrics = {name: free_port() for name in names}
    proxy_root = root / "proxy"
    base = {k: v for k, v in os.environ.items() if not k.startswith("MADOGUCHI_")}
    common = _env(
        {**base, "PYTHONUNBUFFERED": "1"},
        mode="development", data_dir=str(data), temporal_address=temporal_address,
        temporal_namespace=namespace, task_queue=f"tq-{uuid.uuid4().hex[:8]}",
        database_url=database_url, blob_store="s3", s3_bucket=bucket,
        s3_endpoint_url=s3_server.endpoint_url, s3_access_key_id_file=str(key_id_file),
        s3_secret_access_key_file=str(secret_file), rate_limit_storage=redis_url,
        forwarded_allow_ips="127.0.0.1", log_format="json", case_metrics_interval="0",
    )
    procs: list[Proc] = []
    try:
        with running_proxy([f"127.0.0.1:{p}" for p in web_ports], proxy_root) as proxy:
            public = _env(common, public_url=proxy.url)
            webs = [Proc(f"web-{i + 1}", ["web", "--port", str(port)],
                         _env(public, metrics_port=str(metrics[f"web-{i + 1}"])), logs)
                    for i, port in enumerate(web_ports)]
            procs.extend(webs)
            workers = {}
            for name in WORKERS:
                queue = name.split("-")[0]
                env = _env(public, metrics_port=str(metrics[f"worker-{name}"]),
                           sdk_metrics_port=str(metrics[f"sdk-{name}"]))
                workers[name] = Proc(f"worker-{name}", ["worker", "--queue", queue], env, logs)
                procs.append(workers[name])
            shape = Shape(data, database_url, bucket, postgres, proxy, webs, workers,
                          {**{w.name: metrics[w.name] for w in webs},
                           **{n: metrics[f"worker-{n}"] for n in WORKERS},
                           **{f"sdk-{n}": metrics[f"sdk-{n}"] for n in WORKERS}}, issuer,
                          s3_server)
            shape.wait_ready()
            yield shape
    finally:
        for proc in procs:
            proc.stop()


def http_retrying(client: httpx.Client, method: str, url: str, attempts: int = 60,
                  **kw: Any) -> httpx.Response:
    """What a browser's user does when the portal answers 502/503/504 or not at all: try
    again (filing is idempotent: a second filing is refused with the first's id). A 503
    is also the portal's "try again" while a case's worker is slow to answer an update,
    which a loaded 2-core machine makes seconds long."""
    import time

    last: Exception | httpx.Response | None = None
    for _ in range(attempts):
        try:
            reply = client.request(method, url, **kw)
        except httpx.TransportError as exc:
            last = exc
        else:
            if reply.status_code not in (502, 503, 504):
                return reply
            last = reply
        time.sleep(0.5)
    detail = last.text[:500] if isinstance(last, httpx.Response) else repr(last)
    raise AssertionError(f"{method} {url}: no answer after {attempts} tries: {detail}")
