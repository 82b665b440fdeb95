"""The authorization matrix: every route of the app, who may use it, and how to call it
as each principal."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.security import World, png

PRINCIPALS = ("anonymous", "other", "proxy", "business", "elsewhere", "own", "staff")


RESIDENTS = {"own", "other", "proxy"}


APPLICANTS = RESIDENTS | {"business"}


SIGNED_IN = APPLICANTS | {"staff", "elsewhere"}


CASEWORKERS = {"staff", "elsewhere"}


EVERYONE = set(PRINCIPALS)


CSRF = "k" * 43


@dataclass
class Row:
    allowed: set[str]
    path: str = ""  # the concrete path, ``{...}`` filled from the world below
    kwargs: dict[str, Any] = field(default_factory=dict)
    page: bool = False  # authenticated by the session cookie, not a bearer token
    order: int = 0  # destructive rows run last
    per_principal: dict[str, dict[str, Any]] = field(default_factory=dict)  # kwargs overrides
    #: Decides "refused" from the store when the answer alone cannot tell (a no-op that
    #: answers like a success).
    refused_when: Any = None


def table(w: World) -> dict[tuple[str, str], Row]:
    app, doc, att = w.application, w.document, w.attachment
    later = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    campaign = {
        "procedure": "childcare-status",
        "municipality": "131016",
        "period": "2099",
        "opens_at": later,
        "closes_at": later,
        "targets": [],
    }
    photo = {
        "files": {"file": ("p.png", png(), "image/png")},
        "params": {"procedure": "disaster-certificate", "field": "/photos"},
    }
    return {
        # -- framework and public -------------------------------------------------------
        ("GET", "/openapi.json"): Row(EVERYONE),
        ("GET", "/docs"): Row(EVERYONE),
        ("GET", "/docs/oauth2-redirect"): Row(EVERYONE),
        ("GET", "/redoc"): Row(EVERYONE),
        ("GET", "/healthz"): Row(EVERYONE),
        ("GET", "/api/procedures"): Row(EVERYONE),
        ("GET", "/api/procedures/{procedure_id}"): Row(
            EVERYONE, "/api/procedures/disaster-certificate"
        ),
        ("GET", "/api/push/vapid-public-key"): Row(EVERYONE),  # 404 push_disabled is public
        ("GET", "/verify"): Row(EVERYONE),
        ("GET", "/verify/{document_id}"): Row(EVERYONE, f"/verify/{doc}"),
        ("POST", "/verify"): Row(EVERYONE, kwargs={"files": {"file": ("x.pdf", b"%PDF-1.7")}}),
        ("POST", "/api/verify"): Row(EVERYONE, kwargs={"files": {"file": ("x.pdf", b"%PDF")}}),
        ("GET", "/api/documents/{document_id}/status"): Row(
            EVERYONE, f"/api/documents/{doc}/status"
        ),
        ("POST", "/tsa"): Row(EVERYONE, kwargs={"content": b"x"}),  # 415: reached the TSA
        ("GET", "/sw.js"): Row(EVERYONE),
        ("GET", "/"): Row(EVERYONE, page=True),
        ("GET", "/procedures"): Row(EVERYONE, page=True),
        ("GET", "/statistics"): Row(EVERYONE, page=True),
        ("GET", "/statistics/data.csv"): Row(EVERYONE),
        ("GET", "/statistics/data.json"): Row(EVERYONE),
        ("GET", "/statistics/dataset.json"): Row(EVERYONE),
        ("GET", "/static/{name:path}"): Row(EVERYONE, "/static/site.css", page=True),
        ("GET", "/login"): Row(EVERYONE, page=True),
        ("POST", "/login"): Row(EVERYONE, kwargs={"data": {"persona": "demo-1"}}, page=True),
        # Last: signing out ends the principal's session (its token) on the server.
        ("POST", "/logout"): Row(EVERYONE, page=True, order=9),
        # -- applications --------------------------------------------------------------
        ("POST", "/api/applications"): Row(
            RESIDENTS,
            kwargs={
                "json": {"procedure": "disaster-certificate", "municipality": "131016", "data": {}}
            },
        ),
        ("GET", "/api/applications"): Row(SIGNED_IN),
        ("GET", "/api/applications/{application_id}"): Row(
            {"own", "staff"}, f"/api/applications/{app}"
        ),
        ("POST", "/api/applications/{application_id}/actions"): Row(
            {"own", "staff"},
            f"/api/applications/{app}/actions",
            # An action each may try on this case, impossible now: 422/409 once visible.
            {"json": {"action": "request_resurvey"}},
            # The issued case has no caseworker action left: staff accept the proxy's case.
            per_principal={
                who: {
                    "path": f"/api/applications/{w.proxy_application}/actions",
                    "json": {"action": "accept"},
                }
                for who in ("staff", "elsewhere")
            },
        ),
        ("GET", "/api/documents/{document_id}"): Row({"own", "staff"}, f"/api/documents/{doc}"),
        ("POST", "/api/documents/{document_id}/revoke"): Row(
            {"staff"}, f"/api/documents/{doc}/revoke", {"json": {"reason": "matrix test"}}, order=2
        ),
        # Four eyes: the one who asked (staff, above) cannot confirm, so no one here can.
        ("POST", "/api/documents/{document_id}/revoke/confirm"): Row(
            set(), f"/api/documents/{doc}/revoke/confirm", order=3
        ),
        ("GET", "/api/inbox"): Row(SIGNED_IN),
        ("GET", "/api/queue"): Row(CASEWORKERS),
        ("GET", "/api/queue/departments"): Row(
            {"staff"}, kwargs={"params": {"municipality": "131016"}}),
        # -- attachments and drafts (residents' own) -----------------------------------
        ("POST", "/api/attachments"): Row(RESIDENTS, kwargs=photo),
        ("GET", "/api/attachments/{attachment_id}"): Row({"own"}, f"/api/attachments/{att}"),
        ("POST", "/api/drafts"): Row(
            RESIDENTS,
            kwargs={"json": {"procedure": "disaster-certificate", "municipality": "131016"}},
        ),
        ("GET", "/api/drafts"): Row(RESIDENTS),
        ("GET", "/api/drafts/{draft_id}"): Row({"own"}, f"/api/drafts/{w.draft}"),
        ("PUT", "/api/drafts/{draft_id}"): Row(
            {"own"}, f"/api/drafts/{w.draft}", {"json": {"data": {}}}
        ),
        ("POST", "/api/drafts/{draft_id}/submit"): Row(
            {"own"}, f"/api/drafts/{w.draft}/submit"
        ),  # 422: the draft is empty
        ("DELETE", "/api/drafts/{draft_id}"): Row({"own"}, f"/api/drafts/{w.draft}", order=1),
        # -- notices --------------------------------------------------------------------
        ("GET", "/api/preferences"): Row(RESIDENTS),
        ("PUT", "/api/preferences"): Row(RESIDENTS, kwargs={"json": {"lang": "ja"}}),
        ("GET", "/api/push-subscriptions"): Row(RESIDENTS),
        ("POST", "/api/push-subscriptions"): Row(
            RESIDENTS,
            kwargs={
                "json": {"endpoint": "https://push.example/x", "keys": {"p256dh": "a", "auth": "b"}}
            },
        ),
        ("DELETE", "/api/push-subscriptions"): Row(
            RESIDENTS, kwargs={"json": {"endpoint": "https://push.example/x"}}
        ),
        # No subscription exists (push is off in tests): a 404 for everyone.
        ("DELETE", "/api/push-subscriptions/{subscription_id}"): Row(
            set(), "/api/push-subscriptions/sub-none"
        ),
        ("GET", "/notifications"): Row(RESIDENTS, page=True),
        ("POST", "/notifications"): Row(RESIDENTS, kwargs={"data": {"lang": "ja"}}, page=True),
        # -- administration -------------------------------------------------------------
        ("POST", "/api/campaigns"): Row({"staff"}, kwargs={"json": campaign}),  # 422 period
        ("GET", "/api/campaigns/{campaign_id}"): Row(
            {"staff"}, "/api/campaigns/" + w.extra["campaign"]
        ),
        ("POST", "/api/catalog/reload"): Row(CASEWORKERS),  # installation-wide: any admin
        ("GET", "/api/catalog/problems"): Row(CASEWORKERS),
        # -- resident pages --------------------------------------------------------------
        ("GET", "/apply"): Row(RESIDENTS, page=True),
        ("GET", "/apply/start"): Row(
            RESIDENTS, "/apply/start?municipality=131016&procedure=disaster-certificate", page=True
        ),
        ("GET", "/apply/{municipality_code}/{procedure_id}"): Row(
            RESIDENTS, "/apply/131016/disaster-certificate", page=True
        ),
        ("POST", "/apply/{municipality_code}/{procedure_id}"): Row(
            RESIDENTS, "/apply/131016/disaster-certificate", page=True
        ),
        ("POST", "/apply/{municipality_code}/{procedure_id}/submit"): Row(
            RESIDENTS, "/apply/131016/disaster-certificate/submit", page=True
        ),
        ("GET", "/my"): Row(RESIDENTS, page=True),
        ("GET", "/my/inbox"): Row(RESIDENTS, page=True),
        ("GET", "/my/drafts"): Row(RESIDENTS, page=True),
        ("GET", "/apply/{municipality_code}/{procedure_id}/d/{draft_id}/{page_id}"): Row(
            {"own"}, f"/apply/131016/disaster-certificate/d/{w.draft}/applicant", page=True
        ),
        ("POST", "/apply/{municipality_code}/{procedure_id}/d/{draft_id}/{page_id}"): Row(
            {"own"}, f"/apply/131016/disaster-certificate/d/{w.draft}/applicant", page=True
        ),
        ("POST", "/apply/{municipality_code}/{procedure_id}/d/{draft_id}/_submit"): Row(
            {"own"}, f"/apply/131016/disaster-certificate/d/{w.draft}/_submit", page=True
        ),
        ("GET", "/prefs/text-size"): Row(EVERYONE, "/prefs/text-size?size=large", page=True),
        ("GET", "/assisted"): Row(EVERYONE, page=True),
        # The counter pages (#19): staff with the role ``counter``; a session and its
        # filing are "staff"'s own (another's answers not_found).
        ("GET", "/counter"): Row(CASEWORKERS, page=True),
        ("POST", "/counter/sessions"): Row(CASEWORKERS, page=True),
        ("GET", "/counter/s/{session_id}"): Row(
            {"staff"}, f"/counter/s/{w.extra['counter_session']}", page=True),
        # Closing is checked on a session nobody has (the API row closes the real one).
        ("POST", "/counter/s/{session_id}/close"): Row(set(), "/counter/s/s1/close", page=True),
        ("GET", "/counter/s/{session_id}/apply/{procedure_id}"): Row(
            {"staff"}, f"/counter/s/{w.extra['counter_session']}/apply/disaster-certificate",
            page=True),
        ("POST", "/counter/s/{session_id}/apply/{procedure_id}"): Row(
            {"staff"}, f"/counter/s/{w.extra['counter_session']}/apply/disaster-certificate",
            page=True),
        ("GET", "/counter/s/{session_id}/f/{filing_id}"): Row(
            {"staff"}, f"/counter/s/{w.extra['counter_session']}/f/{w.extra['counter_filing']}",
            page=True),
        ("POST", "/counter/s/{session_id}/f/{filing_id}/confirm"): Row(
            {"staff"},
            f"/counter/s/{w.extra['counter_session']}/f/{w.extra['counter_filing']}/confirm",
            page=True, order=1),
        ("GET", "/counter/s/{session_id}/cases/{application_id}/receipt"): Row(
            {"staff"}, f"/counter/s/{w.extra['counter_session']}/cases/{app}/receipt",
            page=True),
        # A life event at the counter: the questionnaire, the offers, the bundle's page (on
        # a bundle nobody's session filed: not found for everyone).
        ("GET", "/counter/s/{session_id}/life-events/{event}"): Row(
            {"staff"}, f"/counter/s/{w.extra['counter_session']}/life-events/disaster",
            page=True),
        ("POST", "/counter/s/{session_id}/life-events/{event}"): Row(
            {"staff"}, f"/counter/s/{w.extra['counter_session']}/life-events/disaster",
            page=True),
        ("POST", "/counter/s/{session_id}/life-events/{event}/prepare"): Row(
            {"staff"}, f"/counter/s/{w.extra['counter_session']}/life-events/disaster/prepare",
            page=True),
        ("GET", "/counter/s/{session_id}/bundles/{bundle_id}"): Row(
            set(), f"/counter/s/{w.extra['counter_session']}/bundles/lev-nobody", page=True),
        ("GET", "/prefs/assisted"): Row(EVERYONE, "/prefs/assisted?mode=on&helper=DS-1",
                                        page=True),
        ("POST", "/my/drafts/{draft_id}/delete"): Row(
            {"own"},
            f"/my/drafts/{w.extra['second_draft']}/delete",
            page=True,
            order=1,
            refused_when=draft_survives,
        ),
        ("GET", "/my/applications/{application_id}"): Row(
            {"own"}, f"/my/applications/{app}", page=True
        ),
        ("GET", "/my/applications/{application_id}/receipt"): Row(
            {"own"}, f"/my/applications/{app}/receipt", page=True
        ),
        ("GET", "/my/applications/{application_id}/correction"): Row(
            {"own"}, f"/my/applications/{app}/correction", page=True
        ),
        ("POST", "/my/applications/{application_id}/correction"): Row(
            {"own"}, f"/my/applications/{app}/correction", page=True
        ),
        ("POST", "/my/applications/{application_id}/correction/submit"): Row(
            {"own"}, f"/my/applications/{app}/correction/submit", page=True
        ),
        ("GET", "/my/applications/{application_id}/withdraw"): Row(
            {"own"}, f"/my/applications/{app}/withdraw", page=True
        ),
        ("POST", "/my/applications/{application_id}/withdraw"): Row(
            {"own"}, f"/my/applications/{app}/withdraw", page=True, order=3
        ),
        ("GET", "/my/applications/{application_id}/act/{action_id}"): Row(
            {"own"}, f"/my/applications/{app}/act/request_resurvey", page=True
        ),
        ("POST", "/my/applications/{application_id}/act/{action_id}"): Row(
            {"own"}, f"/my/applications/{app}/act/request_resurvey", page=True
        ),  # 422
        ("GET", "/my/documents/{document_id}"): Row(
            {"own", "staff"}, f"/my/documents/{doc}", page=True
        ),
        # -- caseworker pages --------------------------------------------------------------
        ("GET", "/staff"): Row(CASEWORKERS, page=True),
        ("GET", "/staff/dashboard"): Row(CASEWORKERS, page=True),
        ("GET", "/staff/inbox"): Row(CASEWORKERS, page=True),
        ("GET", "/staff/cases/{application_id}"): Row({"staff"}, f"/staff/cases/{app}", page=True),
        ("GET", "/staff/cases/{application_id}/attachments/{attachment_id}"): Row(
            {"staff"}, f"/staff/cases/{app}/attachments/{att}", page=True
        ),
        ("POST", "/staff/cases/{application_id}/confirm"): Row(
            {"staff"}, f"/staff/cases/{app}/confirm", {"data": {"action": "x"}}, page=True
        ),
        ("POST", "/staff/cases/{application_id}/act"): Row(
            {"staff"}, f"/staff/cases/{app}/act", {"data": {"action": "x"}}, page=True
        ),
        ("GET", "/staff/cases/{application_id}/documents/{document_id}/revoke"): Row(
            {"staff"}, f"/staff/cases/{app}/documents/{doc}/revoke", page=True
        ),
        ("POST", "/staff/cases/{application_id}/documents/{document_id}/revoke"): Row(
            {"staff"},
            f"/staff/cases/{app}/documents/{doc}/revoke",
            {"data": {"reason": ""}},
            page=True,
        ),
        ("GET", "/staff/cases/{application_id}/documents/{document_id}/revoke/confirm"): Row(
            {"staff"}, f"/staff/cases/{app}/documents/{doc}/revoke/confirm", page=True
        ),
        # Before anyone asked: staff is told there is nothing to confirm (409), not refused.
        ("POST", "/staff/cases/{application_id}/documents/{document_id}/revoke/confirm"): Row(
            {"staff"}, f"/staff/cases/{app}/documents/{doc}/revoke/confirm", page=True
        ),
        # -- life events (h-service): residents file for themselves; a bundle nobody filed
        # is found by nobody; the ledger is its municipality's staff's --------------------
        **life_event_rows(w),
        # -- counter filing (#19): the counter staff's own session only ---------------------
        **counter_rows(w),
    }


def counter_rows(w: World) -> dict[tuple[str, str], Row]:
    session = f"/api/counter/sessions/{w.extra['counter_session']}"
    filing = f"{session}/filings/{w.extra['counter_filing']}"
    resident = {"name": "窓口 花子", "birthdate": "1950-01-01",
                "address": "東京都千代田区九段南1-2-1"}
    opened = {"json": {"municipality": "131016", "counter_id": "sec-2", "method": "card_face",
                       "resident": resident}}
    data = {"procedure_id": "disaster-certificate", "data": {}}
    return {
        ("POST", "/api/counter/registry/lookups"): Row(
            {"staff"}, kwargs={"json": {"municipality": "131016", "resident": resident}}),
        ("POST", "/api/counter/sessions"): Row({"staff"}, kwargs=opened),
        ("GET", "/api/counter/sessions/{session_id}"): Row({"staff"}, session),
        ("POST", "/api/counter/sessions/{session_id}/filings"): Row(
            {"staff"}, f"{session}/filings", {"json": data}),
        ("POST", "/api/counter/sessions/{session_id}/life-events/{life_event_id}"): Row(
            {"staff"}, f"{session}/life-events/disaster", {"json": {"answers": {}}}),
        ("GET", "/api/counter/sessions/{session_id}/filings/{filing_id}"): Row(
            {"staff"}, filing),
        ("POST", "/api/counter/sessions/{session_id}/filings/{filing_id}/confirm"): Row(
            {"staff"}, f"{filing}/confirm"),
        ("DELETE", "/api/counter/sessions/{session_id}"): Row({"staff"}, session, order=9),
        ("POST", "/api/counter/helper-codes"): Row(
            {"staff"}, kwargs={"json": {"municipality": "131016"}}),
    }


def life_event_rows(w: World) -> dict[tuple[str, str], Row]:
    answers = {"json": {"municipality": "131016", "answers": {}}}
    ledger = {"params": {"municipality": "131016", "event": "2026-typhoon-15"}}
    nobody = "lev-" + "a" * 26
    return {
        ("GET", "/api/life-events"): Row(EVERYONE, kwargs={"params": {"municipality": "131016"}}),
        ("GET", "/api/life-events/{life_event_id}/questionnaire"): Row(
            RESIDENTS, "/api/life-events/disaster/questionnaire",
            {"params": {"municipality": "131016"}}),
        ("POST", "/api/life-events/{life_event_id}/offers"): Row(
            RESIDENTS, "/api/life-events/disaster/offers", answers),
        ("POST", "/api/life-events/{life_event_id}/bundles"): Row(
            RESIDENTS, "/api/life-events/disaster/bundles", answers),
        ("GET", "/api/bundles"): Row(SIGNED_IN),
        ("GET", "/api/bundles/{bundle_id}"): Row(set(), f"/api/bundles/{nobody}"),
        ("POST", "/api/bundles/{bundle_id}/withdraw"): Row(
            set(), f"/api/bundles/{nobody}/withdraw", {"json": {"procedure": None}}),
        ("GET", "/api/cases/{application_id}/bundle"): Row(
            {"own", "staff"}, f"/api/cases/{w.application}/bundle"),
        ("GET", "/api/ledger"): Row({"staff"}, kwargs=ledger),
        ("GET", "/api/ledger.csv"): Row({"staff"}, kwargs=ledger),
        # -- the pages of life events: a resident's own; a caseworker elsewhere is shown
        # the ledger of their own events, never this one (the CSV: not found) ----------
        ("GET", "/life-events"): Row(RESIDENTS, page=True),
        ("GET", "/life-events/start"): Row(
            RESIDENTS, "/life-events/start?event=disaster&municipality=131016", page=True),
        ("GET", "/life-events/{municipality}/{event}"): Row(
            RESIDENTS, "/life-events/131016/disaster", page=True),
        ("POST", "/life-events/{municipality}/{event}"): Row(
            RESIDENTS, "/life-events/131016/disaster", page=True),
        ("POST", "/life-events/{municipality}/{event}/submit"): Row(
            RESIDENTS, "/life-events/131016/disaster/submit", page=True),
        ("GET", "/my/bundles/{bundle_id}"): Row(set(), f"/my/bundles/{nobody}", page=True),
        ("GET", "/my/bundles/{bundle_id}/withdraw"): Row(
            set(), f"/my/bundles/{nobody}/withdraw", page=True),
        ("POST", "/my/bundles/{bundle_id}/withdraw"): Row(
            set(), f"/my/bundles/{nobody}/withdraw", page=True),
        ("GET", "/staff/ledger"): Row(CASEWORKERS, "/staff/ledger", kwargs=ledger, page=True),
        ("GET", "/staff/ledger.csv"): Row(
            {"staff"}, "/staff/ledger.csv", kwargs=ledger, page=True),
    }


async def draft_survives(w: World, reply) -> bool:
    """Someone else's delete answers like a success but must leave the draft alone."""
    found = await w.stack.http.get(
        f"/api/drafts/{w.extra['second_draft']}", headers=w.people["own"]
    )
    return found.status_code == 200


def request_for(w: World, row: Row, principal: str) -> dict[str, Any]:
    kwargs = {
        k: (dict(v) if isinstance(v, dict) else v)
        for k, v in row.per_principal.get(principal, row.kwargs).items()
    }
    headers: dict[str, str] = {}
    if row.page:
        cookies = [f"madoguchi_csrf={CSRF}"]
        if principal != "anonymous":
            cookies.append(f"madoguchi_session={w.tokens[principal]}")
        headers["Cookie"] = "; ".join(cookies)
        if "files" not in kwargs and "json" not in kwargs:
            kwargs["data"] = {**kwargs.get("data", {}), "csrf_token": CSRF}
    else:
        headers.update(w.people[principal])
    kwargs["headers"] = headers
    return kwargs


def refused_answer(reply) -> bool:
    if reply.status_code in (401, 403):
        return True
    if 300 <= reply.status_code < 400:
        return reply.headers.get("location", "").startswith("/login")
    if reply.status_code == 404:
        if "json" in reply.headers.get("content-type", ""):
            return reply.json().get("error") == "not_found"
        return True  # a page: the resource is not shown
    return False
