"""The authorization matrix: every route of the app × every kind of principal.

Rows come from a table below, checked against the app's routes (API and pages), so a new
route without a row fails this test. Each row names the principals allowed; a cell
"succeeds" when the answer is not a refusal (401, 403, a 404 that hides the resource, or a
redirect to the sign-in page) and "is refused" otherwise. A validation error (422) or a
state conflict (409) for an allowed principal counts as success: authorization let the
request through. A 5xx anywhere fails.

Principals: ``own`` (filed the case, owns the draft and the photo), ``other`` (another
resident), ``proxy`` (a resident who filed for a family member), ``business``, ``staff``
(caseworker of 131016 with every role), ``elsewhere`` (caseworker of 141003, every role),
``anonymous``. The API gets a bearer token; pages get the session cookie (and the CSRF
pair on POST), as a browser does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.authz import PRINCIPALS, refused_answer, request_for, table
from tests.support.security import walk_routes


async def test_every_route_has_a_row_and_only_allowed_cells_succeed(world, caplog):
    w = world
    # The campaign the admin rows read.
    later = datetime.now(UTC) + timedelta(days=30)
    opened = await w.stack.http.post(
        "/api/campaigns",
        headers=w.people["staff"],
        json={
            "procedure": "childcare-status",
            "municipality": "131016",
            "period": "2098",
            "opens_at": later.isoformat(),
            "closes_at": (later + timedelta(days=30)).isoformat(),
            "targets": [],
        },
    )
    assert opened.status_code == 201, opened.text
    w.extra["campaign"] = opened.json()["campaign_id"]
    w.stack.started.append(opened.json()["campaign_id"])

    rows = table(w)
    routes = {(method, path) for method, path, _ in walk_routes(w.app.routes)}
    assert routes - rows.keys() == set(), "routes without a row in the matrix"
    assert rows.keys() - routes == set(), "rows for routes that no longer exist"

    wrong, cells = [], 0
    for (method, template), row in sorted(rows.items(), key=lambda kv: (kv[1].order, kv[0])):
        for principal in PRINCIPALS:
            kwargs = request_for(w, row, principal)
            path = kwargs.pop("path", None) or row.path or template
            reply = await w.stack.http.request(method, path, **kwargs)
            cells += 1
            assert reply.status_code < 500, (method, template, principal, reply.text[:300])
            allowed = principal in row.allowed
            refused = refused_answer(reply) or bool(
                row.refused_when and await row.refused_when(w, reply))
            if refused == allowed:
                wrong.append((method, template, principal, reply.status_code, reply.text[:160]))
    print(
        f"\nauthorization matrix: {len(rows)} routes x {len(PRINCIPALS)} principals = {cells} cells"
    )
    assert cells == len(routes) * len(PRINCIPALS)
    assert not wrong, "\n".join(map(str, wrong))
