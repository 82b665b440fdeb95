"""A life event at the counter through the pages (#19), without a browser: only counter
staff on their own live session reach the questionnaire; keyed with problems, they come
back at their fields; a session left idle too long is refused in plain words."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from records.counter import counter_sessions
from tests.support.pages import csrf_of, signed_in

FACTS = {"name": "窓口 花子", "birthdate": "1948/7/15", "address": "東京都千代田区九段南1-2-1"}


async def test_the_questionnaire_at_the_counter_and_its_session_rules(stack):
    async with signed_in(stack, "demo-counter") as http:
        start = await http.get("/counter")
        opened = await http.post("/counter/sessions", data={
            "csrf_token": csrf_of(start.text), "method": "photo_id",
            "counter_id": "honcho-1F-3", **FACTS})
        session_url = opened.headers["location"]
        session_id = session_url.rsplit("/", 1)[1]
        shown = (await http.get(session_url)).text
        assert f'href="/counter/s/{session_id}/life-events/bereavement"' in shown

        url = f"/counter/s/{session_id}/life-events/bereavement"
        page = await http.get(url)
        assert page.status_code == 200 and 'class="counter-form"' in page.text
        assert 'id="counter-bar"' in page.text and "おくやみ" in page.text
        # Keyed with nothing: every problem at its field, on the same one page.
        keyed = await http.post(url, data={"csrf_token": csrf_of(page.text),
                                           "_draft": "{}", "_nav": "prepare"})
        assert keyed.status_code == 422 and 'id="error-summary"' in keyed.text
        assert 'class="counter-form"' in keyed.text

        # Idle for longer than the limit: refused, saying to start again.
        store = stack.http._transport.app.state.portal.counter
        with store.engine.begin() as conn:
            conn.execute(update(counter_sessions).where(counter_sessions.c.id == session_id)
                         .values(last_used_at=datetime.now(UTC) - timedelta(minutes=31)))
        expired = await http.get(url)
        assert expired.status_code == 409 and "もう一度受付を始めてください" in expired.text

    async with signed_in(stack, "demo-1") as resident:  # not counter staff
        refused = await resident.get(f"/counter/s/{session_id}/life-events/bereavement")
        assert refused.status_code == 403
        assert re.search("窓口担当の職員", refused.text)
