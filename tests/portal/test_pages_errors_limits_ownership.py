"""Page routes without a browser (ASGI): the HTML error page for non-API paths, the page
body limit, drafts and attachments kept to their owner, the dashboard's numbers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import Request
from starlette.exceptions import HTTPException as StarletteHTTPException

from portal.app import create_app
from portal.web import charts
from portal.web.render import MAX_PAGE_BODY, html_error
from services.queues import CaseSummary
from tests.support.pages import csrf_of, signed_in


def _app(stack):
    return stack.http._transport.app






async def test_unknown_page_is_html_for_browsers_and_json_for_the_api(stack):
    # The handler as proposed for portal/errors.py (lead-owned): HTML first, else JSON.
    app = create_app(lambda: None)  # type: ignore[arg-type,return-value]
    app.state.portal = _app(stack).state.portal
    original = app.exception_handlers[StarletteHTTPException]

    async def _http_error(request: Request, exc: StarletteHTTPException):
        return html_error(request, exc.status_code) or await original(request, exc)

    app.add_exception_handler(StarletteHTTPException, _http_error)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://portal"
    ) as http:
        page = await http.get("/no/such/page", headers={"Accept": "text/html"})
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "ページが見つかりません" in page.text and 'href="/procedures"' in page.text
        english = await http.get("/nothing?lang=en", headers={"Accept": "text/html"})
        assert "Page not found" in english.text
        api = await http.get("/api/no-such", headers={"Accept": "text/html"})
        assert api.json()["error"] == "not_found"
        curl = await http.get("/no/such/page", headers={"Accept": "*/*"})
        assert curl.json()["error"] == "not_found"


async def test_page_posts_over_the_limit_are_refused_before_parsing(stack):
    async with signed_in(stack, "demo-1") as http:
        first = await http.get("/apply/131016/disaster-certificate")
        refused = await http.post(
            "/apply/131016/disaster-certificate",
            content=b"x",
            headers={
                "Content-Type": "multipart/form-data; boundary=abc",
                "Content-Length": str(MAX_PAGE_BODY + 1),
            },
        )
        assert refused.status_code == 413 and "大きすぎます" in refused.text
        assert first.status_code == 200


async def test_drafts_and_attachments_stay_with_their_owner(stack):
    async with signed_in(stack, "demo-1") as yamada:
        page = await yamada.get("/apply/131016/disaster-certificate")
        saved = await yamada.post(
            "/apply/131016/disaster-certificate",
            data={
                "csrf_token": csrf_of(page.text),
                "_page": "_who",
                "_nav": "save",
                "_draft": '{"copies": 2}',
            },
        )
        assert saved.status_code == 303 and saved.headers["location"].endswith("?notice=saved")
        assert "一時保存しました" in (await yamada.get(saved.headers["location"])).text
        draft_id = re.search(r"/d/(drf-[0-9a-f]+)/", saved.headers["location"]).group(1)
    async with signed_in(stack, "demo-elderly") as suzuki:
        other = await suzuki.get(f"/apply/131016/disaster-certificate?draft={draft_id}")
        assert other.status_code == 404 and "下書きが見つかりません" in other.text
        listing = await suzuki.get("/my/drafts")
        assert draft_id not in listing.text
        page = await suzuki.get("/my/drafts")
        gone = await suzuki.post(
            f"/my/drafts/{draft_id}/delete", data={"csrf_token": csrf_of(page.text)}
        )
        assert gone.status_code == 303  # nothing of someone else's is deleted
    assert (
        _app(stack).state.portal.drafts.get(
            stack.cases.applicant_key(
                stack.http._transport.app.state.portal.verifier.verify(
                    stack.issuer.issue_resident("demo-1", "山田 太郎")
                )
            ),
            draft_id,
        )
        is not None
    )


def _row(
    status: str,
    started: datetime,
    due: datetime | None = None,
    stage: str = "intake",
    closed: datetime | None = None,
) -> CaseSummary:
    row = CaseSummary(
        id="app-x",
        procedure="p",
        municipality="131016",
        stage=stage,
        status=status,
        assignee=None,
        due_at=due,
        started_at=started,
    )
    if closed is not None:
        object.__setattr__(row, "__dict__", {**row.__dict__})
        row.__dict__["closed_at"] = closed
    return row


def test_dashboard_numbers_follow_the_legal_period():
    now = datetime(2026, 8, 20, 3, 0, tzinfo=UTC)  # 12:00 in Japan
    rows = [
        _row("in_progress", now - timedelta(days=2), now + timedelta(days=28)),  # 7 %
        _row("in_progress", now - timedelta(days=20), now + timedelta(days=10)),  # 67 %
        # Filed 40 days ago, but its clock paused for a correction: 5 days left -> 83 %.
        _row("awaiting_correction", now - timedelta(days=40), now + timedelta(days=5), "x"),
        _row("in_progress", now - timedelta(days=45), now - timedelta(days=15)),  # over
        _row("completed", now - timedelta(days=23), closed=now - timedelta(days=3)),  # 20 d
        _row("rejected", now - timedelta(days=100)),  # no close time known: not counted
    ]
    stats = charts.case_statistics(rows, {"p": 30}, now=now)
    assert stats.total == 6
    assert stats.open_bands == [1, 1, 1, 1]
    assert stats.closed_bands == [0, 1, 0, 0] and stats.median_closed_days == 20.0
    assert stats.per_stage == [("intake", 3), ("x", 1)]
    assert len(stats.per_day) == 14 and stats.per_day[-1][1] == 0
    assert dict(stats.per_day)[stats.per_day[-3][0]] == 1  # the one filed 2 days ago
    svg = str(charts.bar_chart([("7月5日", 3), ("<b>", 0)], label="件数"))
    assert 'role="img"' in svg and "<title>件数</title>" in svg and "&lt;b&gt;" in svg
