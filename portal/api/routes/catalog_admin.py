"""Catalogue administration: reload the catalogue from disk, list what was refused."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from pydantic import BaseModel

from forms.problems import CatalogProblem
from identity.principals import Caseworker
from portal.api.routes.procedures import catalog_of
from portal.deps import Context, CurrentCaseworker
from portal.errors import ErrorBody
from workflows.cases import CaseError

router = APIRouter(prefix="/api/catalog", tags=["catalog"])
_errors = {code: {"model": ErrorBody} for code in (401, 403)}

ADMIN_ROLE = "admin"


class CatalogStatus(BaseModel):
    procedures: list[str]
    """``<id>@<version>`` of every loaded procedure version."""
    problems: list[CatalogProblem]


def _admin(caseworker: Caseworker) -> None:
    if ADMIN_ROLE not in caseworker.roles:
        raise CaseError(
            "admin_only",
            403,
            "この操作は管理者のみ行えます。",
            "Only an administrator (role 'admin') can do this.",
        )


def _status(context: Context) -> CatalogStatus:
    catalog = catalog_of(context)
    return CatalogStatus(
        procedures=[f"{p.id}@{p.version}" for p in catalog.procedures()], problems=catalog.problems
    )


@router.post("/reload", responses=_errors)
async def reload_catalog(caseworker: CurrentCaseworker, context: Context) -> CatalogStatus:
    """Read the catalogue directories again; broken packages are listed, the rest serve."""
    _admin(caseworker)
    await asyncio.to_thread(catalog_of(context).reload)
    return _status(context)


@router.get("/problems", responses=_errors)
async def catalog_problems(caseworker: CurrentCaseworker, context: Context) -> CatalogStatus:
    """What the last load refused, with file, JSON pointer and message."""
    _admin(caseworker)
    return _status(context)
