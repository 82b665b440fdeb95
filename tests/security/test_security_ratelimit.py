"""Sign-in is rate limited per client: 429 with Retry-After, others unaffected.

(Filing is covered by tests/portal/test_portal_ratelimit.py.)
"""

from __future__ import annotations

import httpx

CSRF = "c" * 43
#: The page's double-submit CSRF pair, sent by hand so no session cookie is kept.
FORM = {"persona": "demo-1", "csrf_token": CSRF}
COOKIE = {"Cookie": f"madoguchi_csrf={CSRF}"}


def _client(stack, address: str) -> httpx.AsyncClient:
    app = stack.http._transport.app
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, client=(address, 40000)), base_url="http://portal"
    )


async def test_sign_in_is_limited_with_429_and_retry_after(stack):
    async with _client(stack, "192.0.2.10") as attacker, _client(stack, "192.0.2.20") as other:
        answers = [await attacker.post("/login", data=FORM, headers=COOKIE) for _ in range(11)]
        assert [a.status_code for a in answers[:10]].count(429) == 0
        assert all(a.status_code in (200, 303) for a in answers[:10])
        limited = answers[10]
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        body = limited.json()
        assert body["error"] == "rate_limited" and body["message"]["ja"] and body["message"]["en"]
        assert f"{limited.headers['retry-after']}秒" in body["message"]["ja"]
        # Another client signs in as usual; so does a page view of the limited one.
        assert (await other.post("/login", data=FORM, headers=COOKIE)).status_code in (200, 303)
        assert (await attacker.get("/login")).status_code == 200


async def test_made_up_tokens_do_not_buy_fresh_buckets(stack):
    async with _client(stack, "192.0.2.30") as attacker:
        codes = []
        for attempt in range(12):
            reply = await attacker.post(
                "/login",
                data=FORM,
                headers={**COOKIE, "Authorization": f"Bearer made-up-{attempt}"},
            )
            codes.append(reply.status_code)
        assert 429 in codes, codes
