"""Composed notices and real SMTP servers on loopback (aiosmtpd)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from madoguchi.up import free_port
from notices.compose import compose_notice

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


def start_smtp(handler: SmtpHandler, **kwargs: Any) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, port


@dataclass
class TlsFiles:
    cert: Path
    key: Path
