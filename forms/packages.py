"""Procedure packages: one folder of data checked and loaded into a :class:`Procedure`.

Each subfolder of a catalogue root is one *procedure package*::

    disaster-certificate/
        procedure.json          the ProcedureDefinition (forms.definition)
        form.schema.json        JSON Schema 2020-12 of the application form
        survey.schema.json      schemas named by actions' "input_schema"
        templates/...           document templates named by "documents"
        messages.ja.json        flat key -> text, with every notice.<event>.title/body
        messages.en.json
        examples/valid-*.json   sample applications; each must satisfy the form

A package is loaded only if nothing is wrong with it. Every problem is reported at once,
each with the file (``<package>/<path>``) and a JSON pointer into it, so an author fixes a
package in one pass. This module exists for that one job: one folder in, a procedure or
its problems out; the catalogue (:mod:`forms.loading`) decides what to do with many.
"""

from __future__ import annotations

import string
import typing
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from pydantic import ValidationError as PydanticValidationError
from referencing import Registry

from forms.computations import ComputationRegistry, default_registry
from forms.definition import NoticeEvent, ProcedureDefinition
from forms.expressions import Scope
from forms.expressions import check as check_expression
from forms.overlay import Contact
from forms.pointers import escape, resolve, to_pointer
from forms.problems import UNREADABLE, CatalogError, CatalogProblem, ProblemLog
from forms.schemacheck import check_schema
from forms.schemas import common_registry, first, iter_fields
from forms.validation import validate_data

__all__ = [
    "MESSAGE_LANGUAGES",
    "NOTICE_EVENTS",
    "NOTICE_PLACEHOLDERS",
    "Procedure",
    "check_package",
    "load_package",
    "placeholder_problem",
    "required_message_keys",
    "version_key",
]

NOTICE_EVENTS: tuple[str, ...] = typing.get_args(NoticeEvent)
#: What a notice title or body may name, in ``str.format`` syntax. The notice sender
#: supplies all of them (an empty string where the event has none).
NOTICE_PLACEHOLDERS = frozenset(
    {"application_id", "procedure_title", "comment", "due_date", "document_title"}
)
MESSAGE_LANGUAGES = ("ja", "en")


def required_message_keys(events: Iterable[str] | None = None) -> list[str]:
    """The keys a messages file must define: a title and body per event the procedure
    notifies (``procedure.json``'s ``notices``), or per engine event when none is given."""
    chosen = NOTICE_EVENTS if events is None else tuple(events)
    return [f"notice.{event}.{part}" for event in chosen for part in ("title", "body")]


@dataclass(frozen=True)
class Procedure:
    """A loaded, checked procedure package."""

    definition: ProcedureDefinition
    directory: Path
    form_schema: dict = field(repr=False)
    step_schemas: dict[str, dict] = field(repr=False)
    """Schemas of action inputs keyed by file name, e.g. ``"survey.schema.json"``."""
    messages: dict[str, dict[str, str]] = field(repr=False)
    """``{"ja": {...}, "en": {...}}``."""
    municipality: str | None = None
    """The municipality whose overlay made this effective definition (``None``: standard)."""
    contact: Contact | None = None
    """Where residents ask about it, from the municipality's overlay."""

    @property
    def id(self) -> str:
        return self.definition.id

    @property
    def version(self) -> str:
        return self.definition.version

    def message(self, key: str, lang: str) -> str:
        """The text for ``key`` in ``lang``, falling back to Japanese.

        :raises KeyError: if neither language defines ``key``.
        """
        text = self.messages.get(lang, {}).get(key)
        if text is None:
            text = self.messages.get("ja", {}).get(key)
        if text is None:
            raise KeyError(f"procedure {self.id!r} has no message {key!r}")
        return text


def placeholder_problem(text: str, included: Collection[str] = ()) -> str | None:
    """What is wrong with the placeholders of a notice title or body, or ``None``.

    :param included: the names the notice's ``include`` declares (allowed too).
    """
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as exc:
        return f"bad placeholder: {exc}"
    known = NOTICE_PLACEHOLDERS | set(included)
    unknown = sorted(names - known)
    if unknown:
        allowed = ", ".join(sorted(known))
        return f"unknown placeholder(s) {unknown} (allowed: {allowed})"
    return None


def included_names(definition: ProcedureDefinition) -> dict[str, frozenset[str]]:
    """Event -> the value names its notice declares (``include``)."""
    return {event: frozenset(rule.include) for event, rule in definition.notices.items()}


def _included(notices: object) -> dict[str, frozenset[str]]:
    if not isinstance(notices, dict):
        return {}
    found = {}
    for event, rule in notices.items():
        include = _dig(rule, "include")
        if isinstance(include, dict):
            found[event] = frozenset(include)
    return found


def _dig(raw: object, *keys: str) -> object:
    # procedure.json is read raw as well as through the model, so that a file failing
    # the model still has its references checked: absent or mistyped parts read None.
    return resolve(raw, to_pointer(keys), None)


def _raw_actions(raw: object) -> Iterator[tuple[str, dict]]:
    """``(pointer, action)`` from a procedure.json that may not match the model."""
    stages = _dig(raw, "stages")
    for s, stage in enumerate(stages if isinstance(stages, list) else []):
        actions = _dig(stage, "actions")
        for a, action in enumerate(actions if isinstance(actions, list) else []):
            if isinstance(action, dict):
                yield f"/stages/{s}/actions/{a}", action


class PackageLoader:
    def __init__(self, directory: Path, registry: Registry, computations: ComputationRegistry):
        self.directory = directory
        self.registry = registry
        self.computations = computations
        self.problems = ProblemLog(directory, directory.name)

    def run(self) -> Procedure | None:
        # References to other files are taken from the raw JSON, so a procedure.json that
        # fails the model still has its templates and schemas checked in the same pass.
        raw = self.problems.read_json("procedure.json")
        definition = None
        if raw is not UNREADABLE:
            if not isinstance(raw, dict):
                self.problems.add("procedure.json", "", "must hold a JSON object")
            else:
                try:
                    definition = ProcedureDefinition.model_validate(raw)
                except PydanticValidationError as exc:
                    self.problems.model_errors("procedure.json", exc)
        else:
            raw = None

        form_name = _dig(raw, "form")
        form_name = form_name if isinstance(form_name, str) else "form.schema.json"
        form_origin = ("procedure.json", "/form") if _dig(raw, "form") else None
        form_schema = self._schema(form_name, form_origin)

        step_schemas: dict[str, dict] = {}
        for pointer, action in _raw_actions(raw):
            name = action.get("input_schema")
            if isinstance(name, str) and name not in step_schemas:
                schema = self._schema(name, ("procedure.json", f"{pointer}/input_schema"))
                if schema is not None:
                    step_schemas[name] = schema
            self._check_computations(pointer, action, step_schemas)

        self._check_expressions(raw, form_schema, step_schemas)
        self._check_distinct_from(raw)
        self._check_templates(raw)
        self._check_dedupe(raw, form_schema)
        notices = _dig(raw, "notices")
        messages = self._messages(list(notices) if isinstance(notices, dict) else [],
                                  _included(notices))
        if form_schema is not None:
            self._check_examples(form_schema, messages or {})

        if definition is not None:
            self._check_folder_name(definition)
        if self.problems.items or definition is None or form_schema is None or messages is None:
            return None
        return Procedure(
            definition=definition,
            directory=self.directory.resolve(),
            form_schema=form_schema,
            step_schemas=step_schemas,
            messages=messages,
        )

    def _check_folder_name(self, definition: ProcedureDefinition) -> None:
        # Versions live side by side as <id>@<version>/; a folder claiming one version
        # while its procedure.json says another would pin the wrong definition.
        name = self.directory.name
        if "@" not in name:
            return
        folder_id, _, folder_version = name.partition("@")
        if folder_id != definition.id:
            self.problems.add(
                "procedure.json",
                "/id",
                f"folder {name!r} is for {folder_id!r}, not {definition.id!r}",
            )
        if folder_version != definition.version:
            self.problems.add(
                "procedure.json",
                "/version",
                f"folder {name!r} is for version {folder_version}, not {definition.version}",
            )

    def _schema(self, relative: str, origin: tuple[str, str] | None) -> dict | None:
        contents = self.problems.read_json(relative, origin)
        if contents is UNREADABLE:
            return None
        if check_schema(self.problems, relative, contents, self.registry):
            return typing.cast(dict, contents)
        return None

    def _check_computations(
        self, pointer: str, action: dict, step_schemas: dict[str, dict]
    ) -> None:
        compute = action.get("compute")
        if not isinstance(compute, dict):
            return
        schema = step_schemas.get(action.get("input_schema") or "")
        fields = {p for p, _ in iter_fields(schema, self.registry)} if schema else set()
        for name, spec in compute.items():
            where = f"{pointer}/compute/{escape(name)}"
            function = _dig(spec, "function")
            if isinstance(function, str) and function not in self.computations:
                known = ", ".join(self.computations.names())
                self.problems.add(
                    "procedure.json",
                    f"{where}/function",
                    f"unknown computation {function!r} (known: {known})",
                )
            source = _dig(spec, "input")
            if not isinstance(source, str):
                continue
            if not action.get("input_schema"):
                self.problems.add(
                    "procedure.json", f"{where}/input", "a computation needs an input_schema"
                )
            elif schema is not None and source not in fields:
                self.problems.add(
                    "procedure.json",
                    f"{where}/input",
                    f"{source!r} is not a field of {action['input_schema']}",
                )

    def _fields(self, schema: dict | None) -> dict[str, str | None] | None:
        if schema is None:
            return None
        found: dict[str, str | None] = {}
        for pointer, chain in iter_fields(schema, self.registry):
            kind = first(chain, "type")
            found[pointer] = kind if isinstance(kind, str) else None
        return found

    def _check_expressions(
        self, raw: object, form_schema: dict | None, step_schemas: dict[str, dict]
    ) -> None:
        """Every expression compiles and names only what the package declares."""
        params = _dig(raw, "params")
        params = params if isinstance(params, dict) else {}
        steps: dict[str, dict[str, str | None] | None] = {}
        computed: dict[str, frozenset[str] | None] = {}
        actions = list(_raw_actions(raw))
        for _, action in actions:
            action_id = action.get("id")
            if not isinstance(action_id, str):
                continue
            schema_name = action.get("input_schema")
            steps[action_id] = (
                self._fields(step_schemas.get(schema_name)) if isinstance(schema_name, str)
                else None
            )
            compute = action.get("compute")
            for name, spec in (compute.items() if isinstance(compute, dict) else []):
                values = _dig(spec, "values")
                computed[name] = frozenset(values) if isinstance(values, dict) else None
        # With the form unreadable, names under data cannot be checked: its problems are
        # reported already, so expressions are checked only with the form's fields known.
        data = self._fields(form_schema)
        if data is None:
            return
        full = Scope(data=data, steps=steps, computed=computed, params=params)
        for pointer, action in actions:
            compute = action.get("compute")
            for name, spec in (compute.items() if isinstance(compute, dict) else []):
                where = f"{pointer}/compute/{escape(name)}"
                value = _dig(spec, "value")
                if value is not None:
                    self._expression_problems(f"{where}/value", value, full)
                values = _dig(spec, "values")
                before: list[str] = []
                for key, text in (values.items() if isinstance(values, dict) else []):
                    # A key reads only the keys before it: they are evaluated in order.
                    scope = replace(full, computed={**computed, name: frozenset(before)})
                    self._expression_problems(f"{where}/values/{escape(key)}", text, scope)
                    before.append(key)
        for pointer, action in actions:
            routes = action.get("routes")
            for index, route in enumerate(routes if isinstance(routes, list) else []):
                text = _dig(route, "when")
                if text is not None:
                    self._expression_problems(f"{pointer}/routes/{index}/when", text, full)
        for block in ("notices", "documents"):
            entries = _dig(raw, block)
            items = (entries.items() if isinstance(entries, dict)
                     else enumerate(entries) if isinstance(entries, list) else [])
            for key, entry in items:
                include = _dig(entry, "include")
                for name, text in (include.items() if isinstance(include, dict) else []):
                    self._expression_problems(
                        f"/{block}/{escape(str(key))}/include/{escape(name)}", text, full)
        # Eligibility is checked at filing: no step or computed value exists yet; the
        # sign-in and the municipality's events do.
        filing = Scope(data=data, params=params, filing=True)
        rules = _dig(raw, "eligibility")
        for index, rule in enumerate(rules if isinstance(rules, list) else []):
            text = _dig(rule, "rule")
            if text is not None:
                self._expression_problems(f"/eligibility/{index}/rule", text, filing)
            target = _dig(rule, "field")
            if isinstance(target, str) and target and target not in data:
                self._problems_add(f"/eligibility/{index}/field",
                                   f"{target!r} is not a field of the form")

    def _problems_add(self, pointer: str, message: str) -> None:
        self.problems.add("procedure.json", pointer, message)

    def _expression_problems(self, pointer: str, text: object, scope: Scope) -> None:
        for message in check_expression(text, scope):
            self._problems_add(pointer, message)

    def _check_distinct_from(self, raw: object) -> None:
        # definition.py does not check these ids; a typo would silently switch the
        # four-eyes rule off.
        action_ids = {a.get("id") for _, a in _raw_actions(raw)}
        for pointer, action in _raw_actions(raw):
            names = action.get("distinct_from")
            for index, name in enumerate(names if isinstance(names, list) else []):
                if name not in action_ids:
                    self.problems.add(
                        "procedure.json",
                        f"{pointer}/distinct_from/{index}",
                        f"names unknown action {name!r}",
                    )

    def _check_templates(self, raw: object) -> None:
        documents = _dig(raw, "documents")
        for d, document in enumerate(documents if isinstance(documents, list) else []):
            template = _dig(document, "template")
            if not isinstance(template, str):
                continue
            origin = ("procedure.json", f"/documents/{d}/template")
            path = self.problems.path(template, origin)
            if path is not None and not path.is_file():
                self.problems.add(*origin, f"template {template!r} does not exist")

    def _check_dedupe(self, raw: object, form_schema: dict | None) -> None:
        pointers = _dig(raw, "dedupe", "fields")
        if form_schema is None or not isinstance(pointers, list):
            return
        # A mistyped pointer would always read null and silently merge unrelated
        # applications into one workflow id: refuse it.
        fields = {p for p, _ in iter_fields(form_schema, self.registry)}
        for index, pointer in enumerate(pointers):
            if isinstance(pointer, str) and pointer not in fields:
                self.problems.add(
                    "procedure.json",
                    f"/dedupe/fields/{index}",
                    f"{pointer!r} is not a field of the form",
                )

    def _messages(self, events: list[str], included: Mapping[str, Collection[str]]
                  ) -> dict[str, dict[str, str]] | None:
        result: dict[str, dict[str, str]] = {}
        loaded: dict[str, tuple[dict[str, str], bool]] = {}
        for lang in MESSAGE_LANGUAGES:
            relative = f"messages.{lang}.json"
            contents = self.problems.read_json(relative)
            if contents is UNREADABLE:
                continue
            if not isinstance(contents, dict):
                self.problems.add(relative, "", "must hold a JSON object of key -> text")
                continue
            good = True
            for key, text in contents.items():
                if not isinstance(text, str):
                    self.problems.add(relative, f"/{escape(key)}", "must be a string")
                    good = False
                elif key.startswith("notice.") and (problem := placeholder_problem(
                        text, included.get(key.split(".")[1], ()))):
                    self.problems.add(relative, f"/{escape(key)}", problem)
                    good = False
            loaded[lang] = (contents, good)
        # Required: the events the procedure notifies, and any notice text one language
        # has and the other lacks (so a resident never gets a notice in half a language).
        required = set(required_message_keys(events)) | {
            key for contents, _ in loaded.values() for key in contents if key.startswith("notice.")
        }
        for lang, (contents, good) in loaded.items():
            for key in sorted(required - contents.keys()):
                self.problems.add(f"messages.{lang}.json", "", f"missing message {key!r}")
                good = False
            if good:
                result[lang] = contents
        return result if len(result) == len(MESSAGE_LANGUAGES) else None

    def _check_examples(self, form_schema: dict, messages: dict[str, dict[str, str]]) -> None:
        examples = self.directory / "examples"
        for path in sorted(examples.glob("valid-*.json")):
            relative = f"examples/{path.name}"
            data = self.problems.read_json(relative)
            if data is UNREADABLE:
                continue
            result = validate_data(form_schema, data, messages=messages, registry=self.registry)
            for error in result.errors:
                self.problems.add(
                    relative,
                    error.path,
                    f"example does not validate: {error.code}: {error.message['en']}",
                )


def check_package(directory: Path) -> list[CatalogProblem]:
    """Check one procedure package offline; an empty list means it loads.

    Problems name files as ``<folder name>/<path>``. The shared schemas are not checked
    here (see :func:`check_common`).
    """
    loader = PackageLoader(directory, common_registry(), default_registry())
    loader.run()
    return loader.problems.items


def load_package(directory: Path) -> Procedure:
    """Load one procedure package.

    :raises CatalogError: listing every problem, if there is any.
    """
    loader = PackageLoader(directory, common_registry(), default_registry())
    procedure = loader.run()
    if procedure is None:
        raise CatalogError(loader.problems.items)
    return procedure


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))
