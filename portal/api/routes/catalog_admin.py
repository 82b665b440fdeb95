"""Catalogue administration: reload the catalogue from disk, list what was refused."""

from __future__ import annotations

from fastapi import APIRouter

from portal.deps import App, CurrentCaseworker
from portal.errors import ErrorBody
from services.catalogue import CatalogStatus

router = APIRouter(prefix="/api/catalog", tags=["catalog"])
_errors = {code: {"model": ErrorBody} for code in (401, 403)}


@router.post("/reload", responses=_errors)
async def reload_catalog(caseworker: CurrentCaseworker, app: App) -> CatalogStatus:
    """Read the catalogue directories again; broken packages are listed, the rest serve."""
    return await app.catalogue.reload(caseworker)


@router.get("/problems", responses=_errors)
async def catalog_problems(caseworker: CurrentCaseworker, app: App) -> CatalogStatus:
    """What the last load refused, with file, JSON pointer and message."""
    return app.catalogue.status(caseworker)
