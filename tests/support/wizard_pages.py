"""The resident's 罹災証明書 wizard over ASGI: the example's answers as each page posts them,
one page at a time (shared by the filing pages' tests and the assisted mode's)."""

from __future__ import annotations

import json
import re

import httpx

from forms.catalog import DEFAULT_ROOT
from forms.pointers import resolve
from forms.schemaform import SchemaForm
from tests.support.pages import csrf_of

BASE = "/apply/131016/disaster-certificate"
EXAMPLE = json.loads(
    (DEFAULT_ROOT / "disaster-certificate" / "examples" / "valid-basic.json").read_text("utf-8"))
PAGE_URL = re.compile(rf"^{BASE}/d/(drf-[0-9a-f]{{26}})/([A-Za-z_]+)$")


def form(stack) -> SchemaForm:
    procedure = stack.http._transport.app.state.portal.catalog.get("disaster-certificate")
    return SchemaForm(procedure.form_schema, messages=procedure.messages)


def answers(form: SchemaForm, page_id: str, data: dict) -> dict[str, str]:
    """What the page posts when filled in with ``data``."""
    posted: dict[str, str] = {}
    for top in form.page(page_id, data).fields:
        for f in top.walk():
            if f.kind == "array":
                posted[f"_count{f.pointer}"] = str(len(f.items))
            elif not f.is_group:
                value = resolve(data, f.pointer, None)
                if value is not None:
                    posted[f.pointer] = ("true" if value else "false") if isinstance(
                        value, bool) else str(value)
    return posted


async def post(http: httpx.AsyncClient, url: str, page_id: str, fields: dict,
                nav: str = "next") -> httpx.Response:
    shown = await http.get(url)
    return await http.post(url, data={"csrf_token": csrf_of(shown.text), "_page": page_id,
                                      "_nav": nav, **fields})


async def start(http: httpx.AsyncClient) -> tuple[str, str]:
    """Answer the first page; the draft id and the second page's URL."""
    answer = await post(http, BASE, "_who", {"for": "self"})
    assert answer.status_code == 303, answer.text
    found = PAGE_URL.match(answer.headers["location"])
    assert found, answer.headers["location"]
    return found.group(1), answer.headers["location"]
