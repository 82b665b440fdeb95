"""The procedure catalogue: packages of data a municipality plugs in, checked at load time.

Each subfolder of the catalogue root is one *procedure package*::

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
package in one pass; a broken package never stops its siblings from loading.
"""

from __future__ import annotations

import json
import string
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from jsonschema import Draft202012Validator
from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

if typing.TYPE_CHECKING:
    from referencing._core import Resolver

from forms.attachments import rule_problems
from forms.computations import ComputationRegistry, default_registry
from forms.definition import NoticeEvent, ProcedureDefinition
from forms.municipalities import MUNICIPALITIES_DIR, Municipality, read_municipalities
from forms.overlay import Contact, Overlay, form_problems, merge_patch, procedure_patch_problems
from forms.validation import (
    CHOICE_SOURCES,
    COMMON_BASE_URI,
    COMMON_DIR,
    SCHEMA_DIALECT,
    build_registry,
    common_registry,
    iter_fields,
    schema_chain,
    to_pointer,
    validate_data,
)

__all__ = [
    "DEFAULT_ROOT",
    "NOTICE_EVENTS",
    "NOTICE_PLACEHOLDERS",
    "Catalog",
    "CatalogError",
    "CatalogProblem",
    "Procedure",
    "UnknownProcedure",
    "check_common",
    "check_package",
    "load_package",
    "required_message_keys",
]

DEFAULT_ROOT = Path(__file__).with_name("catalog")
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


class CatalogProblem(BaseModel):
    """Something wrong in a catalogue file, located by a JSON pointer."""

    model_config = ConfigDict(frozen=True)

    file: str
    """``<package>/<path inside it>``, e.g. ``disaster-certificate/procedure.json``."""
    pointer: str
    """JSON pointer into that file (``""`` for the whole file)."""
    message: str

    def __str__(self) -> str:
        where = f"{self.file}#{self.pointer}" if self.pointer else self.file
        return f"{where}: {self.message}"


class CatalogError(Exception):
    """A package could not be loaded; :attr:`problems` lists every reason."""

    def __init__(self, problems: Iterable[CatalogProblem]):
        self.problems: list[CatalogProblem] = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class UnknownProcedure(LookupError):
    """No loaded procedure has that id (and version)."""


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


# --- reading files -------------------------------------------------------------------------


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    # json.loads keeps the last of duplicated keys silently; in a catalogue file that hides
    # a mistake, so it is refused.
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(f"duplicate key {key!r}")
        result[key] = value
    return result


_UNREADABLE = object()


class _Problems:
    """Collects problems of one package (or of the shared schemas)."""

    def __init__(self, directory: Path, label: str):
        self.directory = directory
        self.label = label
        self.items: list[CatalogProblem] = []

    def add(self, relative: str, pointer: str, message: str) -> None:
        self.items.append(
            CatalogProblem(file=f"{self.label}/{relative}", pointer=pointer, message=message)
        )

    def path(self, relative: str, origin: tuple[str, str]) -> Path | None:
        """``relative`` inside the package, or ``None`` (with a problem at ``origin``)."""
        pure = PurePosixPath(relative)
        if not relative or pure.is_absolute() or ".." in pure.parts or "\\" in relative:
            self.add(*origin, f"{relative!r} must be a relative path inside the package")
            return None
        return self.directory.joinpath(*pure.parts)

    def read_json(self, relative: str, origin: tuple[str, str] | None = None) -> object:
        """The parsed file, or ``_UNREADABLE`` after recording why."""
        path = self.path(relative, origin or (relative, ""))
        if path is None:
            return _UNREADABLE
        if not path.is_file():
            if origin is None:
                self.add(relative, "", "file is missing")
            else:
                self.add(*origin, f"names {relative!r}, which does not exist")
            return _UNREADABLE
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.add(relative, "", f"cannot read file: {exc}")
            return _UNREADABLE
        try:
            return json.loads(text, object_pairs_hook=_no_duplicates)
        except json.JSONDecodeError as exc:
            self.add(
                relative, "", f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
            )
        except _DuplicateKey as exc:
            self.add(relative, "", f"invalid JSON: {exc}")
        return _UNREADABLE


# --- schemas -------------------------------------------------------------------------------

# Keywords whose values are data, not subschemas: a "$ref" key inside them is not a reference.
_DATA_KEYWORDS = frozenset(
    {"const", "enum", "default", "examples", "x-messages", "x-enum-titles", "x-attachment"}
)


# Keywords whose values map names to subschemas (so a property may be called "enum").
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _unresolvable_refs(schema: dict, registry: Registry) -> list[tuple[str, str]]:
    """``(pointer, message)`` for every ``$ref`` of ``schema`` that does not resolve."""
    problems: list[tuple[str, str]] = []

    def walk(node: object, pointer: str, resolver: Resolver, is_map: bool) -> None:
        if isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{pointer}/{index}", resolver, False)
            return
        if not isinstance(node, dict):
            return
        if is_map:
            for key, value in node.items():
                walk(value, f"{pointer}/{_escape(key)}", resolver, False)
            return
        if pointer and isinstance(node.get("$id"), str):
            resolver = resolver.in_subresource(DRAFT202012.create_resource(node))
        ref = node.get("$ref")
        if isinstance(ref, str):
            try:
                resolver.lookup(ref)
            except Unresolvable as exc:
                problems.append((f"{pointer}/$ref", f"$ref {ref!r} does not resolve ({exc})"))
        for key, value in node.items():
            if key not in _DATA_KEYWORDS:
                walk(value, f"{pointer}/{_escape(key)}", resolver, key in _SCHEMA_MAPS)

    walk(schema, "", registry.resolver_with_root(DRAFT202012.create_resource(schema)), False)
    return problems


def _check_schema(
    problems: _Problems,
    relative: str,
    schema: object,
    registry: Registry,
) -> bool:
    """Record what is wrong with a schema file's contents; ``True`` if nothing is."""
    before = len(problems.items)
    if not isinstance(schema, dict):
        problems.add(relative, "", "a schema file must hold a JSON object")
        return False
    if schema.get("$schema") != SCHEMA_DIALECT:
        problems.add(relative, "/$schema", f'must declare "$schema": "{SCHEMA_DIALECT}"')
    meta = Draft202012Validator(
        Draft202012Validator.META_SCHEMA, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    meta_errors = sorted(meta.iter_errors(schema), key=lambda e: list(map(str, e.absolute_path)))
    for error in meta_errors:
        problems.add(
            relative,
            to_pointer(list(error.absolute_path)),
            f"not valid JSON Schema: {error.message}",
        )
    if meta_errors:
        return False
    for pointer, message in _unresolvable_refs(schema, registry):
        problems.add(relative, pointer, message)
    _check_fields(problems, relative, schema, registry)
    return len(problems.items) == before


def _check_fields(problems: _Problems, relative: str, schema: dict, registry: Registry) -> None:
    """Every property written in this file has a ja and an en title; x-choices are known.

    Properties reached through a ``$ref`` into another file are that file's business.
    """
    resolver = registry.resolver_with_root(DRAFT202012.create_resource(schema))

    def walk(node: object, pointer: str) -> None:
        if not isinstance(node, dict):
            return
        chain, _ = schema_chain(node, resolver)
        if isinstance(chain[-1].get("$ref"), str):
            return  # an unresolvable $ref, already reported: no second problem for it
        titled = {
            "title": any(isinstance(n.get("title"), str) for n in chain),
            "x-title-en": any(isinstance(n.get("x-title-en"), str) for n in chain),
        }
        for keyword, present in titled.items():
            if not present:
                problems.add(relative, pointer, f"field has no {keyword!r}")
        rule = node.get("x-attachment")
        if rule is not None:
            for where, message in rule_problems(rule):
                problems.add(relative, f"{pointer}/x-attachment{where}", message)
        choices = node.get("x-choices")
        if choices is not None and choices not in CHOICE_SOURCES:
            known = ", ".join(sorted(CHOICE_SOURCES))
            problems.add(
                relative, f"{pointer}/x-choices", f"unknown x-choices {choices!r} (known: {known})"
            )
        props = node.get("properties")
        if isinstance(props, dict):
            for name, child in props.items():
                walk(child, f"{pointer}/properties/{_escape(name)}")

    walk(schema, "")


def check_common(directory: Path = COMMON_DIR) -> list[CatalogProblem]:
    """Check the shared schemas: valid 2020-12, ``$id`` matching the file, refs resolve."""
    problems = _Problems(directory, directory.name)
    schemas: dict[str, dict] = {}
    for path in sorted(directory.glob("*.schema.json")):
        contents = problems.read_json(path.name)
        if contents is _UNREADABLE:
            continue
        if not isinstance(contents, dict):
            problems.add(path.name, "", "a schema file must hold a JSON object")
            continue
        expected = COMMON_BASE_URI + path.name
        if contents.get("$id") != expected:
            problems.add(path.name, "/$id", f"must be {expected!r}")
            continue
        schemas[path.name] = contents
    registry = build_registry(schemas)
    for name, contents in schemas.items():
        _check_schema(problems, name, contents, registry)
    return problems.items


# --- packages ------------------------------------------------------------------------------


def _pydantic_problems(problems: _Problems, exc: PydanticValidationError) -> None:
    for error in exc.errors():
        loc = list(error["loc"])
        if error["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}"
        elif loc and loc[-1] == "[key]":
            loc.pop()
            message = f"invalid key: {error['msg']}"
        else:
            message = error["msg"]
        problems.add("procedure.json", to_pointer(loc), message)


def _dig(raw: object, *keys: str | int) -> object:
    for key in keys:
        if (isinstance(key, int) and isinstance(raw, list) and key < len(raw)) or (
            isinstance(key, str) and isinstance(raw, dict) and key in raw
        ):
            raw = raw[key]
        else:
            return None
    return raw


def _raw_actions(raw: object) -> Iterator[tuple[str, dict]]:
    """``(pointer, action)`` from a procedure.json that may not match the model."""
    stages = _dig(raw, "stages")
    for s, stage in enumerate(stages if isinstance(stages, list) else []):
        actions = _dig(stage, "actions")
        for a, action in enumerate(actions if isinstance(actions, list) else []):
            if isinstance(action, dict):
                yield f"/stages/{s}/actions/{a}", action


class _PackageLoader:
    def __init__(self, directory: Path, registry: Registry, computations: ComputationRegistry):
        self.directory = directory
        self.registry = registry
        self.computations = computations
        self.problems = _Problems(directory, directory.name)

    def run(self) -> Procedure | None:
        # References to other files are taken from the raw JSON, so a procedure.json that
        # fails the model still has its templates and schemas checked in the same pass.
        raw = self.problems.read_json("procedure.json")
        definition = None
        if raw is not _UNREADABLE:
            if not isinstance(raw, dict):
                self.problems.add("procedure.json", "", "must hold a JSON object")
            else:
                try:
                    definition = ProcedureDefinition.model_validate(raw)
                except PydanticValidationError as exc:
                    _pydantic_problems(self.problems, exc)
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

        self._check_distinct_from(raw)
        self._check_templates(raw)
        self._check_dedupe(raw, form_schema)
        notices = _dig(raw, "notices")
        messages = self._messages(list(notices) if isinstance(notices, dict) else [])
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
        if contents is _UNREADABLE:
            return None
        if _check_schema(self.problems, relative, contents, self.registry):
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
            where = f"{pointer}/compute/{_escape(name)}"
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

    def _messages(self, events: list[str]) -> dict[str, dict[str, str]] | None:
        result: dict[str, dict[str, str]] = {}
        loaded: dict[str, tuple[dict[str, str], bool]] = {}
        formatter = string.Formatter()
        for lang in MESSAGE_LANGUAGES:
            relative = f"messages.{lang}.json"
            contents = self.problems.read_json(relative)
            if contents is _UNREADABLE:
                continue
            if not isinstance(contents, dict):
                self.problems.add(relative, "", "must hold a JSON object of key -> text")
                continue
            good = True
            for key, text in contents.items():
                if not isinstance(text, str):
                    self.problems.add(relative, f"/{_escape(key)}", "must be a string")
                    good = False
                elif key.startswith("notice."):
                    try:
                        names = {f for _, f, _, _ in formatter.parse(text) if f is not None}
                    except ValueError as exc:
                        self.problems.add(relative, f"/{_escape(key)}", f"bad placeholder: {exc}")
                        good = False
                        continue
                    unknown = sorted(names - NOTICE_PLACEHOLDERS)
                    if unknown:
                        allowed = ", ".join(sorted(NOTICE_PLACEHOLDERS))
                        self.problems.add(
                            relative,
                            f"/{_escape(key)}",
                            f"unknown placeholder(s) {unknown} (allowed: {allowed})",
                        )
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
            if data is _UNREADABLE:
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
    loader = _PackageLoader(directory, common_registry(), default_registry())
    loader.run()
    return loader.problems.items


def load_package(directory: Path) -> Procedure:
    """Load one procedure package.

    :raises CatalogError: listing every problem, if there is any.
    """
    loader = _PackageLoader(directory, common_registry(), default_registry())
    procedure = loader.run()
    if procedure is None:
        raise CatalogError(loader.problems.items)
    return procedure


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split("."))


# --- overlays ------------------------------------------------------------------------------

OVERLAYS_DIR = "overlays"


def _overlay_procedure(
    standard: Procedure,
    overlay: Overlay,
    code: str,
    label: str,
    registry: Registry,
) -> tuple[Procedure | None, list[CatalogProblem]]:
    """The effective procedure of ``standard`` with ``overlay`` applied, or its problems."""
    problems: list[CatalogProblem] = []

    def add(pointer: str, message: str) -> None:
        problems.append(CatalogProblem(file=label, pointer=pointer, message=message))

    for pointer, message in procedure_patch_problems(overlay.procedure):
        add(f"/procedure{pointer}", message)
    definition = None
    if not problems:
        raw = merge_patch(standard.definition.model_dump(mode="json"), overlay.procedure)
        try:
            definition = ProcedureDefinition.model_validate(raw)
        except PydanticValidationError as exc:
            for error in exc.errors():
                add("/procedure" + to_pointer(list(error["loc"])), error["msg"])

    form = merge_patch(standard.form_schema, overlay.form)
    scratch = _Problems(standard.directory, "form")
    if _check_schema(scratch, "form.schema.json", form, registry):
        for pointer, message in form_problems(standard.form_schema, form, overlay.form, registry):
            add(f"/form{pointer}", message)
        fields = {p for p, _ in iter_fields(form, registry)}
        for index, pointer in enumerate(standard.definition.dedupe.fields):
            if pointer not in fields:
                add(
                    "/form",
                    f"{pointer} is part of the dedupe rule ({standard.id} "
                    f"procedure.json#/dedupe/fields/{index}) and cannot be removed",
                )
    for item in scratch.items:
        add(f"/form{item.pointer}", item.message)

    messages: dict[str, dict[str, str]] = {}
    formatter = string.Formatter()
    for lang in MESSAGE_LANGUAGES:
        merged = dict(standard.messages.get(lang, {}))
        for key, text in overlay.messages.get(lang, {}).items():
            where = f"/messages/{lang}/{_escape(key)}"
            if text is None:
                if key in merged and key.startswith("notice."):
                    add(where, f"the standard message {key!r} cannot be removed")
                merged.pop(key, None)
                continue
            if key.startswith("notice."):
                try:
                    names = {f for _, f, _, _ in formatter.parse(text) if f is not None}
                except ValueError as exc:
                    add(where, f"bad placeholder: {exc}")
                    continue
                unknown = sorted(names - NOTICE_PLACEHOLDERS)
                if unknown:
                    allowed = ", ".join(sorted(NOTICE_PLACEHOLDERS))
                    add(where, f"unknown placeholder(s) {unknown} (allowed: {allowed})")
                    continue
            merged[key] = text
        messages[lang] = merged
    for lang in overlay.messages:
        if lang not in MESSAGE_LANGUAGES:
            add(f"/messages/{_escape(lang)}", f"unknown language {lang!r} (ja, en)")

    if problems or definition is None:
        return None, problems
    return Procedure(
        definition=definition,
        directory=standard.directory,
        form_schema=form,
        step_schemas=standard.step_schemas,
        messages=messages,
        municipality=code,
        contact=overlay.contact,
    ), []


def _read_overlays(
    root: Path,
) -> Iterator[tuple[str, str, str, Overlay | None, list[CatalogProblem]]]:
    """``(code, procedure id, file label, overlay or None, problems)`` under ``root``."""
    base = root / MUNICIPALITIES_DIR
    if not base.is_dir():
        return
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        overlays = folder / OVERLAYS_DIR
        if folder.name.startswith((".", "_")) or not overlays.is_dir():
            continue
        problems = _Problems(overlays, f"{MUNICIPALITIES_DIR}/{folder.name}/{OVERLAYS_DIR}")
        for path in sorted(overlays.glob("*.json")):
            before = len(problems.items)
            raw = problems.read_json(path.name)
            overlay = None
            if raw is not _UNREADABLE:
                if not isinstance(raw, dict):
                    problems.add(path.name, "", "an overlay must hold a JSON object")
                else:
                    try:
                        overlay = Overlay.model_validate(raw)
                    except PydanticValidationError as exc:
                        for error in exc.errors():
                            loc = list(error["loc"])
                            message = (
                                f"unknown key {loc[-1]!r}"
                                if error["type"] == "extra_forbidden"
                                else error["msg"]
                            )
                            problems.add(path.name, to_pointer(loc), message)
            yield (
                folder.name,
                path.stem,
                f"{problems.label}/{path.name}",
                overlay,
                problems.items[before:],
            )


# --- the catalogue -------------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    procedures: dict[tuple[str, str], Procedure]
    effective: dict[tuple[str, str, str], Procedure]
    refused: dict[tuple[str, str, str], str]
    """(id, version, municipality) whose overlay was refused -> the overlay file."""
    municipalities: dict[str, Municipality]
    problems: list[CatalogProblem]
    by_directory: dict[Path, Procedure]


def _fingerprint(roots: Iterable[Path]) -> tuple[tuple[str, int, int], ...]:
    entries = []
    for root in roots:
        if not root.is_dir():
            continue
        for path in root.rglob("*"):
            if path.is_file() and not any(part.startswith(".") for part in path.parts[-3:]):
                stat = path.stat()
                entries.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(sorted(entries))


class MunicipalityView(typing.Mapping[str, Municipality]):
    """The catalogue's municipalities by code; follows reloads (a live view)."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def __getitem__(self, code: str) -> Municipality:
        return self._catalog._state.municipalities[code]

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self._catalog._state.municipalities))

    def __len__(self) -> int:
        return len(self._catalog._state.municipalities)


class Catalog:
    """The loaded procedures by id and version, the municipalities and their overlays, and
    what could not be loaded.

    A catalogue made by :meth:`load` remembers its roots and can :meth:`reload` them: the
    new contents replace the old in one step (readers see either), a package that loaded
    before and is broken now keeps its last good contents (cases pinned to it keep their
    notices and documents) while its problems are listed, and a new id or version asked
    for by :meth:`get` triggers a reload if any file under the roots changed, so a worker
    finds a version added after it started.
    """

    def __init__(
        self, procedures: Iterable[Procedure] = (), problems: Iterable[CatalogProblem] = ()
    ):
        found: dict[tuple[str, str], Procedure] = {}
        for procedure in procedures:
            key = (procedure.id, procedure.version)
            if key in found:
                raise ValueError(f"procedure {key[0]} {key[1]} given twice")
            found[key] = procedure
        self._roots: tuple[Path, ...] = ()
        self._fingerprint: tuple[tuple[str, int, int], ...] = ()
        self._state = _State(
            found, {}, {}, {}, list(problems), {p.directory: p for p in found.values()}
        )
        self.municipalities: typing.Mapping[str, Municipality] = MunicipalityView(self)

    @property
    def problems(self) -> list[CatalogProblem]:
        """Everything that could not be loaded at the last (re)load, with file and pointer."""
        return list(self._state.problems)

    @property
    def roots(self) -> tuple[Path, ...]:
        return self._roots

    @classmethod
    def load(cls, *roots: Path | None) -> Catalog:
        """Load every package under the ``roots`` (default: the packaged ``forms/catalog``).

        Each root holds procedure folders (``<id>/``, ``<id>@<version>/``) and a
        ``municipalities/`` folder; later roots add to earlier ones. Never raises for a bad
        package: it is left out and its problems are kept in :attr:`problems`, with those of
        the shared schemas, municipalities and overlays. Two packages declaring the same id
        and version are both left out, since neither can be trusted to be the one in force.
        """
        chosen = tuple(r for r in roots if r is not None) or (DEFAULT_ROOT,)
        catalog = cls()
        catalog._roots = chosen
        catalog.reload()
        return catalog

    @classmethod
    def configured(cls, catalog_dir: Path | None) -> Catalog:
        """The packaged catalogue extended by ``catalog_dir`` (``MADOGUCHI_CATALOG_DIR``)."""
        return cls.load(DEFAULT_ROOT, catalog_dir)

    def reload(self) -> list[CatalogProblem]:
        """Read the roots again and swap the new contents in; returns the problems.

        :raises RuntimeError: for a catalogue built from objects rather than loaded.
        """
        if not self._roots:
            raise RuntimeError("this catalogue was not loaded from directories")
        fingerprint = _fingerprint(self._roots)
        self._state = self._build(self._state)
        self._fingerprint = fingerprint
        return self.problems

    def refresh_if_changed(self) -> bool:
        """Reload if a file under the roots changed since the last load; True if it did."""
        if not self._roots or _fingerprint(self._roots) == self._fingerprint:
            return False
        self.reload()
        return True

    def _build(self, previous: _State) -> _State:
        problems = check_common()
        registry = common_registry()
        computations = default_registry()
        loaded: dict[tuple[str, str], list[Procedure]] = {}
        by_directory: dict[Path, Procedure] = {}
        for root in self._roots:
            if not root.is_dir():
                problems.append(
                    CatalogProblem(
                        file=str(root), pointer="", message="catalogue directory does not exist"
                    )
                )
                continue
            for directory in sorted(p for p in root.iterdir() if p.is_dir()):
                if directory.name.startswith((".", "_")) or directory.name == MUNICIPALITIES_DIR:
                    continue
                loader = _PackageLoader(directory, registry, computations)
                procedure = loader.run()
                problems.extend(loader.problems.items)
                if procedure is None:
                    procedure = previous.by_directory.get(directory.resolve())
                    if procedure is None:
                        continue
                    problems.append(
                        CatalogProblem(
                            file=f"{directory.name}/procedure.json",
                            pointer="",
                            message=f"the contents loaded before ({procedure.id} "
                            f"{procedure.version}) stay in force until the problems are fixed",
                        )
                    )
                by_directory[procedure.directory] = procedure
                loaded.setdefault((procedure.id, procedure.version), []).append(procedure)
        procedures: dict[tuple[str, str], Procedure] = {}
        for key, candidates in loaded.items():
            if len(candidates) == 1:
                procedures[key] = candidates[0]
                continue
            folders = ", ".join(p.directory.name for p in candidates)
            for candidate in candidates:
                problems.append(
                    CatalogProblem(
                        file=f"{candidate.directory.name}/procedure.json",
                        pointer="/version",
                        message=f"{key[0]} {key[1]} is declared by several packages "
                        f"({folders}); none of them is loaded",
                    )
                )

        municipalities, municipal_problems = read_municipalities(self._roots)
        problems.extend(
            CatalogProblem(file=f, pointer=p, message=m) for f, p, m in municipal_problems
        )

        effective: dict[tuple[str, str, str], Procedure] = {}
        refused: dict[tuple[str, str, str], str] = {}
        overlays: dict[tuple[str, str], tuple[str, Overlay | None, list[CatalogProblem]]] = {}
        for root in self._roots:
            for code, procedure_id, label, overlay, found in _read_overlays(root):
                overlays[(code, procedure_id)] = (label, overlay, found)  # later roots win
        for (code, procedure_id), (label, overlay, found) in sorted(overlays.items()):
            versions = [p for (pid, _), p in procedures.items() if pid == procedure_id]
            if code not in municipalities:
                found = [
                    *found,
                    CatalogProblem(
                        file=label, pointer="", message=f"no municipality {code} is defined"
                    ),
                ]
            if not versions:
                found = [
                    *found,
                    CatalogProblem(
                        file=label,
                        pointer="",
                        message=f"no standard procedure {procedure_id!r} to adopt",
                    ),
                ]
            problems.extend(found)
            for standard in versions:
                key = (procedure_id, standard.version, code)
                if found or overlay is None:
                    refused[key] = label
                    continue
                if not overlay.applies_to(standard.version):
                    continue
                result, overlay_problems = _overlay_procedure(
                    standard, overlay, code, label, registry
                )
                if result is None:
                    refused[key] = label
                    problems.extend(
                        CatalogProblem(
                            file=p.file,
                            pointer=p.pointer,
                            message=f"{p.message} (version {standard.version})",
                        )
                        for p in overlay_problems
                    )
                else:
                    effective[key] = result
        return _State(procedures, effective, refused, municipalities, problems, by_directory)

    def get(
        self, procedure_id: str, version: str | None = None, municipality: str | None = None
    ) -> Procedure:
        """The procedure with that id: the given version, or the highest one; with
        ``municipality``, the effective definition after that municipality's overlay.

        :raises UnknownProcedure: if there is none, or the municipality's overlay of it
            was refused (see :attr:`problems`).
        """
        try:
            standard = self._standard(procedure_id, version)
        except UnknownProcedure:
            if not self.refresh_if_changed():
                raise
            standard = self._standard(procedure_id, version)
        if municipality is None:
            return standard
        key = (standard.id, standard.version, municipality)
        state = self._state
        if key in state.refused:
            raise UnknownProcedure(
                f"procedure {procedure_id!r} is not available in {municipality}: its overlay "
                f"{state.refused[key]} was refused"
            )
        return state.effective.get(key, standard)

    def _standard(self, procedure_id: str, version: str | None) -> Procedure:
        procedures = self._state.procedures
        if version is not None:
            try:
                return procedures[(procedure_id, version)]
            except KeyError:
                raise UnknownProcedure(
                    f"no procedure {procedure_id!r} version {version!r}"
                ) from None
        versions = [p for (pid, _), p in procedures.items() if pid == procedure_id]
        if not versions:
            raise UnknownProcedure(f"no procedure {procedure_id!r}")
        return max(versions, key=lambda p: _version_key(p.version))

    def procedures(self, municipality: str | None = None) -> list[Procedure]:
        """Every loaded procedure version, sorted by id then version; with
        ``municipality``, the effective ones it offers (refused overlays left out)."""
        ordered = sorted(
            self._state.procedures.values(), key=lambda p: (p.id, _version_key(p.version))
        )
        if municipality is None:
            return ordered
        result = []
        for procedure in ordered:
            try:
                result.append(self.get(procedure.id, procedure.version, municipality))
            except UnknownProcedure:
                continue
        return result

    def latest(self, municipality: str | None = None) -> list[Procedure]:
        """The newest version of each procedure (what new applications use)."""
        newest: dict[str, Procedure] = {}
        for procedure in self.procedures(municipality):
            newest[procedure.id] = procedure  # sorted by version: the last one wins
        return list(newest.values())
