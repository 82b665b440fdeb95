"""The procedures a resident can file, and what a client needs to render their forms."""

from __future__ import annotations

from fastapi import APIRouter, Query

from portal.deps import App
from portal.errors import ErrorBody
from services.catalogue import Lang, ProcedureForm, ProcedureSummary

router = APIRouter(prefix="/api/procedures", tags=["procedures"])


@router.get("", responses={404: {"model": ErrorBody}})
async def list_procedures(
    app: App,
    municipality: str | None = Query(default=None, pattern=r"^\d{6}$"),
) -> list[ProcedureSummary]:
    """The procedures new applications can be filed for (newest version of each)."""
    return app.catalogue.summaries(municipality)


@router.get("/{procedure_id}", responses={404: {"model": ErrorBody}})
async def read_procedure(
    procedure_id: str,
    app: App,
    lang: Lang = "ja",
    municipality: str | None = Query(default=None, pattern=r"^\d{6}$"),
    version: str | None = Query(default=None, pattern=r"^\d+\.\d+\.\d+$"),
) -> ProcedureForm:
    """One procedure as a client renders its form: localized schema, rules, deadlines."""
    return app.catalogue.form(procedure_id, lang, municipality, version)
