"""The effective procedure of a municipality: a standard package with its overlay applied.

Overlay files (``municipalities/<code>/overlays/<procedure-id>.json``, the model and its
rules in :mod:`forms.overlay`) are read here and applied to each standard version they
cover. This module exists to keep that step apart from loading packages: an overlay's
problems are reported against the overlay file, with a pointer into it, and a refused
overlay makes the procedure unavailable in that municipality without touching the
standard one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError as PydanticValidationError
from referencing import Registry

from forms.definition import ProcedureDefinition
from forms.municipalities import MUNICIPALITIES_DIR
from forms.overlay import (
    Overlay,
    form_problems,
    merge_patch,
    params_patch_problems,
    procedure_patch_problems,
)
from forms.packages import MESSAGE_LANGUAGES, Procedure, included_names, placeholder_problem
from forms.pointers import escape, to_pointer
from forms.problems import UNREADABLE, CatalogProblem, ProblemLog
from forms.schemacheck import check_schema
from forms.schemas import iter_fields

__all__ = ["OVERLAYS_DIR", "apply_overlay", "read_overlays"]

OVERLAYS_DIR = "overlays"


def apply_overlay(
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
    if "params" in overlay.procedure:
        for pointer, message in params_patch_problems(
            standard.definition.params, overlay.procedure["params"]
        ):
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
    scratch = ProblemLog(standard.directory, "form")
    if check_schema(scratch, "form.schema.json", form, registry):
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
    for lang in MESSAGE_LANGUAGES:
        merged = dict(standard.messages.get(lang, {}))
        for key, text in overlay.messages.get(lang, {}).items():
            where = f"/messages/{lang}/{escape(key)}"
            if text is None:
                if key in merged and key.startswith("notice."):
                    add(where, f"the standard message {key!r} cannot be removed")
                merged.pop(key, None)
                continue
            included = included_names(definition or standard.definition)
            if key.startswith("notice.") and (problem := placeholder_problem(
                    text, included.get(key.split(".")[1], ()))):
                add(where, problem)
                continue
            merged[key] = text
        messages[lang] = merged
    for lang in overlay.messages:
        if lang not in MESSAGE_LANGUAGES:
            add(f"/messages/{escape(lang)}", f"unknown language {lang!r} (ja, en)")

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


def read_overlays(
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
        problems = ProblemLog(overlays, f"{MUNICIPALITIES_DIR}/{folder.name}/{OVERLAYS_DIR}")
        for path in sorted(overlays.glob("*.json")):
            before = len(problems.items)
            raw = problems.read_json(path.name)
            overlay = None
            if raw is not UNREADABLE:
                if not isinstance(raw, dict):
                    problems.add(path.name, "", "an overlay must hold a JSON object")
                else:
                    try:
                        overlay = Overlay.model_validate(raw)
                    except PydanticValidationError as exc:
                        problems.model_errors(path.name, exc)
            yield (
                folder.name,
                path.stem,
                f"{problems.label}/{path.name}",
                overlay,
                problems.items[before:],
            )
