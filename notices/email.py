"""The e-mail channel: notices over SMTP (standard library ``smtplib``).

A message has a plain-text part and an HTML part in the resident's language, and the
headers ``From``, ``To``, ``Subject``, ``Date`` (the notice's time), ``Message-ID``
(derived from the delivery key, so every attempt sends the same id),
``List-Unsubscribe`` (the notification settings page), ``Auto-Submitted`` and
``Content-Language``. TLS: ``starttls`` upgrades when the server offers STARTTLS,
``starttls-required`` refuses to send in clear, ``tls`` connects with TLS (port 465),
``none`` never encrypts (a local relay).

Exactly once: the DATA phase is split so that the moment the message leaves for good is
recorded first (:meth:`notices.delivery.Attempt.hand_over` just before the final
``<CRLF>.<CRLF>``). An SMTP server delivers nothing whose end-of-data it has not seen
(RFC 5321 §4.1.1.4), so a worker that dies before that mark sent nothing, and the retry
sends; a worker that dies after it may have sent, and the retry does not send again (the
delivery is recorded as delivered but unconfirmed). Never two messages; at most the
lost-reply window (one round trip) can turn a refusal by the server into "unconfirmed".

Errors: 4xx replies, refused connections, timeouts, TLS and login problems are
transient (retried until the dispatcher's window ends); 5xx replies are permanent.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import ClassVar, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from notices import PermanentDeliveryError, TransientDeliveryError
from notices.delivery import Attempt, ChannelDelivery, opaque_id

__all__ = ["EmailChannel", "SmtpOptions"]

SmtpSecurity = Literal["starttls", "starttls-required", "tls", "none"]


class SmtpOptions(BaseModel):
    """How to reach the SMTP server (from ``MADOGUCHI_SMTP_*``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(min_length=1)
    port: int = Field(default=587, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    sender: str = Field(min_length=3, description="From, e.g. '窓口 <noreply@city.example.jp>'")
    security: SmtpSecurity = "starttls"
    ca_file: Path | None = Field(default=None, description="Extra CA bundle to trust (PEM)")
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    local_hostname: str | None = Field(default=None, description="Name sent in EHLO")

    @property
    def sender_address(self) -> str:
        return parseaddr(self.sender)[1]


def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("notices", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


class EmailChannel:
    """Sends notices by e-mail."""

    channel_id: ClassVar[str] = "email"

    def __init__(self, options: SmtpOptions, *, public_url: str) -> None:
        """:param public_url: the portal's address, for the links in the message."""
        if "@" not in options.sender_address:
            raise ValueError("the SMTP sender must contain an e-mail address")
        self.options = options
        self.public_url = public_url.rstrip("/")
        self._env = _templates()

    # ---- composing -------------------------------------------------------------------

    def message_id(self, key: str) -> str:
        """The Message-ID of the delivery ``key``: the same for every attempt."""
        domain = self.options.sender_address.rpartition("@")[2]
        return f"<{opaque_id(key, 40)}.notice@{domain}>"

    def compose(self, request: ChannelDelivery, *, lang: str, to: str) -> EmailMessage:
        """The message for ``request`` in ``lang`` (plain text + HTML)."""
        title = request.notice.title.get(lang) or request.notice.title["ja"]
        body = request.notice.body.get(lang) or request.notice.body["ja"]
        context = {
            "lang": lang,
            "title": title,
            "body": body,
            "paragraphs": [p.split("\n") for p in re.split(r"\n{2,}", body.strip())],
            "portal_url": f"{self.public_url}/",
            "settings_url": f"{self.public_url}/notifications",
        }
        msg = EmailMessage(policy=SMTP_POLICY)
        msg["From"] = self.options.sender
        msg["To"] = to
        msg["Subject"] = title
        msg["Date"] = format_datetime(request.created_at)
        msg["Message-ID"] = self.message_id(request.key)
        msg["List-Unsubscribe"] = f"<{context['settings_url']}>"
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(self._env.get_template("email.txt.j2").render(context))
        msg.add_alternative(self._env.get_template("email.html.j2").render(context), subtype="html")
        msg["Content-Language"] = lang  # after the parts: set_content drops Content-*
        return msg

    # ---- sending ---------------------------------------------------------------------

    def check_config(self) -> None:
        """Connect, greet, upgrade to TLS and log in as configured, then quit.

        :raises TransientDeliveryError: if that fails (the server may be down).
        """
        smtp = self._connect()
        try:
            self._prepare(smtp)
        except (smtplib.SMTPException, OSError) as exc:
            raise _classify(exc) from None
        finally:
            _close(smtp)

    def send(self, request: ChannelDelivery, attempt: Attempt, *, lang: str) -> bool:
        """Send ``request`` to ``request.email``; see :class:`notices.delivery.OutboundChannel`.

        :raises PermanentDeliveryError: without an address, or on a 5xx reply.
        :raises TransientDeliveryError: on a 4xx reply, a network, TLS or login problem.
        """
        if not request.email:
            raise PermanentDeliveryError("no e-mail address", code="email-no-address")
        msg = self.compose(request, lang=lang, to=request.email)
        data = _dot_stuff(msg.as_bytes(policy=SMTP_POLICY))
        smtp = self._connect()
        try:
            try:
                self._prepare(smtp)
                _expect(smtp.mail(self.options.sender_address), (250,), "mail")
                _expect(smtp.rcpt(request.email), (250, 251), "rcpt")
                _expect(smtp.docmd("DATA"), (354,), "data")
                smtp.send(data)
            except (smtplib.SMTPException, OSError) as exc:
                raise _classify(exc) from None
            # From the end-of-data on, the server may deliver: record it before sending it.
            attempt.hand_over()
            try:
                smtp.send(b".\r\n")
                code, _reply = smtp.getreply()
            except (smtplib.SMTPException, OSError):
                return False  # the reply was lost: maybe delivered, never send again
            if code != 250:
                attempt.take_back()  # refused for sure: nothing was delivered
                raise _by_code(code, "data-end")
            return True
        finally:
            _close(smtp)

    def _connect(self) -> smtplib.SMTP:
        opts = self.options
        try:
            if opts.security == "tls":
                return smtplib.SMTP_SSL(
                    opts.host,
                    opts.port,
                    timeout=opts.timeout_seconds,
                    local_hostname=opts.local_hostname,
                    context=self._tls_context(),
                )
            return smtplib.SMTP(
                opts.host,
                opts.port,
                timeout=opts.timeout_seconds,
                local_hostname=opts.local_hostname,
            )
        except (smtplib.SMTPException, OSError) as exc:
            raise _classify(exc) from None

    def _prepare(self, smtp: smtplib.SMTP) -> None:
        opts = self.options
        smtp.ehlo()
        if opts.security in ("starttls", "starttls-required"):
            if smtp.has_extn("starttls"):
                smtp.starttls(context=self._tls_context())
                smtp.ehlo()
            elif opts.security == "starttls-required":
                raise TransientDeliveryError(
                    "the SMTP server offers no STARTTLS", code="smtp-no-starttls"
                )
        if opts.username:
            password = opts.password.get_secret_value() if opts.password else ""
            smtp.login(opts.username, password)

    def _tls_context(self) -> ssl.SSLContext:
        ca = str(self.options.ca_file) if self.options.ca_file else None
        context = ssl.create_default_context(cafile=ca)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context


def _dot_stuff(data: bytes) -> bytes:
    data = re.sub(rb"(?:\r\n|\n|\r(?!\n))", b"\r\n", data)
    data = re.sub(rb"(?m)^\.", b"..", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def _expect(reply: tuple[int, bytes], accepted: tuple[int, ...], stage: str) -> None:
    code = reply[0]
    if code not in accepted:
        raise _by_code(code, stage)


def _by_code(code: int, stage: str) -> Exception:
    if code == -1 or 400 <= code < 500:
        return TransientDeliveryError(
            f"SMTP server answered {code} at {stage}", code=f"smtp-{code if code > 0 else 'eof'}"
        )
    return PermanentDeliveryError(f"SMTP server answered {code} at {stage}", code=f"smtp-{code}")


def _classify(exc: BaseException) -> Exception:
    """Map smtplib's and the socket's errors to ours (class only: replies may echo the
    recipient's address)."""
    if isinstance(exc, (TransientDeliveryError, PermanentDeliveryError)):
        return exc
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return TransientDeliveryError("SMTP login refused", code="smtp-auth")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return TransientDeliveryError("SMTP server lacks a needed extension", code="smtp-config")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return _by_code(codes[0] if codes else 550, "rcpt")
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, "reply")
    if isinstance(exc, ssl.SSLError):
        return TransientDeliveryError(f"TLS failed: {type(exc).__name__}", code="smtp-tls")
    if isinstance(exc, TimeoutError):
        return TransientDeliveryError("SMTP server timed out", code="smtp-timeout")
    return TransientDeliveryError(
        f"SMTP server unreachable: {type(exc).__name__}", code="smtp-unavailable"
    )


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()
