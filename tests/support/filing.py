"""Filing a 罹災証明書 and acting on it through the HTTP API, as the end-to-end tests do."""

from __future__ import annotations

import json
from typing import Any

import httpx

from forms.catalog import Catalog
from tests.support.stack import documents_of

APPS = "/api/applications"


def example(catalog: Catalog, name: str = "valid-basic") -> dict[str, Any]:
    directory = catalog.get("disaster-certificate").directory / "examples"
    return json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))


def filing(data: dict[str, Any]) -> dict[str, Any]:
    return {"procedure": "disaster-certificate", "municipality": "131016", "data": data}


async def issued(http: httpx.AsyncClient, app_id: str, headers: dict[str, str],
                 count: int = 1, kind: str = "certificate") -> dict[str, Any] | None:
    """The application once ``count`` documents of ``kind`` are issued."""
    body = (await http.get(f"{APPS}/{app_id}", headers=headers)).json()
    return body if len(documents_of(body, kind)) >= count else None


async def act(http: httpx.AsyncClient, app_id: str, headers: dict[str, str], action: str,
              **body: Any) -> httpx.Response:
    return await http.post(f"{APPS}/{app_id}/actions", json={"action": action, **body},
                           headers=headers)
