"""Request body limits, applied before a body is read whole (issue #15, findings 3 and 7).

Every request body has a limit: 1 MB by default (JSON: an application, a draft, an action),
larger where a route takes files (see :data:`DEFAULT_LIMITS`). A ``Content-Length`` over
the limit is refused at once, before a byte of the body is received; a body without one
(chunked) is counted while it streams and refused as soon as it passes the limit. Either
way the answer is ``413`` with the structured error body (for a browser on a page, the
app's own HTML error page), and nothing more of the body is read.

The routes keep their own, finer limits inside these (an attachment field's
``max_bytes``, the verify upload's 20 MB): this middleware bounds what any route, present
or future, can be made to buffer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from forms.attachments import MAX_BYTES_LIMIT
from portal.errors import error_response
from portal.uploads import FRAMING_ALLOWANCE
from portal.web.render import MAX_PAGE_BODY
from services.documents import MAX_CHECK_BYTES

#: A JSON body (an application with its form data, a draft, an action).
DEFAULT_MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class BodyLimit:
    """At most ``max_bytes`` of body on ``method`` requests to ``path`` (or below it)."""

    method: str
    path: str
    max_bytes: int
    prefix: bool = False

    def matches(self, method: str, path: str) -> bool:
        if method != self.method:
            return False
        return path.startswith(self.path) if self.prefix else path == self.path


#: Routes that take more than a JSON body; the first match wins.
DEFAULT_LIMITS: tuple[BodyLimit, ...] = (
    # The largest file any form field may take; the route applies the field's own
    # max_bytes while the body streams.
    BodyLimit("POST", "/api/attachments", MAX_BYTES_LIMIT + FRAMING_ALLOWANCE),
    BodyLimit("POST", "/api/verify", MAX_CHECK_BYTES + FRAMING_ALLOWANCE),
    BodyLimit("POST", "/verify", MAX_CHECK_BYTES + FRAMING_ALLOWANCE),
    BodyLimit("POST", "/tsa", 64 * 1024),
    # The codec endpoint decodes a batch of payloads for the Temporal UI (each at most the
    # server's 2 MB blob limit).
    BodyLimit("POST", "/codec/", 8 * 1024 * 1024, prefix=True),
    # The pages' form posts (one file of a field plus the answers so far).
    BodyLimit("POST", "/apply/", MAX_PAGE_BODY, prefix=True),
    BodyLimit("POST", "/my/", MAX_PAGE_BODY, prefix=True),
    BodyLimit("POST", "/staff/", MAX_PAGE_BODY, prefix=True),
)

LimitOf = Callable[[str, str], int]


def limit_for(limits: tuple[BodyLimit, ...], default: int) -> LimitOf:
    def limit(method: str, path: str) -> int:
        found = next((rule for rule in limits if rule.matches(method, path)), None)
        return found.max_bytes if found else default

    return limit


class _Exceeded(HTTPException):
    """Raised into the app by ``receive`` once the body passes the limit. An
    ``HTTPException``, so the framework hands it to the error handlers instead of
    treating it as a crash; whatever they answer is replaced by the 413."""

    def __init__(self) -> None:
        super().__init__(413, "request body too large")


class BodyLimitMiddleware:
    """ASGI middleware refusing request bodies over their route's limit with 413."""

    def __init__(
        self,
        app: ASGIApp,
        limits: tuple[BodyLimit, ...] = DEFAULT_LIMITS,
        default_max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.app = app
        self.limit_of = limit_for(limits, default_max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope["method"], scope["path"])
        declared = _content_length(scope)
        # A browser on a page gets the app's own HTML error page (its language, its
        # layout): the app is run, but every read of the body is refused.
        page = _wants_page(scope)
        if declared is not None and declared > limit and not page:
            await _too_large(scope, receive, send, limit)
            return
        if declared == 0 and not _chunked(scope):
            await self.app(scope, receive, send)
            return

        received = 0
        exceeded = False
        started = False
        refused_early = declared is not None and declared > limit

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:  # the app reads on after the refusal: the client is gone to it
                return {"type": "http.disconnect"}
            if refused_early:
                exceeded = True
                raise _Exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _Exceeded
            return message

        passing = False  # the app's own 413 page, let through

        async def guarded_send(message: Message) -> None:
            nonlocal started, passing
            if message["type"] == "http.response.start":
                passing = not exceeded or (page and message["status"] == 413)
                if passing:
                    started = True
                    message = _closing(message) if exceeded else message
            if passing:
                await send(message)
            # else: the app's answer to the cut-off body; the 413 below replaces it

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _Exceeded:
            """The body passed its limit while the app read it: answered with 413 below."""
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _too_large(scope, receive, send, limit)


def _wants_page(scope: Scope) -> bool:
    """A browser asking for a page (as :func:`portal.web.render.wants_html` decides)."""
    path = scope["path"]
    if path == "/api" or path.startswith("/api/") or path in ("/openapi.json", "/healthz"):
        return False
    accept = b",".join(v for k, v in scope.get("headers", ()) if k == b"accept")
    return b"text/html" in accept


def _closing(message: Message) -> Message:
    headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
    return {**message, "headers": [*headers, (b"connection", b"close")]}


def _content_length(scope: Scope) -> int | None:
    """The declared length; a malformed or repeated one counts as too large (-1 → max)."""
    values = [v for k, v in scope.get("headers", ()) if k == b"content-length"]
    if not values:
        return None
    if len(values) > 1 or not values[0].isdigit():
        return 1 << 62  # ambiguous framing: refuse rather than guess which one the app reads
    return int(values[0])


def _chunked(scope: Scope) -> bool:
    return any(k == b"transfer-encoding" for k, _ in scope.get("headers", ()))


_MESSAGE = {
    "ja": "送られたデータが大きすぎます。{mb}以下にしてから、やり直してください。",
    "en": "What you sent is too large: at most {mb} is accepted. Make it smaller and try again.",
}


def _megabytes(limit: int) -> str:
    if limit >= 1024 * 1024:
        return f"{limit / (1024 * 1024):.3g} MB"
    return f"{max(1, limit // 1024)} KB"


async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
    size = _megabytes(limit)
    message = {lang: text.format(mb=size) for lang, text in _MESSAGE.items()}
    # The client may still be sending: say so, so it stops rather than reuses the
    # connection (the server drops what it did not read).
    response = error_response(413, "request_too_large", message["ja"], message["en"],
                              {"max_bytes": limit}, headers={"Connection": "close"})
    await response(scope, receive, send)
