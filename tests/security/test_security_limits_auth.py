"""Who the rate limits count (issue #15, findings 4 and 5).

4. A second ``Authorization`` header bypassed the filing limit: the limiter read the last
   one (a fresh made-up identity each time), the route authenticated the first.
5. Unsigned tokens naming a victim's ``sub`` used up the victim's filing limit, locking
   them out without signing in.
"""

from __future__ import annotations

import base64
import json

from identity.replay import MemoryReplayStore
from identity.verify import TokenVerifier
from tests.support.security import APPS, MUNICIPALITY, example


def _unsigned(iss: str, sub: str, extra: str = "") -> str:
    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'ES256', 'kid': 'k'})}.{part({'iss': iss, 'sub': sub})}.sig{extra}"


def _filing(catalog) -> dict:
    return {"procedure": "disaster-certificate", "municipality": MUNICIPALITY,
            "data": example(catalog, "disaster-certificate", "valid-basic")}


async def test_a_second_authorization_header_is_refused_not_a_fresh_bucket(stack, catalog):
    valid = stack.resident("dup-1")["Authorization"]
    body = _filing(catalog)
    answers = []
    for attempt in range(12):
        headers = [("Authorization", valid), ("Authorization", f"Bearer made-up-{attempt}")]
        answers.append(await stack.http.post(APPS, json=body, headers=headers))
    assert {a.status_code for a in answers} == {400}, [a.status_code for a in answers]
    refusal = answers[0].json()
    assert refusal["error"] == "duplicate_authorization"
    assert refusal["message"]["ja"] and refusal["message"]["en"]
    # Nothing was filed, and the person's own limit is untouched.
    listed = await stack.http.get(APPS, headers={"Authorization": valid})
    assert listed.status_code == 200 and listed.json() == []


async def test_unsigned_tokens_naming_a_victim_do_not_lock_the_victim_out(stack, catalog):
    victim_token = stack.issuer.issue_resident("victim-1", "被害 者")
    issuer = json.loads(base64.urlsafe_b64decode(victim_token.split(".")[1] + "=="))["iss"]
    body = _filing(catalog)
    forged = [
        await stack.http.post(APPS, json=body,
                              headers={"Authorization": f"Bearer {_unsigned(issuer, 'victim-1')}"})
        for _ in range(25)
    ]
    codes = [r.status_code for r in forged]
    assert set(codes[:20]) == {401}, codes
    assert 429 in codes[20:], "failed authentications are limited per address"
    # The victim files at once: their own limit was never charged.
    mine = await stack.http.post(APPS, json=body,
                                 headers={"Authorization": f"Bearer {victim_token}"})
    assert mine.status_code == 201, mine.text


async def test_a_one_time_token_is_verified_once_on_a_limited_route(stack, catalog):
    """The limiter verifies the token and hands the principal to the route: a one-time
    issuer's ``jti`` is recorded once, so the filing is not refused as a replay."""
    context = stack.http._transport.app.state.portal
    issuers = [i.model_copy(update={"one_time": True}) for i in stack.issuer.trusted_issuers()]
    saved = context.verifier
    context.verifier = TokenVerifier(issuers, replay_store=MemoryReplayStore())
    try:
        token = stack.issuer.issue_resident("once-1", "一度 だけ")
        filed = await stack.http.post(APPS, json=_filing(catalog),
                                      headers={"Authorization": f"Bearer {token}"})
        assert filed.status_code == 201, filed.text
        again = await stack.http.post(APPS, json=_filing(catalog),
                                      headers={"Authorization": f"Bearer {token}"})
        assert again.status_code == 401, "a replay is still refused"
    finally:
        context.verifier = saved
