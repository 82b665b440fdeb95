"""Signing in on the pages from a test (the login form with its CSRF token), over ASGI."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    """The CSRF token a page's form carries."""
    found = _CSRF.search(html)
    assert found is not None, "the page has no CSRF token"
    return found.group(1)


@asynccontextmanager
async def signed_in(stack: Any, persona: str = "demo-1") -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client of ``stack``'s app, signed in as a sign-in page persona."""
    app = stack.http._transport.app
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://portal") as client:
        login = await client.get("/login")
        done = await client.post("/login", data={"persona": persona,
                                                 "csrf_token": csrf_of(login.text)})
        assert done.status_code == 303, done.text
        yield client
