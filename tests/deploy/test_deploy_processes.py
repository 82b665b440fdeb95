"""The container entry points as separate processes, configured only by environment.

What a compose file or a Kubernetes Deployment runs: `madoguchi web`, `madoguchi worker
--queue cases` and `madoguchi worker --queue documents`, each its own process, on a
namespace of their own on the dev server (a remote address to them), blobs on a real
S3-compatible server (moto on loopback) with credentials read from files, JSON logs and
Prometheus metrics. One case goes from filing to its issued PDF through the HTTP API.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

from identity.devissuer import DevIssuer
from madoguchi.up import free_port
from records.secretfile import read_or_create
from tests.support.processes import Proc, get, new_namespace, wait_for
from tests.support.stack import documents_of
from workflows.codec import KeyRing

EXAMPLE = (
    Path(__file__).resolve().parents[2]
    / "forms"
    / "catalog"
    / "disaster-certificate"
    / "examples"
    / "valid-basic.json"
)
RESIDENT_NAME = "山田 太郎"


async def test_web_and_one_worker_per_queue_as_processes_to_an_issued_pdf_on_s3(
    dev_env, s3_server, tmp_path
):
    namespace = await new_namespace(dev_env)
    bucket = s3_server.new_bucket()
    secrets = tmp_path / "secrets"
    key_id_file, secret_file = s3_server.credential_files(secrets)
    (secrets / "database-url").write_text(f"sqlite:///{tmp_path / 'read-models.db'}\n")
    data = tmp_path / "data"
    # The installation's keys exist before any process starts (production refuses to
    # invent them); every process reads the same ones.
    read_or_create(data / "keys" / "payload-keys.json", lambda: KeyRing.generate().to_json())
    read_or_create(data / "keys" / "id-secret", lambda: os.urandom(32).hex())
    web_port, web_metrics, cases_metrics, sdk_metrics, docs_metrics = (
        free_port() for _ in range(5)
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("MADOGUCHI_")}
    env = {
        **base,
        "PYTHONUNBUFFERED": "1",
        "MADOGUCHI_MODE": "development",  # for the dev token issuer only
        "MADOGUCHI_DATA_DIR": str(data),
        "MADOGUCHI_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "MADOGUCHI_TEMPORAL_NAMESPACE": namespace,
        "MADOGUCHI_TASK_QUEUE": f"tq-{uuid.uuid4().hex[:8]}",
        "MADOGUCHI_DATABASE_URL_FILE": str(secrets / "database-url"),
        "MADOGUCHI_BLOB_STORE": "s3",
        "MADOGUCHI_S3_BUCKET": bucket,
        "MADOGUCHI_S3_ENDPOINT_URL": s3_server.endpoint_url,
        "MADOGUCHI_S3_PREFIX": "131016",
        "MADOGUCHI_S3_ACCESS_KEY_ID_FILE": str(key_id_file),
        "MADOGUCHI_S3_SECRET_ACCESS_KEY_FILE": str(secret_file),
        "MADOGUCHI_LOG_FORMAT": "json",
        "MADOGUCHI_CASE_METRICS_INTERVAL": "0.5",
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    web = Proc(
        "web",
        ["web", "--port", str(web_port)],
        {**env, "MADOGUCHI_METRICS_PORT": str(web_metrics)},
        logs,
    )
    cases = Proc(
        "worker-cases",
        ["worker", "--queue", "cases"],
        {
            **env,
            "MADOGUCHI_METRICS_PORT": str(cases_metrics),
            "MADOGUCHI_SDK_METRICS_PORT": str(sdk_metrics),
        },
        logs,
    )
    documents = Proc(
        "worker-documents",
        ["worker", "--queue", "documents"],
        {**env, "MADOGUCHI_METRICS_PORT": str(docs_metrics)},
        logs,
    )
    notices_metrics = free_port()
    notices = Proc(
        "worker-notices",
        ["worker", "--queue", "notices"],
        {**env, "MADOGUCHI_METRICS_PORT": str(notices_metrics)},
        logs,
    )
    procs = [web, cases, documents, notices]
    url = f"http://127.0.0.1:{web_port}"
    started = time.monotonic()
    try:
        wait_for(
            lambda: (r := get(f"{url}/healthz")) is not None and r.status_code == 200,
            procs,
            timeout=120,
            what="web ready",
        )
        for worker in (cases, documents, notices):
            wait_for(
                lambda w=worker: '"worker ready"' in w.output(),
                procs,
                timeout=120,
                what=f"{worker.name} ready",
            )

        print(f"ready in {time.monotonic() - started:.1f} s")
        issuer = DevIssuer.load_or_create(data / "keys")
        resident = {"Authorization": "Bearer " + issuer.issue_resident("demo-9", RESIDENT_NAME)}
        surveyor = {
            "Authorization": "Bearer "
            + issuer.issue_caseworker("cw-1", ["131016"], ["reviewer", "surveyor"])
        }
        approver = {
            "Authorization": "Bearer " + issuer.issue_caseworker("cw-2", ["131016"], ["approver"])
        }
        filing = {
            "procedure": "disaster-certificate",
            "municipality": "131016",
            "data": json.loads(EXAMPLE.read_text(encoding="utf-8")),
        }
        created = httpx.post(f"{url}/api/applications", json=filing, headers=resident, timeout=30)
        assert created.status_code == 201, created.text
        app_id = created.json()["id"]
        for who, action, body in (
            (surveyor, "accept", {}),
            (surveyor, "survey", {"data": {"damage_ratio": 45, "surveyed_on": "2026-10-03"}}),
            (approver, "approve", {}),
        ):
            reply = httpx.post(
                f"{url}/api/applications/{app_id}/actions",
                json={"action": action, **body},
                headers=who,
                timeout=30,
            )
            assert reply.status_code == 200, (action, reply.text)

        def case() -> dict:
            return httpx.get(
                f"{url}/api/applications/{app_id}", headers=resident, timeout=30
            ).json()

        (doc,) = wait_for(
            lambda: documents_of(case(), "certificate"),
            procs,
            timeout=60,
            what="document issued",
        )
        print(f"issued at {time.monotonic() - started:.1f} s")
        pdf = httpx.get(f"{url}{doc['url']}", headers=resident, timeout=30)
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True
        ).stdout.decode()
        assert "罹災証明書" in text and "大規模半壊" in text
        stored = s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]
        assert {o["Key"].split("/")[0] for o in stored} == {"131016"}
        assert len(stored) == 2, "the 申請控え and the certificate"
        assert (not (data / "blobs").exists()) or not any((data / "blobs").rglob("*.pdf"))

        # Metrics: ours per process, and the Temporal SDK's.
        def scrape(port: int) -> str:
            reply = get(f"http://127.0.0.1:{port}/metrics")
            return reply.text if reply is not None else ""

        # Each pool did its own queue's work and nothing else.
        rendered, notified = scrape(docs_metrics), scrape(notices_metrics)
        assert (
            'madoguchi_activity_attempts_total{activity="issue_document",outcome='
            '"completed"} 2.0' in rendered  # the 申請控え and the certificate
        )
        assert 'activity="deliver_notice"' not in rendered
        assert 'activity="deliver_notice",outcome="completed"' in notified
        assert 'activity="issue_document"' not in notified
        assert 'activity="issue_document"' not in scrape(cases_metrics)
        assert "temporal_" in scrape(sdk_metrics)
        assert (
            'madoguchi_http_requests_total{method="POST",route='
            '"/api/applications/{application_id}/actions",status="200"} 3.0' in scrape(web_metrics)
        )
        wait_for(
            lambda: (
                'madoguchi_cases_overdue{procedure="disaster-certificate"} 0.0'
                in scrape(cases_metrics)
            ),
            procs,
            what="case gauges",
        )
    finally:
        stopping = time.monotonic()
        codes = {p.name: p.stop() for p in procs}
        print(f"stopped in {time.monotonic() - stopping:.1f} s")
    # uvicorn re-raises the SIGTERM it handled after its graceful shutdown.
    assert codes == {p.name: -signal.SIGTERM if p is web else 0 for p in procs}, codes
    assert "Traceback" not in "".join(p.output() for p in procs)

    # Logs: one JSON object per line, with ids and no personal data.
    for p in procs:
        lines = [line for line in p.output().splitlines() if line.strip()]
        assert lines, p.name
        events = [json.loads(line) for line in lines]
        assert {e["role"] for e in events} == {p.name}
        assert RESIDENT_NAME not in p.output() and "demo-9" not in p.output()
    assert any(
        e.get("route") == "/api/applications" for e in map(json.loads, web.output().splitlines())
    )


def test_a_wrong_setting_stops_the_process_with_one_line(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MADOGUCHI_")},
        "MADOGUCHI_DATA_DIR": str(tmp_path),
        "MADOGUCHI_BLOB_STORE": "s3",
    }
    done = subprocess.run(
        [sys.executable, "-m", "madoguchi", "worker", "--queue", "cases"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "MADOGUCHI_S3_BUCKET" in done.stderr and "Traceback" not in done.stderr

    env["MADOGUCHI_BLOB_STORE"] = "local"
    env["MADOGUCHI_MODE"] = "production"
    done = subprocess.run(
        [sys.executable, "-m", "madoguchi", "web"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "payload-keys.json is missing" in done.stderr
