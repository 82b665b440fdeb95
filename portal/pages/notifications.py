"""The "通知の設定 / Notification settings" page, and the service worker at ``/sw.js``.

The preferences form works without JavaScript (POST, then redirect); ``/static/push.js``
adds the Web Push control (subscribe / unsubscribe in this browser). The resident is the
one of the ``Authorization`` header if there is one, else of the ``madoguchi_session``
cookie; without either, the sign-in page.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import ValidationError

from identity.errors import IdentityError
from identity.principals import Resident
from portal.deps import application_of, context_of, signed_in_resident
from portal.web import session
from portal.web.render import page, redirect, render
from records.preferences import NoticePreferences

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).resolve().parents[1] / "static"

#: The page's own texts (ja, en).
TEXT: dict[str, tuple[str, str]] = {
    "title": ("通知の設定", "Notification settings"),
    "intro": (
        "申請の状況が変わったときのお知らせを、どこで受け取るかを選べます。"
        "お知らせは、いつでも「お知らせ」の画面で見られます。",
        "Choose where you hear about changes to your applications. Every notice is "
        "always in your inbox as well.",
    ),
    "saved": ("設定を保存しました。", "Your settings have been saved."),
    "errors": ("入力内容を確認してください。", "Please check your answers."),
    "lang.legend": ("お知らせの言語", "Language of notices"),
    "lang.ja": ("日本語", "Japanese (日本語)"),
    "lang.en": ("英語（English）", "English"),
    "email.legend": ("メール", "E-mail"),
    "email.enabled": ("お知らせをメールでも受け取る", "Also send notices to me by e-mail"),
    "email.address": ("メールアドレス", "E-mail address"),
    "email.hint": ("例：taro@example.jp", "For example: taro@example.jp"),
    "email.invalid": (
        "メールアドレスの形式が正しくありません。",
        "Enter an e-mail address like taro@example.jp.",
    ),
    "email.missing": (
        "メールで受け取るときは、メールアドレスを入力してください。",
        "Enter an e-mail address to receive notices by e-mail.",
    ),
    "push.legend": ("ブラウザへの通知（プッシュ通知）", "Browser notifications (push)"),
    "push.enabled": (
        "登録したブラウザにプッシュ通知を送る",
        "Send push notifications to the browsers I turned them on in",
    ),
    "save": ("保存する", "Save"),
    "push.heading": ("このブラウザで通知を受け取る", "Notifications in this browser"),
    "push.noscript": (
        "このブラウザで通知を受け取るには、JavaScript を有効にしてください。"
        "メールとお知らせの設定は、JavaScript がなくても使えます。",
        "To get notifications in this browser, turn on JavaScript. E-mail and "
        "inbox settings work without it.",
    ),
    "push.subscribe": ("このブラウザで受け取る", "Turn on in this browser"),
    "push.unsubscribe": ("このブラウザでの受け取りをやめる", "Turn off in this browser"),
    "push.devices": ("通知を受け取るブラウザの数", "Browsers receiving notifications"),
    "js.working": ("設定しています…", "Setting up…"),
    "js.on": ("このブラウザで通知を受け取ります。", "This browser will receive notifications."),
    "js.off": (
        "このブラウザでは通知を受け取りません。",
        "This browser will not receive notifications.",
    ),
    "js.denied": (
        "ブラウザの設定で通知が許可されていません。",
        "Notifications are blocked in this browser's settings.",
    ),
    "js.unsupported": (
        "このブラウザは通知に対応していません。",
        "This browser does not support notifications.",
    ),
    "js.unreachable": (
        "ブラウザの通知サービスにつながりませんでした。時間をおいて、もう一度お試しください。",
        "Could not reach the browser's notification service. Please try again later.",
    ),
    "js.failed": (
        "登録できませんでした。ページを開き直して、もう一度お試しください。",
        "Could not turn notifications on. Reload the page and try again.",
    ),
}


def _resident(request: Request) -> Resident:
    """The signed-in resident (header, else cookie), or :class:`session.LoginRequired`."""
    try:
        return signed_in_resident(request, context_of(request), _bearer_credentials(request)
                                  ).resident
    except IdentityError:
        raise session.LoginRequired(expired=session.SESSION_COOKIE in request.cookies) from None


def _bearer_credentials(request: Request) -> HTTPAuthorizationCredentials | None:
    scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    if scheme.lower() == "bearer" and token:
        return HTTPAuthorizationCredentials(scheme=scheme, credentials=token)
    return None


def _render(
    request: Request,
    resident: Resident,
    prefs: NoticePreferences,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    saved: bool = False,
) -> Response:
    notices = application_of(request).notices
    return render(
        request,
        "notifications/page.html",
        status=status,
        principal=resident,
        txt=dict(TEXT),
        prefs=prefs,
        errors=errors or {},
        saved=saved,
        push_available=notices.push_available(),
        devices=len(notices.subscriptions(resident)),
    )


@router.get("/notifications")
@page
async def notifications(request: Request, saved: str | None = None) -> Response:
    """The notification settings of the signed-in resident."""
    resident = _resident(request)
    prefs = application_of(request).notices.preferences(resident)
    return _render(request, resident, prefs, saved=bool(saved))


@router.post("/notifications")
@page
async def save_notifications(request: Request) -> Response:
    """Save the preferences form (works without JavaScript)."""
    resident = _resident(request)
    form = await request.form()
    values = {
        "lang": form.get("lang") or "ja",
        "email": str(form.get("email") or ""),
        "email_enabled": form.get("email_enabled") == "on",
        "push_enabled": form.get("push_enabled") == "on",
    }
    try:
        prefs = NoticePreferences.model_validate(values)
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            if not err["loc"]:  # the model-level rule: e-mail on without an address
                errors["email"] = "email.missing"
            elif err["loc"][0] == "email":
                errors["email"] = "email.invalid"
            # a forged language value falls back to Japanese below
        shown = NoticePreferences.model_construct(
            **{**values, "lang": values["lang"] if values["lang"] in ("ja", "en") else "ja"}
        )
        return _render(request, resident, shown, status=422, errors=errors)
    application_of(request).notices.save_preferences(resident, prefs)
    return redirect("/notifications?saved=1")


@router.get("/sw.js")
async def service_worker() -> Response:
    """The service worker, served from the root so that its scope is the whole site."""
    return FileResponse(
        STATIC / "sw.js",
        media_type="text/javascript; charset=utf-8",
        headers={
            "Cache-Control": "no-cache",
            "Service-Worker-Allowed": "/",
            "X-Content-Type-Options": "nosniff",
        },
    )
