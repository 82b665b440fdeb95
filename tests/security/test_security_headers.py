"""Security headers on every answer, the API docs without third-party scripts, and the
language link of any page staying on this site (#15)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from portal.headers import CSP
from portal.web import render as render_module
from portal.web.wizard import WHO
from tests.support.authz import PRINCIPALS, Row, request_for, table
from tests.support.security import serve

TEMPLATES = Path(render_module.TEMPLATES)
#: Templates that are parts of pages, never a page of their own.
PARTS = {"base.html", "macros.html"}
#: Pages of a life event reached only after a questionnaire is answered or a bundle filed
#: (the route rows above check their answers' headers on the same routes): the walk of
#: tests/portal/test_pages_life_events.py and tests/browser/test_browser_life_events.py
#: renders them, through the same middleware.
LIFE_EVENT_FLOW = {"resident/bundle.html", "resident/bundle_withdraw.html",
                   "resident/life_event_check.html", "resident/life_event_existing.html",
                   "resident/life_event_offers.html"}
#: Counter pages of a life event reached only after its questionnaire is keyed or its
#: bundle filed: tests/browser/test_browser_counter_bereavement.py renders them and checks
#: that their answers carry the same policy (:data:`portal.headers.CSP`).
COUNTER_LIFE_EVENT_FLOW = {"counter/life_event_offers.html", "counter/bundle.html"}


def _page_templates() -> set[str]:
    return {p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")} - PARTS


#: The public verify page (portal/api/routes/verify.py) sends a policy of its own: no
#: source at all but its inline stylesheet, stricter than :data:`CSP` for scripts.
VERIFY_CSP = ("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
              "base-uri 'none'; frame-ancestors 'none'")


def _strict(headers: httpx.Headers) -> None:
    policy = headers.get("content-security-policy")
    if policy == VERIFY_CSP:
        assert "script-src" not in policy
    else:
        assert policy == CSP, policy
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
        assert directives["object-src"] == "'none'"
    assert "frame-ancestors 'none'" in policy
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert "camera=()" in headers["permissions-policy"]


async def test_every_page_template_and_every_route_answers_with_the_csp(world, monkeypatch):
    """Walks every route of the matrix with every principal (as the authorization test
    does) and records which templates were rendered: each answer carries the strict
    policy, and every page template was among them."""
    env = render_module.environment()
    rendered: set[str] = set()
    original = env.get_template

    def recording(name, *args, **kwargs):
        rendered.add(name)
        return original(name, *args, **kwargs)

    monkeypatch.setattr(env, "get_template", recording)
    w = world
    later = datetime.now(UTC) + timedelta(days=30)
    opened = await w.stack.http.post("/api/campaigns", headers=w.people["staff"], json={
        "procedure": "childcare-status", "municipality": "131016", "period": "2097",
        "opens_at": later.isoformat(), "closes_at": (later + timedelta(days=30)).isoformat(),
        "targets": []})
    assert opened.status_code == 201, opened.text
    w.extra["campaign"] = opened.json()["campaign_id"]
    w.stack.started.append(opened.json()["campaign_id"])
    rows = table(w)
    answers = 0

    def as_page(principal: str, **kwargs):
        return request_for(w, Row(set(), page=True, kwargs=kwargs), principal)

    def get_as(principal: str):
        return {k: v for k, v in as_page(principal).items() if k != "data"}

    # Pages only a flow reaches, before the walk signs everyone out.
    apply = "/apply/131016/disaster-certificate"
    flows = [
        ("GET", f"/my/applications/{w.proxy_application}/withdraw", as_page("proxy")),
        ("POST", f"/staff/cases/{w.proxy_application}/confirm",
         as_page("staff", data={"action": "accept"})),
        ("POST", apply, as_page("own", data={"_page": WHO, "_nav": "back", "_return": "check"})),
    ]
    for method, path, kwargs in flows:
        reply = await w.stack.http.request(method, path, **kwargs)
        if path == apply:  # the wizard answers a POST with the page's own URL (PRG)
            assert reply.status_code == 303, (path, reply.status_code)
            _strict(reply.headers)
            check = reply.headers["location"]
            reply = await w.stack.http.get(check, **get_as("own"))
        assert reply.status_code == 200, (path, reply.status_code)
        _strict(reply.headers)
    goto = re.search(r'value="(goto:(?!_who)[^"]+)"', reply.text).group(1)
    reply = await w.stack.http.post(check, **as_page("own", data={"_nav": goto}))
    assert reply.status_code == 303
    reply = await w.stack.http.get(reply.headers["location"], **get_as("own"))
    assert reply.status_code == 200
    _strict(reply.headers)
    for (method, template), row in sorted(rows.items(), key=lambda kv: (kv[1].order, kv[0])):
        for principal in PRINCIPALS:
            kwargs = request_for(w, row, principal)
            path = kwargs.pop("path", None) or row.path or template
            reply = await w.stack.http.request(method, path, **kwargs)
            _strict(reply.headers)
            answers += 1
    # The error pages: 404 and 405 for a browser.
    for method, path in (("GET", "/no/such/page"), ("PUT", "/login")):
        reply = await w.stack.http.request(method, path, headers={"Accept": "text/html"})
        assert reply.status_code in (404, 405)
        _strict(reply.headers)
    verify = await w.stack.http.get("/verify", headers={"Accept": "text/html"})
    _strict(verify.headers)
    assert answers > 100
    missing = sorted(_page_templates() - rendered - LIFE_EVENT_FLOW - COUNTER_LIFE_EVENT_FLOW)
    assert not missing, f"page templates never rendered: {missing}"


async def test_the_api_docs_load_nothing_from_another_host(stack):
    http = stack.http
    docs = await http.get("/docs")
    assert docs.status_code == 200
    _strict(docs.headers)
    sources = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources)
    assert "<script>" not in docs.text  # no inline script: every script has a src
    for source in sources:
        asset = await http.get(source)
        assert asset.status_code == 200, source
        assert asset.headers["x-content-type-options"] == "nosniff"
    bundle = await http.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert "SwaggerUIBundle" in bundle.text
    missing = await http.get("/docs/assets/index.html")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert (await http.get("/docs/assets/../openapi.json")).status_code == 404
    redoc = await http.get("/redoc")
    assert redoc.status_code == 308 and redoc.headers["location"] == "/docs"
    oauth = await http.get("/docs/oauth2-redirect")
    assert "<script>" not in oauth.text and "/docs/assets/oauth2-redirect.js" in oauth.text
    assert (await http.get("/openapi.json")).status_code == 200


@pytest.mark.parametrize("https", [False, True])
async def test_hsts_only_on_https(stack, https):
    scheme = "https" if https else "http"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=stack.http._transport.app),
                                 base_url=f"{scheme}://portal") as http:
        for reply in (await http.get("/"), await http.get("/api/procedures"),
                      await http.get("/api/applications")):
            _strict(reply.headers)
            assert ("strict-transport-security" in reply.headers) is https


@pytest.mark.parametrize("path", ["//evil.example/x", "///evil.example/x", "/\\evil.example/x",
                                  "//evil.example/x?lang=en&a=b"])
async def test_the_language_link_of_a_404_page_stays_on_this_site(stack, path):
    # The raw path as a browser sends it (httpx would read ``//host`` as another host).
    url = httpx.URL("http://portal/", raw_path=path.encode())
    reply = await stack.http.get(url, headers={"Accept": "text/html"})
    assert reply.status_code == 404
    _strict(reply.headers)
    link = re.search(r'class="header__lang" href="([^"]+)"', reply.text).group(1)
    assert link.startswith("/") and not link.startswith("//") and "\\" not in link
    assert "evil.example/x?" in link and "lang=" in link
    resolved = httpx.URL("https://portal.example/a/b").join(link.replace("&amp;", "&"))
    assert resolved.host == "portal.example"


async def test_in_a_browser_the_policy_blocks_nothing_the_pages_and_docs_need(stack):
    """Chromium enforces the policy: the pages (with push.js) and Swagger UI on /docs run
    without a single CSP violation, and /docs shows the API."""
    from playwright.async_api import async_playwright

    from tests.support.browser import ARGS, CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: apt-get install chromium")
    async with serve(stack.http._transport.app) as url, async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = await browser.new_context()
            page = await context.new_page()
            violations: list[str] = []
            page.on("console", lambda m: violations.append(m.text)
                    if "Content Security Policy" in m.text else None)
            await page.goto(url + "/login")
            await page.click("button[aria-label*='山田 太郎']")
            await page.wait_for_url("**/my")
            await page.goto(url + "/notifications")
            await page.wait_for_load_state("networkidle")
            await page.goto(url + "/docs")
            await page.wait_for_selector(".swagger-ui .info .title", timeout=20000)
            assert "madoguchi" in await page.inner_text(".swagger-ui .info .title")
            assert await page.locator(".opblock").count() > 10  # the operations are listed
            await page.locator(".opblock-summary").first.click()
            await page.wait_for_selector(".opblock-body", timeout=10000)
            assert violations == []
        finally:
            await browser.close()
