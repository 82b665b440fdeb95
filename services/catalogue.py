"""What can be filed where: procedures, municipalities, a form as a client renders it, and
the administrator's reload of the catalogue."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel
from referencing.jsonschema import DRAFT202012

from forms.attachments import attachment_fields
from forms.catalog import Catalog, UnknownProcedure
from forms.municipalities import Municipality
from forms.packages import Procedure
from forms.problems import CatalogProblem
from forms.schemas import common_registry, schema_chain
from forms.texts import field_titles
from identity.principals import Caseworker
from services.refusals import Refused

Lang = Literal["ja", "en"]
ADMIN_ROLE = "admin"


class AttachmentRuleOut(BaseModel):
    field: str
    types: list[str]
    max_bytes: int
    max_count: int


class ProcedureSummary(BaseModel):
    id: str
    version: str
    title: dict[str, str]


class ProcedureForm(ProcedureSummary):
    """One procedure as a client renders its form: localized schema, rules, deadlines."""

    lang: Lang
    municipality: str | None
    processing_period_days: int
    correction_deadline_days: int
    contact: dict[str, Any] | None
    form_schema: dict[str, Any]
    """Localized, ``$ref``-free JSON Schema of the form (see ``localize_schema``)."""
    attachments: list[AttachmentRuleOut]


class CatalogStatus(BaseModel):
    procedures: list[str]
    """``<id>@<version>`` of every loaded procedure version."""
    problems: list[CatalogProblem]


class CatalogueService:
    """Lookups in the configured catalogue; a miss is a :class:`Refused` ``not_found``."""

    def __init__(self, catalog: Catalog,
                 municipalities: Mapping[str, Municipality] | None = None) -> None:
        self.catalog = catalog
        # The catalogue's own view follows reloads; tests may pin another set.
        self._municipalities = municipalities if municipalities is not None \
            else catalog.municipalities

    def latest(self, municipality: str | None = None) -> list[Procedure]:
        """What can be filed now (in ``municipality``): the newest version of each procedure
        (cases filed under an older one keep it, see :meth:`procedure`)."""
        if municipality is not None:
            self.municipality(municipality)
        return self.catalog.latest(municipality)

    def all_versions(self) -> list[Procedure]:
        """Every loaded version: open cases may be pinned to any of them."""
        return self.catalog.procedures()

    def procedure(self, procedure_id: str, version: str | None = None,
                  municipality: str | None = None) -> Procedure:
        """The procedure as in force (for ``municipality``: after its overlay).

        :raises Refused: ``not_found`` for an unknown municipality or procedure.
        """
        if municipality is not None:
            self.municipality(municipality)
        try:
            return self.catalog.get(procedure_id, version, municipality)
        except UnknownProcedure as exc:
            where = f" in municipality {municipality}." if municipality else "."
            raise Refused("not_found", "unknown_procedure", "その手続きはありません。",
                          f"There is no procedure '{procedure_id}'{where}") from exc

    def municipalities(self) -> list[Municipality]:
        """The municipalities this installation serves, by code."""
        return [self._municipalities[code] for code in sorted(self._municipalities)]

    def municipality(self, code: str) -> Municipality:
        """:raises Refused: ``not_found`` for a code this installation does not serve."""
        found = self._municipalities.get(code)
        if found is None:
            raise Refused("not_found", "unknown_municipality", "その自治体はありません。",
                          f"There is no municipality '{code}'.")
        return found

    def municipality_name(self, code: str) -> dict[str, str] | None:
        """The municipality's name in ja/en, or None for a code not (or no longer) served."""
        found = self._municipalities.get(code)
        return found.name.model_dump() if found is not None else None

    def summaries(self, municipality: str | None = None) -> list[ProcedureSummary]:
        return [ProcedureSummary(id=p.definition.id, version=p.definition.version,
                                 title=p.definition.title.model_dump())
                for p in self.latest(municipality)]

    def form(self, procedure_id: str, lang: Lang, municipality: str | None = None,
             version: str | None = None) -> ProcedureForm:
        """What a client needs to render and check the form itself."""
        p = self.procedure(procedure_id, version, municipality)
        place = self.municipality(municipality) if municipality else None
        definition = p.definition
        return ProcedureForm(
            id=definition.id, version=definition.version, title=definition.title.model_dump(),
            lang=lang, municipality=municipality,
            processing_period_days=definition.processing_period.days,
            correction_deadline_days=definition.correction.deadline_days,
            contact=p.contact.model_dump(mode="json") if p.contact else None,
            form_schema=localize_schema(p, lang, place),
            attachments=[AttachmentRuleOut(field=pointer, **rule.model_dump())
                         for pointer, rule in attachment_fields(p.form_schema)],
        )

    # ---- administration ---------------------------------------------------------------

    def status(self, caseworker: Caseworker) -> CatalogStatus:
        """What is loaded and what the last load refused (file, JSON pointer, message)."""
        _admin(caseworker)
        return CatalogStatus(
            procedures=[f"{p.id}@{p.version}" for p in self.catalog.procedures()],
            problems=self.catalog.problems)

    async def reload(self, caseworker: Caseworker) -> CatalogStatus:
        """Read the catalogue directories again; broken packages are listed, the rest serve."""
        _admin(caseworker)
        await asyncio.to_thread(self.catalog.reload)
        return self.status(caseworker)


def _admin(caseworker: Caseworker) -> None:
    if ADMIN_ROLE not in caseworker.roles:
        raise Refused("forbidden", "admin_only", "この操作は管理者のみ行えます。",
                      "Only an administrator (role 'admin') can do this.")


_DROP = frozenset({
    "x-title-en", "x-messages", "x-enum-titles", "x-choices", "$schema", "$id", "$defs",
    "$ref", "title", "description", "x-description-ja", "x-description-en",
})


def localize_schema(procedure: Procedure, lang: Lang,
                    municipality: Municipality | None = None) -> dict:
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
