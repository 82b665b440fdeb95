"""schemathesis against the app's OpenAPI spec, over real HTTP on loopback, with a valid
token of every role: no server error (5xx), no response the spec does not describe.

Cases are generated per operation and role (positive and negative data), half of them
with the ids of real resources (a case, its document, a draft, an attachment) so the
handlers get past "not found". Every failure is collected, then reported together.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import Counter
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.security import serve, unlimited_app

#: Examples per operation, role and generation mode (MADOGUCHI_FUZZ_EXAMPLES to dig deeper).
EXAMPLES = int(os.environ.get("MADOGUCHI_FUZZ_EXAMPLES", "4"))
ROLES = ("own", "business", "reviewer", "surveyor", "approver", "admin", "anonymous")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


#: Spec gaps the fuzzer may tolerate, as (operation, status): none today. A new one needs
#: a strict xfail test beside it and a fix in docs/security.md.
KNOWN_SPEC_GAPS: set[tuple[str, str]] = set()


def _operations(schema) -> list[Any]:
    operations = []
    for result in schema.get_all_operations():
        operations.append(result.ok())  # an operation the loader cannot read is a failure
    return operations


def _send(case, operation, base_url, session, headers, failures, role, counts) -> None:
    """Send one generated case and record what the checks say about its answer."""
    counts["cases"] += 1
    try:
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
    except requests.RequestException as exc:  # reported below, never swallowed
        failures.append((role, operation.label, "transport", repr(exc)))
        return
    counts[f"{response.status_code // 100}xx"] += 1
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except FailureGroup as exc:  # one failure per broken rule
        for failure in exc.exceptions:
            title = getattr(failure, "title", type(failure).__name__)
            text = response.content[:300].decode(errors="replace")
            failures.append((role, operation.label, str(title), f"{response.status_code} {text}"))


def _sender(operation, *context):
    def send(case) -> None:
        _send(case, operation, *context)

    return send


def _fuzz(
    schema,
    base_url: str,
    headers: dict[str, str],
    known: dict[str, str],
    failures: list[tuple[str, str, str, str]],
    role: str,
    counts: Counter,
) -> None:
    session = requests.Session()
    for operation in _operations(schema):
        names = {p.name for p in operation.path_parameters}
        fixed = {k: v for k, v in known.items() if k in names}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies = [operation.as_strategy(generation_mode=mode)]
            if fixed:
                strategies.append(
                    operation.as_strategy(generation_mode=mode, path_parameters=fixed)
                )
            run = given(case=st.one_of(strategies))(
                _sender(operation, base_url, session, headers, failures, role, counts)
            )
            run = hypothesis.settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                phases=[Phase.generate],
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )(run)
            with contextlib.suppress(hypothesis.errors.Unsatisfiable):
                run()


async def test_no_server_errors_and_no_responses_outside_the_spec(world, caplog):
    caplog.set_level(logging.ERROR, logger="madoguchi")
    app = unlimited_app(world)
    schema = schemathesis.openapi.from_dict(app.openapi())
    known = {
        "application_id": world.application,
        "document_id": world.document,
        "draft_id": world.draft,
        "attachment_id": world.attachment,
        "procedure_id": "disaster-certificate",
    }
    failures: list[tuple[str, str, str, str]] = []
    counts: Counter = Counter()
    async with serve(app) as base_url:
        for role in ROLES:
            await asyncio.to_thread(
                _fuzz, schema, base_url, world.people[role], known, failures, role, counts
            )
    print(f"\nfuzz: {counts['cases']} cases, statuses {dict(sorted(counts.items()))}")
    assert counts["5xx"] == 0, failures
    unknown = sorted(
        {
            (op, title, detail[:160])
            for _, op, title, detail in failures
            if (op, detail[:3]) not in KNOWN_SPEC_GAPS
        }
    )
    assert not unknown, "\n".join(map(str, unknown))
    assert counts["cases"] >= len(_operations(schema)) * len(ROLES) * EXAMPLES
    assert "unexpected error" not in caplog.text


# -- each gap the fuzzer found, pinned on its own --------------------------------------------


def _documented(app, method: str, path: str, status: int, content_type: str) -> bool:
    """Whether the app's OpenAPI spec describes this answer (status and media type)."""
    operation = app.openapi()["paths"][path][method.lower()]
    response = operation["responses"].get(str(status))
    if response is None:
        return False
    media = {m.split(";")[0].strip() for m in response.get("content", {})}
    return content_type.split(";")[0].strip() in media or not media


SPEC_GAP = "spec gap: an answer the OpenAPI spec does not describe; fix in docs/security.md"


async def test_a_body_that_is_not_json_is_a_documented_422(stack):
    reply = await stack.http.post(
        "/api/drafts",
        content=b"\xff{",
        headers={**stack.resident("gap-1"), "Content-Type": "application/json"},
    )
    assert reply.status_code == 422 and reply.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/api/preferences"), ("GET", "/api/push-subscriptions")]
)
async def test_caseworkers_refused_on_resident_routes_is_documented(stack, method, path):
    reply = await stack.http.request(method, path, headers=stack.caseworker("gap-cw"))
    assert reply.status_code == 403
    app = stack.http._transport.app
    assert _documented(app, method, path, 403, reply.headers["content-type"])


async def test_unknown_municipality_on_procedures_is_documented(stack):
    reply = await stack.http.get("/api/procedures", params={"municipality": "999999"})
    assert reply.status_code == 404
    app = stack.http._transport.app
    assert _documented(app, "GET", "/api/procedures", 404, reply.headers["content-type"])


async def test_attachment_media_types_are_documented(stack):
    from tests.support.security import png

    uploaded = await stack.http.post(
        "/api/attachments",
        headers=stack.resident("gap-2"),
        params={"procedure": "disaster-certificate", "field": "/photos"},
        files={"file": ("a.png", png(), "image/png")},
    )
    reply = await stack.http.get(
        f"/api/attachments/{uploaded.json()['id']}", headers=stack.resident("gap-2")
    )
    assert reply.status_code == 200
    app = stack.http._transport.app
    assert _documented(
        app, "GET", "/api/attachments/{attachment_id}", 200, reply.headers["content-type"]
    )


@pytest.mark.parametrize(
    ("method", "path", "request_path", "kwargs"),
    [
        ("GET", "/verify/{document_id}", "/verify/doc-unknown", {}),
        ("POST", "/verify", "/verify", {"files": {"file": ("x.pdf", b"", "application/pdf")}}),
        ("POST", "/tsa", "/tsa", {"content": b"x", "headers": {"Content-Type": "text/plain"}}),
    ],
)
async def test_public_refusals_are_documented(stack, method, path, request_path, kwargs):
    reply = await stack.http.request(method, request_path, **kwargs)
    assert reply.status_code >= 400
    app = stack.http._transport.app
    assert _documented(app, method, path, reply.status_code, reply.headers["content-type"])


def test_rate_limited_operations_document_429_with_retry_after(stack):
    from portal.ratelimit import DEFAULT_RULES

    spec = stack.http._transport.app.openapi()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            limited = any(r.matches(method.upper(), path) for r in DEFAULT_RULES)
            if limited:
                answer = operation["responses"].get("429", {})
                assert "Retry-After" in answer.get("headers", {}), (method, path)
