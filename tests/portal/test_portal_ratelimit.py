"""Rate limits: 429 with Retry-After per client, others unaffected, buckets refill."""

from __future__ import annotations

import json

import httpx
import pytest

from identity.devissuer import DevIssuer
from identity.verify import TokenVerifier
from portal.ratelimit import Limiter, RateLimitMiddleware, Rule


async def test_a_window_allows_its_limit_then_says_how_long_to_wait():
    limiter = Limiter("memory://")
    rule = Rule("POST", "/x", per_minute=2)
    assert await limiter.take(rule.item, rule.name, "a") == 0
    assert await limiter.take(rule.item, rule.name, "a") == 0
    wait = await limiter.take(rule.item, rule.name, "a")
    assert 1 <= wait <= 60
    assert await limiter.take(rule.item, rule.name, "b") == 0, "another client has its own"


async def test_filing_too_fast_gets_429_with_retry_after(stack, catalog):
    examples = catalog.get("disaster-certificate").directory / "examples"
    body = {
        "procedure": "disaster-certificate",
        "municipality": "131016",
        "data": json.loads((examples / "valid-basic.json").read_text(encoding="utf-8")),
    }
    resident = stack.resident("fast-1", "早川 一")
    codes = [
        (await stack.http.post("/api/applications", json=body, headers=resident)) for _ in range(11)
    ]
    assert [r.status_code for r in codes[:10]].count(429) == 0
    limited = codes[10]
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"] == "rate_limited" and limited.json()["message"]["ja"]
    other = await stack.http.post(
        "/api/applications", json=body, headers=stack.resident("calm-1", "静 かな")
    )
    assert other.status_code == 201


def test_filing_is_limited_but_a_caseworkers_actions_are_not():
    from portal.ratelimit import DEFAULT_RULES

    filing = next(r for r in DEFAULT_RULES if r.path_prefix == "/api/applications")
    assert filing.matches("POST", "/api/applications")
    assert not filing.matches("POST", "/api/applications/app-1/actions")
    assert not filing.matches("GET", "/api/applications")


@pytest.fixture
def issuer(tmp_path) -> DevIssuer:
    return DevIssuer.load_or_create(tmp_path / "keys")


def _limited(app, issuer: DevIssuer) -> RateLimitMiddleware:
    verifier = TokenVerifier(issuer.trusted_issuers())
    return RateLimitMiddleware(app, verifier_of=lambda scope: verifier)


async def test_the_middleware_limits_filing_only_not_the_actions_below_it(issuer):
    """Through the middleware itself: a busy caseworker's 40 actions all pass, while the
    same person's eleventh filing in a minute is refused."""

    async def ok(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = _limited(ok, issuer)
    token = issuer.issue_caseworker("cw-1", ["131016"], ["reviewer"])
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as http:
        actions = [
            (await http.post(f"/api/applications/app-{i}/actions", headers=headers)).status_code
            for i in range(40)
        ]
        filings = [
            (await http.post("/api/applications", headers=headers)).status_code for _ in range(11)
        ]
    assert actions == [200] * 40
    assert filings == [200] * 10 + [429]


async def test_the_web_form_is_limited_at_its_submit_not_its_page_turns(issuer):
    async def ok(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = _limited(ok, issuer)
    cookie = {"Cookie": f"madoguchi_session={issuer.issue_resident('resident-1', '住民 一')}"}
    form = "/apply/131016/disaster-certificate"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://portal") as http:
        pages = [(await http.post(form, headers=cookie)).status_code for _ in range(30)]
        submits = [
            (await http.post(f"{form}/submit", headers=cookie)).status_code for _ in range(11)
        ]
    assert pages == [200] * 30
    assert submits == [200] * 10 + [429]
