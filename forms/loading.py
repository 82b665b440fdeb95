"""Loading a catalogue: every package, municipality and overlay under the roots, at once.

This module exists for the step from directories to one immutable :class:`CatalogState`:
later roots add to earlier ones, two packages declaring the same id and version are both
left out (neither can be trusted to be the one in force), overlays are applied per
municipality, and every problem is kept with its file and JSON pointer. Serving lookups
from a state is :mod:`forms.catalog`'s job; deciding when to build a new one is
:mod:`forms.reload`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from referencing import Registry

from forms.computations import default_registry
from forms.effective import apply_overlay, read_overlays
from forms.lifeevent_packages import (
    LIFE_EVENTS_DIR,
    LifeEvent,
    apply_life_event_overlay,
    load_life_events,
    read_life_event_overlays,
)
from forms.municipalities import MUNICIPALITIES_DIR, Municipality, read_municipalities
from forms.overlay import Overlay
from forms.packages import PackageLoader, Procedure, version_key
from forms.problems import CatalogProblem
from forms.schemacheck import check_common
from forms.schemas import common_registry

__all__ = ["CatalogState", "build_state"]


@dataclass(frozen=True)
class CatalogState:
    """What one (re)load found; replaced whole, never changed."""

    procedures: dict[tuple[str, str], Procedure]
    effective: dict[tuple[str, str, str], Procedure]
    refused: dict[tuple[str, str, str], str]
    """(id, version, municipality) whose overlay was refused -> the overlay file."""
    municipalities: dict[str, Municipality]
    problems: list[CatalogProblem]
    by_directory: dict[Path, Procedure]
    life_events: dict[tuple[str, str], LifeEvent] = field(default_factory=dict)
    """Life events by (id, version), as defined (no overlay)."""
    effective_life_events: dict[tuple[str, str, str], LifeEvent] = field(default_factory=dict)
    """(id, version, municipality) -> the life event with that municipality's overlay."""
    refused_life_events: dict[tuple[str, str, str], str] = field(default_factory=dict)
    """(id, version, municipality) whose overlay was refused -> the overlay file."""


def build_state(roots: tuple[Path, ...], previous: CatalogState | None = None) -> CatalogState:
    """Read every package, municipality and overlay under ``roots`` into a new state.

    Never raises for bad contents: what cannot be loaded is left out and its problems
    are listed. A package that loaded in ``previous`` and is broken now keeps its last
    good contents (with a problem saying so).
    """
    previous_by_directory = previous.by_directory if previous is not None else {}
    problems = check_common()
    registry = common_registry()
    computations = default_registry()
    loaded: dict[tuple[str, str], list[Procedure]] = {}
    by_directory: dict[Path, Procedure] = {}
    for root in roots:
        if not root.is_dir():
            problems.append(
                CatalogProblem(
                    file=str(root), pointer="", message="catalogue directory does not exist"
                )
            )
            continue
        for directory in sorted(p for p in root.iterdir() if p.is_dir()):
            if directory.name.startswith((".", "_")) or directory.name in (
                    MUNICIPALITIES_DIR, LIFE_EVENTS_DIR):
                continue
            loader = PackageLoader(directory, registry, computations)
            procedure = loader.run()
            problems.extend(loader.problems.items)
            if procedure is None:
                procedure = previous_by_directory.get(directory.resolve())
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

    municipalities, municipal_problems = read_municipalities(roots)
    problems.extend(CatalogProblem(file=f, pointer=p, message=m) for f, p, m in municipal_problems)

    overlays: dict[tuple[str, str], tuple[str, Overlay | None, list[CatalogProblem]]] = {}
    for root in roots:
        for code, procedure_id, label, overlay, found in read_overlays(root):
            overlays[(code, procedure_id)] = (label, overlay, found)  # later roots win
    # A municipality refused for its own files has said why already: its overlays add nothing.
    failed_municipalities = {f.split("/")[1] for f, _, _ in municipal_problems
                             if f.startswith(f"{MUNICIPALITIES_DIR}/")}
    effective, refused = _adopt(
        overlays, procedures, municipalities, failed_municipalities, problems,
        "standard procedure",
        lambda standard, overlay, code, label: apply_overlay(standard, overlay, code, label,
                                                             registry))
    life_events, life_problems = load_life_events(roots, _newest(procedures), registry,
                                                  municipalities, failed_municipalities)
    problems.extend(life_problems)
    effective_events, refused_events = _life_event_overlays(
        roots, life_events, _newest(procedures), municipalities, failed_municipalities,
        registry, problems)
    return CatalogState(procedures, effective, refused, municipalities, problems, by_directory,
                        life_events, effective_events, refused_events)


def _newest(procedures: dict[tuple[str, str], Procedure]) -> dict[str, Procedure]:
    newest: dict[str, Procedure] = {}
    for procedure in sorted(procedures.values(), key=lambda p: version_key(p.version)):
        newest[procedure.id] = procedure
    return newest


def _life_event_overlays(
    roots: tuple[Path, ...], life_events: dict[tuple[str, str], LifeEvent],
    procedures: dict[str, Procedure], municipalities: dict[str, Municipality],
    failed_municipalities: set[str], registry: Registry, problems: list[CatalogProblem],
) -> tuple[dict[tuple[str, str, str], LifeEvent], dict[tuple[str, str, str], str]]:
    """Each municipality's overlays of life events, applied to every version they cover."""
    found: dict[tuple[str, str], tuple[str, Any, list[CatalogProblem]]] = {}
    for root in roots:
        for code, event_id, label, overlay, trouble in read_life_event_overlays(root):
            found[(code, event_id)] = (label, overlay, trouble)  # later roots win
    return _adopt(found, life_events, municipalities, failed_municipalities, problems,
                  "life event",
                  lambda standard, overlay, code, label: apply_life_event_overlay(
                      standard, overlay, code, label, procedures, registry))


def _adopt(
    overlays: dict[tuple[str, str], tuple[str, Any, list[CatalogProblem]]],
    standards: dict[tuple[str, str], Any], municipalities: dict[str, Municipality],
    failed_municipalities: set[str], problems: list[CatalogProblem], what: str,
    apply: Callable[[Any, Any, str, str], tuple[Any, list[CatalogProblem]]],
) -> tuple[dict[tuple[str, str, str], Any], dict[tuple[str, str, str], str]]:
    """Each overlay ((code, id) -> (file label, overlay or None, its problems)) applied to
    every standard version it covers: the effective ones, and those refused (-> the file)."""
    effective: dict[tuple[str, str, str], Any] = {}
    refused: dict[tuple[str, str, str], str] = {}
    for (code, standard_id), (label, overlay, found) in sorted(overlays.items()):
        versions = [p for (sid, _), p in standards.items() if sid == standard_id]
        if code not in municipalities and code not in failed_municipalities:
            found = [*found, CatalogProblem(file=label, pointer="",
                                            message=f"no municipality {code} is defined")]
        if not versions:
            found = [*found, CatalogProblem(file=label, pointer="",
                                            message=f"no {what} {standard_id!r} to adopt")]
        problems.extend(found)
        for standard in versions:
            key = (standard_id, standard.version, code)
            if found or overlay is None or code not in municipalities:
                refused[key] = label
                continue
            if not overlay.applies_to(standard.version):
                continue
            result, overlay_problems = apply(standard, overlay, code, label)
            if result is None:
                refused[key] = label
                problems.extend(
                    CatalogProblem(file=p.file, pointer=p.pointer,
                                   message=f"{p.message} (version {standard.version})")
                    for p in overlay_problems)
            else:
                effective[key] = result
    return effective, refused
