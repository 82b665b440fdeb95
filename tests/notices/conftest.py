"""Real loopback servers for the notice channels: SMTP (aiosmtpd), and helpers."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from madoguchi.up import free_port
from notices.compose import compose_notice
from records.db import create_schema, make_engine

MESSAGES = {
    "ja": {
        "notice.submitted.title": "申請が届きました",
        "notice.submitted.body": (
            "「{procedure_title}」の申請が届きました。受付番号は {application_id} です。"
            "\n\n.この行は点で始まります。"
        ),
    },
    "en": {
        "notice.submitted.title": "We have received your application",
        "notice.submitted.body": (
            'We have received "{procedure_title}". Number {application_id}.'
            "\n\n.This line starts with a dot."
        ),
    },
}
T0 = dt.datetime(2026, 4, 3, 1, 0, tzinfo=dt.UTC)


def composed(application_id: str = "app-1"):
    return compose_notice(
        MESSAGES,
        "submitted",
        {
            "application_id": application_id,
            "procedure_title": {"ja": "罹災証明書の交付申請", "en": "Disaster certificate"},
        },
    )


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'madoguchi.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool


@dataclass
class SmtpHandler:
    """Collects what the server accepted; hooks let a test act mid-transaction."""

    received: list[Received] = field(default_factory=list)
    on_rcpt: Callable[[str], str | None] | None = None
    on_data: Callable[[], str | None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if self.on_rcpt is not None:
            answer = self.on_rcpt(address)
            if answer:
                return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.received.append(
                Received(
                    envelope.mail_from, list(envelope.rcpt_tos), message, session.ssl is not None
                )
            )
        if self.on_data is not None:
            answer = self.on_data()
            if answer:
                return answer
        return "250 Message accepted"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: SmtpHandler


def _start(handler: SmtpHandler, **kwargs: Any) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, port


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    handler = SmtpHandler()
    controller, port = _start(handler)
    yield SmtpServer("127.0.0.1", port, handler)
    controller.stop()


@dataclass
class TlsFiles:
    cert: Path
    key: Path


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1 (SAN IP), to trust as a CA."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    files = TlsFiles(folder / "cert.pem", folder / "key.pem")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


@pytest.fixture
def starttls_server(tls_files: TlsFiles) -> Iterator[SmtpServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files.cert, tls_files.key)
    handler = SmtpHandler()
    controller, port = _start(handler, tls_context=context, require_starttls=True)
    yield SmtpServer("127.0.0.1", port, handler)
    controller.stop()
