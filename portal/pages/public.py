"""Public pages: home, the list of procedures with what to prepare, and static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from forms.schemaform import SchemaForm
from portal.deps import application_of
from portal.web.bundles import life_event_entries
from portal.web.render import error_page, page, render

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).resolve().parent.parent / "static"
_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".woff2": "font/woff2",
}


@router.get("/")
@page
async def home(request: Request, signed_out: str | None = None) -> Response:
    """The home page."""
    return render(request, "home.html", signed_out=bool(signed_out),
                  life_events=await life_event_entries(request))


@router.get("/procedures")
@page
async def procedures(request: Request) -> Response:
    """Every procedure, with what a resident needs to prepare."""
    items = []
    for procedure in application_of(request).catalogue.latest():
        definition = procedure.definition
        form = SchemaForm(procedure.form_schema, messages=procedure.messages)
        items.append(
            {
                "id": definition.id,
                "title": definition.title.model_dump(),
                "days": definition.processing_period.days,
                "prepare": form.prepare(),
                "documents": [d.title.model_dump() for d in definition.documents],
            }
        )
    return render(request, "procedures.html", items=items,
                  life_events=await life_event_entries(request))


@router.get("/static/{name:path}")
async def static(request: Request, name: str) -> Response:
    """Stylesheets, scripts and images of the pages."""
    target = (STATIC / name).resolve()
    if not target.is_relative_to(STATIC) or not target.is_file() or target.suffix not in _TYPES:
        return error_page(request, 404, {"ja": "見つかりません。", "en": "Not found."})
    return FileResponse(
        target, media_type=_TYPES[target.suffix], headers={"Cache-Control": "public, max-age=3600"}
    )
