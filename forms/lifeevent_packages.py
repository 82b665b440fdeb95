"""Life-event packages: one folder of data checked and loaded into a :class:`LifeEvent`.

Each subfolder of ``<catalogue root>/life-events/`` is one life event (``<id>/`` or a
snapshot ``<id>@<version>/``)::

    disaster/
        life-event.json             the LifeEventDefinition (forms.lifeevents)
        questionnaire.schema.json   JSON Schema 2020-12 of the shared questionnaire
        messages.ja.json            field labels etc. (flat key -> text)
        messages.en.json
        examples/*.json             {"answers", "applicant", "household", "account",
                                     "offered", "upstream"} (see :class:`Example`)

A life event names procedures, so it is checked against the procedures the catalogue
loaded: every problem is reported at once with the file and a JSON pointer, as procedure
packages are. Municipality overlays of a life event
(``municipalities/<code>/overlays/life-events/<id>.json``, :class:`LifeEventOverlay`)
change its ``params`` and add or remove offered procedures (a municipality's own relief).
"""

from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue
from pydantic import ValidationError as PydanticValidationError
from referencing import Registry

from forms.expressions import ExpressionError, Scope
from forms.expressions import check as check_expression
from forms.lifeevents import LifeEventDefinition, OfferedProcedure
from forms.lifeevents_mapping import (
    dependency_holds,
    events_binding,
    is_eligible,
    life_event_bindings,
    map_form,
    upstream_case,
)
from forms.municipalities import MUNICIPALITIES_DIR, Municipality
from forms.overlay import merge_patch, params_patch_problems
from forms.packages import MESSAGE_LANGUAGES, Procedure, version_key
from forms.pointers import escape, resolve, segments
from forms.problems import UNREADABLE, CatalogProblem, ProblemLog
from forms.schemacheck import check_schema
from forms.schemas import common_registry, first, iter_fields
from forms.texts import message as field_message
from forms.validation import FieldError, ValidationResult, validate_data

__all__ = [
    "LIFE_EVENTS_DIR",
    "Example",
    "LifeEvent",
    "LifeEventOverlay",
    "apply_life_event_overlay",
    "load_life_events",
    "read_life_event_overlays",
    "validate_answers",
]

LIFE_EVENTS_DIR = "life-events"

_JST = dt.timezone(dt.timedelta(hours=9))


@dataclass(frozen=True)
class LifeEvent:
    """A loaded, checked life event (with a municipality's overlay when ``municipality``)."""

    definition: LifeEventDefinition
    directory: Path
    questionnaire: dict = field(repr=False)
    messages: dict[str, dict[str, str]] = field(repr=False)
    municipality: str | None = None

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def version(self) -> str:
        return self.definition.version

    @property
    def form_schema(self) -> dict:
        """The questionnaire, under the name forms' helpers (localizing, labels) read."""
        return self.questionnaire


class Example(BaseModel):
    """``examples/*.json`` of a life event: a household and what it must be offered."""

    model_config = ConfigDict(extra="forbid")

    answers: dict[str, JsonValue]
    applicant: dict[str, JsonValue] = Field(default_factory=dict)
    household: dict[str, JsonValue] = Field(default_factory=dict)
    account: dict[str, JsonValue] | None = None
    offered: list[str]
    upstream: dict[str, dict[str, JsonValue]] = Field(default_factory=dict)
    municipality: str | None = None  # whose events the answers name (default: the first)
    today: dt.date | None = None  # the date the expressions see (default: today in Japan)


class LifeEventOverlay(BaseModel):
    """A municipality's variant of a life event."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    versions: list[str] | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    add: list[OfferedProcedure] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)

    def applies_to(self, version: str) -> bool:
        return self.versions is None or version in self.versions


def _fields(schema: dict, registry: Registry) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for pointer, chain in iter_fields(schema, registry):
        kind = first(chain, "type")
        found[pointer] = kind if isinstance(kind, str) else None
    return found


class _Checker:
    """The checks a life event's procedures need, for the standard and for overlays."""

    def __init__(self, procedures: Mapping[str, Procedure], registry: Registry,
                 add: typing.Callable[[str, str], None]) -> None:
        self.procedures = procedures
        self.registry = registry
        self.add = add

    def offered(self, where: str, offered: OfferedProcedure, scope: Scope) -> None:
        procedure = self.procedures.get(offered.procedure)
        if procedure is None:
            known = ", ".join(sorted(self.procedures)) or "none"
            self.add(f"{where}/procedure",
                     f"no procedure {offered.procedure!r} in the catalogue (known: {known})")
        for message in check_expression(offered.eligible, scope):
            self.add(f"{where}/eligible", message)
        dependent = Scope(data=scope.data, params=scope.params, life_event=True,
                          case=offered.after is not None)
        if offered.after is not None:
            for message in check_expression(offered.after.when, dependent):
                self.add(f"{where}/after/when", message)
        fields = (_fields(procedure.form_schema, self.registry)
                  if procedure is not None else None)
        for pointer, text in offered.form.items():
            at = f"{where}/form/{escape(pointer)}"
            if fields is not None and pointer not in fields:
                self.add(at, f"{pointer!r} is not a field of {offered.procedure}'s form")
            for message in check_expression(text, dependent):
                self.add(at, message)


def _check_definition(definition: LifeEventDefinition, questionnaire: dict,
                      checker: _Checker) -> None:
    data = _fields(questionnaire, checker.registry)
    scope = Scope(data=data, params=definition.params, life_event=True)
    for index, offered in enumerate(definition.procedures):
        checker.offered(f"/procedures/{index}", offered, scope)
    for pointer, rule in definition.prefill.items():
        at = f"/prefill/{escape(pointer)}"
        if pointer not in data:
            checker.add(at, f"{pointer!r} is not a field of the questionnaire")
        for message in check_expression(rule.value, scope):
            checker.add(f"{at}/value", message)
    ledger = definition.ledger
    if ledger is not None:
        for name in ("address", "household_size"):
            text = getattr(ledger, name)
            for message in (check_expression(text, scope) if text is not None else []):
                checker.add(f"/ledger/{name}", message)
        values = [("/ledger/grade", ledger.grade)] if ledger.grade else []
        values += [(f"/ledger/amounts/{i}", v) for i, v in enumerate(ledger.amounts)]
        case_scope = Scope(data=data, params=definition.params, life_event=True, case=True)
        for where, value in values:
            for message in check_expression(value.value, case_scope):
                checker.add(f"{where}/value", message)
    if definition.event_field is not None and definition.event_field not in data:
        checker.add("/event_field", f"{definition.event_field!r} is not a field of the "
                    "questionnaire")


def _load_one(directory: Path, procedures: Mapping[str, Procedure], registry: Registry,
              municipalities: Mapping[str, Municipality], label: str,
              refused_municipalities: Collection[str] = (),
              ) -> tuple[LifeEvent | None, list[CatalogProblem]]:
    log = ProblemLog(directory, label)
    raw = log.read_json("life-event.json")
    definition = None
    if raw is not UNREADABLE:
        if not isinstance(raw, dict):
            log.add("life-event.json", "", "must hold a JSON object")
        else:
            try:
                definition = LifeEventDefinition.model_validate(raw)
            except PydanticValidationError as exc:
                log.model_errors("life-event.json", exc)
    name = definition.questionnaire if definition is not None else "questionnaire.schema.json"
    questionnaire = None
    contents = log.read_json(name, ("life-event.json", "/questionnaire")
                             if definition is not None and name != "questionnaire.schema.json"
                             else None)
    if contents is not UNREADABLE and check_schema(log, name, contents, registry):
        questionnaire = typing.cast(dict, contents)
    messages: dict[str, dict[str, str]] = {}
    for lang in MESSAGE_LANGUAGES:
        relative = f"messages.{lang}.json"
        found = log.read_json(relative)
        if found is UNREADABLE:
            continue
        if not isinstance(found, dict) or not all(isinstance(v, str) for v in found.values()):
            log.add(relative, "", "must hold a JSON object of key -> text")
            continue
        messages[lang] = found
    if definition is not None:
        folder_id, _, folder_version = directory.name.partition("@")
        if folder_id != definition.id:
            log.add("life-event.json", "/id",
                    f"folder {directory.name!r} is for {folder_id!r}, not {definition.id!r}")
        if folder_version and folder_version != definition.version:
            log.add("life-event.json", "/version", f"folder {directory.name!r} is for "
                    f"version {folder_version}, not {definition.version}")
    if definition is not None and questionnaire is not None:
        checker = _Checker(procedures, registry,
                           lambda pointer, message: log.add("life-event.json", pointer, message))
        _check_definition(definition, questionnaire, checker)
        if not log.items:
            _check_examples(log, definition, questionnaire, messages, procedures, registry,
                            municipalities, refused_municipalities)
    if log.items or definition is None or questionnaire is None or len(messages) != 2:
        return None, log.items
    return LifeEvent(definition, directory.resolve(), questionnaire, messages), []


def _check_examples(log: ProblemLog, definition: LifeEventDefinition, questionnaire: dict,
                    messages: dict[str, dict[str, str]], procedures: Mapping[str, Procedure],
                    registry: Registry, municipalities: Mapping[str, Municipality],
                    refused_municipalities: Collection[str]) -> None:
    for path in sorted((log.directory / "examples").glob("*.json")):
        relative = f"examples/{path.name}"
        raw = log.read_json(relative)
        if raw is UNREADABLE:
            continue
        try:
            example = Example.model_validate(raw)
        except PydanticValidationError as exc:
            log.model_errors(relative, exc)
            continue
        for error in validate_data(questionnaire, example.answers, messages=messages,
                                   registry=registry).errors:
            log.add(relative, f"/answers{error.path}",
                    f"the answers do not validate: {error.code}: {error.message['en']}")
        code = example.municipality or next(iter(sorted(municipalities)), None)
        if code in refused_municipalities:
            continue  # refused for its own files, which say why: nothing to run it with
        municipality = municipalities.get(code) if code else None
        if example.municipality is not None and municipality is None:
            log.add(relative, "/municipality", f"no municipality {example.municipality}")
        today = example.today or dt.datetime.now(_JST).date()
        common = dict(answers=example.answers, applicant=example.applicant,
                      household=example.household, account=example.account,
                      events=events_binding(municipality), today=today)
        bindings = life_event_bindings(definition, **common)
        eligible = [o.procedure for o in definition.procedures if is_eligible(o, bindings)]
        if sorted(eligible) != sorted(example.offered):
            log.add(relative, "/offered", f"the life event offers {eligible}, the example "
                    f"expects {example.offered}")
        for index, offered in enumerate(definition.procedures):
            if offered.procedure not in eligible or offered.procedure not in procedures:
                continue
            where = f"/procedures/{index}"
            if offered.after is not None:
                report = example.upstream.get(offered.after.procedure)
                if report is None:
                    continue  # the example does not say how the upstream case ended
                case_bindings = life_event_bindings(definition, **common,
                                                    case=upstream_case(report))
                try:
                    if not dependency_holds(offered.after, case_bindings):
                        continue
                except ExpressionError as exc:
                    log.add(relative, f"/upstream/{escape(offered.after.procedure)}",
                            f"{offered.procedure}: after.when cannot be evaluated: {exc}")
                    continue
            else:
                case_bindings = bindings
            try:
                form = map_form(offered, case_bindings)
            except ExpressionError as exc:
                log.add(relative, "", f"life-event.json#{where}: {exc}")
                continue
            procedure = procedures[offered.procedure]
            for error in validate_data(procedure.form_schema, form,
                                       messages=procedure.messages, registry=registry).errors:
                log.add(relative, "", f"the form mapped to {offered.procedure} does not "
                        f"validate at {error.path or '/'}: {error.code}: {error.message['en']}")


def load_life_events(roots: tuple[Path, ...], procedures: Mapping[str, Procedure],
                     registry: Registry, municipalities: Mapping[str, Municipality],
                     refused_municipalities: Collection[str] = (),
                     ) -> tuple[dict[tuple[str, str], LifeEvent], list[CatalogProblem]]:
    """Every life event under ``roots`` (``life-events/``), checked against ``procedures``
    (the newest standard version by id). Two folders declaring one id and version are both
    left out, as procedure packages are. An example naming one of
    ``refused_municipalities`` (refused for its own files) is not run."""
    problems: list[CatalogProblem] = []
    loaded: dict[tuple[str, str], list[LifeEvent]] = {}
    for root in roots:
        base = root / LIFE_EVENTS_DIR
        if not base.is_dir():
            continue
        for directory in sorted(p for p in base.iterdir() if p.is_dir()):
            if directory.name.startswith((".", "_")):
                continue
            event, found = _load_one(directory, procedures, registry, municipalities,
                                     f"{LIFE_EVENTS_DIR}/{directory.name}",
                                     refused_municipalities)
            problems.extend(found)
            if event is not None:
                loaded.setdefault((event.id, event.version), []).append(event)
    result: dict[tuple[str, str], LifeEvent] = {}
    for key, candidates in loaded.items():
        if len(candidates) == 1:
            result[key] = candidates[0]
            continue
        for candidate in candidates:
            problems.append(CatalogProblem(
                file=f"{LIFE_EVENTS_DIR}/{candidate.directory.name}/life-event.json",
                pointer="/version", message=f"life event {key[0]} {key[1]} is declared by "
                "several folders; none of them is loaded"))
    return result, problems


def read_life_event_overlays(
    root: Path,
) -> Iterator[tuple[str, str, str, LifeEventOverlay | None, list[CatalogProblem]]]:
    """``(code, life event id, file label, overlay or None, problems)`` under ``root``."""
    base = root / MUNICIPALITIES_DIR
    if not base.is_dir():
        return
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        directory = folder / "overlays" / LIFE_EVENTS_DIR
        if folder.name.startswith((".", "_")) or not directory.is_dir():
            continue
        log = ProblemLog(directory, f"{MUNICIPALITIES_DIR}/{folder.name}/overlays/"
                         f"{LIFE_EVENTS_DIR}")
        for path in sorted(directory.glob("*.json")):
            before = len(log.items)
            raw = log.read_json(path.name)
            overlay = None
            if raw is not UNREADABLE:
                try:
                    overlay = LifeEventOverlay.model_validate(raw)
                except PydanticValidationError as exc:
                    log.model_errors(path.name, exc)
            yield folder.name, path.stem, f"{log.label}/{path.name}", overlay, log.items[before:]


def apply_life_event_overlay(
    standard: LifeEvent, overlay: LifeEventOverlay, code: str, label: str,
    procedures: Mapping[str, Procedure], registry: Registry,
) -> tuple[LifeEvent | None, list[CatalogProblem]]:
    """The effective life event of a municipality, or the overlay's problems."""
    problems: list[CatalogProblem] = []

    def add(pointer: str, message: str) -> None:
        problems.append(CatalogProblem(file=label, pointer=pointer, message=message))

    definition = standard.definition
    for pointer, message in params_patch_problems(definition.params, overlay.params):
        add(pointer, message)
    offered = [p.procedure for p in definition.procedures]
    for index, name in enumerate(overlay.remove):
        if name not in offered:
            add(f"/remove/{index}", f"the life event offers no {name!r}")
    for index, extra in enumerate(overlay.add):
        if extra.procedure in offered:
            add(f"/add/{index}/procedure", f"the life event offers {extra.procedure!r} already")
    if problems:
        return None, problems
    raw = definition.model_dump(mode="json")
    raw["params"] = merge_patch(raw["params"], overlay.params)
    raw["procedures"] = [p for p in raw["procedures"] if p["procedure"] not in overlay.remove]
    raw["procedures"] += [p.model_dump(mode="json") for p in overlay.add]
    try:
        effective = LifeEventDefinition.model_validate(raw)
    except PydanticValidationError as exc:
        for error in exc.errors():
            add("", f"the effective life event is not valid: {error['msg']}")
        return None, problems
    checker = _Checker(procedures, registry, add)
    scope = Scope(data=_fields(standard.questionnaire, registry), params=effective.params,
                  life_event=True)
    for index, extra in enumerate(overlay.add):
        checker.offered(f"/add/{index}", extra, scope)
    if problems:
        return None, problems
    return LifeEvent(effective, standard.directory, standard.questionnaire, standard.messages,
                     municipality=code), []


def validate_answers(event: LifeEvent, municipality: Municipality | None, answers: object,
                     registry: Registry | None = None) -> ValidationResult:
    """The questionnaire's field errors of ``answers`` (schema first, then a field choosing
    from the municipality's disaster events must name one: ``unknown_disaster_event``)."""
    registry = registry if registry is not None else common_registry()
    result = validate_data(event.questionnaire, answers, messages=event.messages,
                           registry=registry)
    if not result.valid or not isinstance(answers, dict):
        return result
    known = {e.id for e in (municipality.disaster_events if municipality else [])}
    errors = []
    for pointer, chain in iter_fields(event.questionnaire, registry):
        if first(chain, "x-choices") != "disaster_events":
            continue
        value = resolve(answers, pointer, None)
        if value is not None and value not in known:
            text = field_message("unknown_disaster_event", segments(pointer), chain,
                                 event.messages)
            errors.append(FieldError(path=pointer, code="unknown_disaster_event", message=text))
    return ValidationResult(valid=not errors, errors=errors)


def newest(events: Mapping[tuple[str, str], LifeEvent], life_event_id: str) -> LifeEvent | None:
    versions = [e for (eid, _), e in events.items() if eid == life_event_id]
    return max(versions, key=lambda e: version_key(e.version)) if versions else None
