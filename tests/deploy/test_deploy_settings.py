"""Settings of a deployed process, the codec endpoint, JSON logs and HTTP spans."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.api.common.v1 import Payload
from temporalio.service import TLSConfig

from identity.devissuer import DevIssuer
from identity.verify import TokenVerifier
from madoguchi import observability as obs
from madoguchi.settings import Settings, SettingsError, load_settings
from portal.codec_endpoint import codec_app
from workflows.codec import EncryptionCodec, KeyRing


def test_tls_files_become_the_client_tls_config(tmp_path):
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_bytes(f"-----{name}-----\n".encode())
    settings = Settings(
        data_dir=tmp_path,
        temporal_address="temporal.example.jp:7233",
        temporal_namespace="madoguchi-131016",
        temporal_tls_ca_file=tmp_path / "ca.pem",
        temporal_tls_cert_file=tmp_path / "cert.pem",
        temporal_tls_key_file=tmp_path / "key.pem",
        temporal_tls_server_name="frontend.temporal",
    )
    tls = settings.temporal_tls_config()
    assert isinstance(tls, TLSConfig)
    assert tls.server_root_ca_cert == b"-----ca.pem-----\n"
    assert tls.client_cert == b"-----cert.pem-----\n"
    assert tls.client_private_key == b"-----key.pem-----\n"
    assert tls.domain == "frontend.temporal"
    assert Settings(data_dir=tmp_path).temporal_tls_config() is False
    assert Settings(data_dir=tmp_path, temporal_tls=True).temporal_tls_config() == TLSConfig()
    (tmp_path / "key.pem").unlink()
    with pytest.raises(SettingsError, match="MADOGUCHI_TEMPORAL_TLS_KEY_FILE"):
        settings.temporal_tls_config()


def test_settings_from_environment_and_their_errors(tmp_path, monkeypatch):
    (tmp_path / "db-url").write_text("postgresql+psycopg://u:p@db/madoguchi\n")
    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MADOGUCHI_DATABASE_URL_FILE", str(tmp_path / "db-url"))
    monkeypatch.setenv("MADOGUCHI_TEMPORAL_NAMESPACE", "madoguchi-131016")
    settings = load_settings()
    assert settings.read_model_url == "postgresql+psycopg://u:p@db/madoguchi"
    assert settings.temporal_namespace == "madoguchi-131016"
    with pytest.raises(SettingsError, match="MADOGUCHI_S3_BUCKET"):
        load_settings(blob_store="s3")
    with pytest.raises(SettingsError, match="go together"):
        load_settings(temporal_tls_cert_file=tmp_path / "x")
    with pytest.raises(SettingsError, match="MADOGUCHI_METRICS_PORT"):
        load_settings(metrics_port="not-a-port")
    with pytest.raises(SettingsError, match=r"payload-keys\.json is missing"):
        load_settings(mode="production").check_startable()


async def test_codec_endpoint_decodes_what_the_codec_encoded(tmp_path):
    ring = KeyRing.generate()
    issuer = DevIssuer.load_or_create(tmp_path)
    operator = {"Authorization": "Bearer " + issuer.issue_caseworker(
        "op-1", ["131016"], ["operator"])}
    sealed = await EncryptionCodec(ring).encode(
        [
            Payload(
                metadata={"encoding": b"json/plain"},
                data=json.dumps({"name": "山田 太郎"}).encode(),
            )
        ]
    )
    app = FastAPI()
    app.mount("/codec", codec_app(ring, TokenVerifier(issuer.trusted_issuers()),
                                  municipalities=["131016"]))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        from google.protobuf import json_format
        from temporalio.api.common.v1 import Payloads

        body = json_format.MessageToJson(Payloads(payloads=sealed))
        reply = await http.post("/codec/decode", content=body,
                                headers={"X-Namespace": "madoguchi", **operator})
        assert reply.status_code == 200
        (plain,) = json_format.Parse(reply.text, Payloads()).payloads
        assert json.loads(plain.data) == {"name": "山田 太郎"}
        bad = await http.post("/codec/decode", content=b"not json", headers=operator)
        assert bad.status_code == 400 and bad.json() == {"error": "bad_payloads"}


def test_json_logs_one_line_per_event_with_ids_and_no_exception_message():
    formatter = obs.JsonFormatter("worker-cases")
    try:
        raise ValueError("住所 東京都千代田区1-1")  # a library quoting its input
    except ValueError:
        import sys

        record = logging.LogRecord(
            "madoguchi",
            logging.ERROR,
            __file__,
            1,
            "render failed for %s",
            ("app-123",),
            sys.exc_info(),
        )
    record.application_id = "app-123"
    record.unsafe = {"name": "x"}  # not a scalar: dropped
    line = formatter.format(record)
    assert "\n" not in line
    event = json.loads(line)
    assert event["event"] == "render failed for app-123"
    assert event["role"] == "worker-cases" and event["application_id"] == "app-123"
    assert event["exc_type"] == "ValueError" and "unsafe" not in event
    assert "東京都" not in line


async def test_http_spans_and_metrics_use_the_route_template():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = FastAPI()

    @app.get("/api/applications/{application_id}")
    async def read(application_id: str) -> dict:
        return {"id": application_id}

    metrics = obs.Metrics()
    app.add_middleware(obs._HttpObservability, metrics=metrics, tracer=provider.get_tracer("test"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as http:
        assert (await http.get("/api/applications/app-secret-9")).status_code == 200
        assert (await http.get("/nowhere")).status_code == 404
    (first, second) = exporter.get_finished_spans()
    assert first.name == "GET /api/applications/{application_id}"
    assert first.attributes["http.response.status_code"] == 200
    assert second.name == "GET unmatched"
    assert "app-secret-9" not in str(first.attributes)
    value = metrics.registry.get_sample_value(
        "madoguchi_http_requests_total",
        {"method": "GET", "route": "/api/applications/{application_id}", "status": "200"},
    )
    assert value == 1.0


def test_the_deployed_smtp_settings_reach_the_email_channel(tmp_path, monkeypatch):
    """The compose and Helm files give the SMTP password as a file; the e-mail channel read
    only MADOGUCHI_SMTP_PASSWORD, so the deployed relay was used without its password."""
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret\n", encoding="utf-8")
    for name, value in {"MADOGUCHI_SMTP_HOST": "relay.example.jp", "MADOGUCHI_SMTP_FROM":
                        "窓口 <noreply@example.jp>", "MADOGUCHI_SMTP_USERNAME": "madoguchi",
                        "MADOGUCHI_SMTP_PASSWORD_FILE": str(secret),
                        "MADOGUCHI_SMTP_SECURITY": "starttls-required"}.items():
        monkeypatch.setenv(name, value)
    options = load_settings(data_dir=tmp_path).notice_settings().smtp_options()
    assert options is not None and options.host == "relay.example.jp"
    assert options.password is not None and options.password.get_secret_value() == "s3cret"
    assert options.security == "starttls-required"
    secret.unlink()
    with pytest.raises(SettingsError, match="MADOGUCHI_SMTP_PASSWORD_FILE"):
        load_settings(data_dir=tmp_path).notice_settings()
