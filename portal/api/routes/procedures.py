"""The procedures a resident can file."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from portal.deps import Context
from portal.errors import ErrorBody

router = APIRouter(prefix="/api/procedures", tags=["procedures"])


class ProcedureOut(BaseModel):
    id: str
    version: str
    title: dict[str, str]


class ProcedureDetailOut(ProcedureOut):
    form_schema: dict[str, Any]


@router.get("")
async def list_procedures(context: Context) -> list[ProcedureOut]:
    """Every procedure in the catalogue."""
    return [ProcedureOut(id=p.definition.id, version=p.definition.version,
                         title=p.definition.title.model_dump())
            for p in context.cases.procedures()]


@router.get("/{procedure_id}", responses={404: {"model": ErrorBody}})
async def read_procedure(procedure_id: str, context: Context) -> ProcedureDetailOut:
    """One procedure with the JSON Schema of its form."""
    p = context.cases.procedure(procedure_id)
    return ProcedureDetailOut(id=p.definition.id, version=p.definition.version,
                              title=p.definition.title.model_dump(), form_schema=p.form_schema)
