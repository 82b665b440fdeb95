"""The procedures a resident can file, and what a client needs to render their forms."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from referencing.jsonschema import DRAFT202012

from forms.attachments import attachment_fields
from forms.catalog import Catalog, UnknownProcedure
from forms.packages import Procedure
from forms.schemas import common_registry, schema_chain
from forms.texts import field_titles
from portal.deps import Context, PortalContext
from portal.errors import ErrorBody
from records.attachments import AttachmentStore
from records.drafts import DraftStore
from workflows.cases import CaseError

router = APIRouter(prefix="/api/procedures", tags=["procedures"])

Lang = Literal["ja", "en"]


# --- what the routes need from PortalContext ---------------------------------------------


def _unavailable(what: str) -> CaseError:
    return CaseError(f"{what}_unavailable", 503, "この機能は現在使えません。",
                     f"The {what} service is not configured on this server.")


def catalog_of(context: PortalContext) -> Catalog:
    if context.catalog is None:
        raise _unavailable("catalogue")
    return context.catalog


def drafts_of(context: PortalContext) -> DraftStore:
    if context.drafts is None:
        raise _unavailable("drafts")
    return context.drafts


def attachments_of(context: PortalContext) -> AttachmentStore:
    if context.attachments is None:
        raise _unavailable("attachments")
    return context.attachments


def find_procedure(
    context: PortalContext,
    procedure_id: str,
    version: str | None = None,
    municipality: str | None = None,
) -> Procedure:
    """The effective procedure, or a 404 CaseError a resident understands."""
    if municipality is not None:
        context.cases.municipality(municipality)  # 404 for an unknown municipality
    try:
        return catalog_of(context).get(procedure_id, version, municipality)
    except UnknownProcedure as exc:
        raise CaseError(
            "unknown_procedure",
            404,
            "その手続きはありません。",
            f"There is no procedure '{procedure_id}'"
            + (f" in municipality {municipality}." if municipality else "."),
        ) from exc


# --- localized schemas -----------------------------------------------------------------------

_DROP = frozenset(
    {
        "x-title-en",
        "x-messages",
        "x-enum-titles",
        "x-choices",
        "$schema",
        "$id",
        "$defs",
        "$ref",
        "title",
        "description",
        "x-description-ja",
        "x-description-en",
    }
)


def localize_schema(procedure: Procedure, lang: Lang, municipality: Any = None) -> dict:
    """The form schema with every ``$ref`` inlined and texts in ``lang``.

    Each field gets ``title`` (and ``description`` where one is written for that language,
    as ``x-description-ja`` / ``x-description-en``) in ``lang``; enums get
    ``x-enum-titles`` as value -> text; a field choosing from the municipality's disaster
    events becomes an ``enum`` of their ids with their names; attachment rules stay as
    ``x-attachment``. The result needs no shared schemas to be understood.
    """
    registry = common_registry()
    root = procedure.form_schema
    resolver = registry.resolver_with_root(DRAFT202012.create_resource(root))

    def convert(node: object, resolver: Any, pointer: str, depth: int) -> object:
        if not isinstance(node, dict) or depth > 24:
            return node
        chain, resolver = schema_chain(node, resolver)
        out: dict[str, Any] = {}
        for link in reversed(chain):  # the referenced schema first, local keywords win
            for key, value in link.items():
                if key not in _DROP:
                    out[key] = value
        titles = field_titles(chain, pointer, procedure.messages)
        title = titles[lang] or titles["ja"]
        if title:
            out["title"] = title
        for link in chain:
            text = link.get(f"x-description-{lang}")
            if isinstance(text, str):
                out["description"] = text
                break
        for link in chain:
            enum_titles = link.get("x-enum-titles")
            if isinstance(enum_titles, dict):
                out["x-enum-titles"] = {
                    value: texts.get(lang) or texts.get("ja")
                    for value, texts in enum_titles.items()
                    if isinstance(texts, dict)
                }
                break
        if any(link.get("x-choices") == "disaster_events" for link in chain):
            events = municipality.disaster_events if municipality is not None else []
            out["enum"] = [event.id for event in events]
            out["x-enum-titles"] = {event.id: getattr(event.name, lang) for event in events}
        props = out.get("properties")
        if isinstance(props, dict):
            out["properties"] = {
                name: convert(child, resolver, f"{pointer}/{name}", depth + 1)
                for name, child in props.items()
            }
        if isinstance(out.get("items"), dict):
            out["items"] = convert(out["items"], resolver, f"{pointer}/items", depth + 1)
        return out

    result = convert(root, resolver, "", 0)
    assert isinstance(result, dict)
    result["title"] = getattr(procedure.definition.title, lang)
    return result


class ProcedureOut(BaseModel):
    id: str
    version: str
    title: dict[str, str]


class AttachmentRuleOut(BaseModel):
    field: str
    types: list[str]
    max_bytes: int
    max_count: int


class ProcedureDetailOut(ProcedureOut):
    lang: Lang
    municipality: str | None
    processing_period_days: int
    correction_deadline_days: int
    contact: dict[str, Any] | None
    form_schema: dict[str, Any]
    """Localized, ``$ref``-free JSON Schema of the form (see ``localize_schema``)."""
    attachments: list[AttachmentRuleOut]


@router.get("", responses={404: {"model": ErrorBody}})
async def list_procedures(
    context: Context,
    municipality: str | None = Query(default=None, pattern=r"^\d{6}$"),
) -> list[ProcedureOut]:
    """The procedures new applications can be filed for (newest version of each)."""
    if municipality is not None:
        context.cases.municipality(municipality)
    return [
        ProcedureOut(
            id=p.definition.id, version=p.definition.version, title=p.definition.title.model_dump()
        )
        for p in catalog_of(context).latest(municipality)
    ]


@router.get("/{procedure_id}", responses={404: {"model": ErrorBody}})
async def read_procedure(
    procedure_id: str,
    context: Context,
    lang: Lang = "ja",
    municipality: str | None = Query(default=None, pattern=r"^\d{6}$"),
    version: str | None = Query(default=None, pattern=r"^\d+\.\d+\.\d+$"),
) -> ProcedureDetailOut:
    """One procedure as a client renders its form: localized schema, rules, deadlines."""
    p = find_procedure(context, procedure_id, version, municipality)
    place = context.cases.municipality(municipality) if municipality else None
    definition = p.definition
    return ProcedureDetailOut(
        id=definition.id,
        version=definition.version,
        title=definition.title.model_dump(),
        lang=lang,
        municipality=municipality,
        processing_period_days=definition.processing_period.days,
        correction_deadline_days=definition.correction.deadline_days,
        contact=p.contact.model_dump(mode="json") if p.contact else None,
        form_schema=localize_schema(p, lang, place),
        attachments=[
            AttachmentRuleOut(field=pointer, **rule.model_dump())
            for pointer, rule in attachment_fields(p.form_schema)
        ],
    )
