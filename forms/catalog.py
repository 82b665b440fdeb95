"""The procedure catalogue: the procedures in force, by id, version and municipality.

:class:`Catalog` is the facade the rest of the engine uses: it answers which procedure
(and which effective definition, after a municipality's overlay) applies, lists what
could not be loaded, and reloads itself when files change. The work behind it is done
by one module per job: :mod:`forms.packages` (one package folder), :mod:`forms.effective`
(overlays), :mod:`forms.loading` (all roots at once), :mod:`forms.reload` (when to read
again), :mod:`forms.problems` (problems with file and pointer).
"""

from __future__ import annotations

import typing
from collections.abc import Iterable, Iterator
from pathlib import Path

from forms.lifeevent_packages import LifeEvent
from forms.loading import CatalogState
from forms.municipalities import Municipality
from forms.packages import Procedure, version_key
from forms.problems import CatalogProblem
from forms.reload import LiveState

__all__ = ["DEFAULT_ROOT", "Catalog", "MunicipalityView", "UnknownLifeEvent",
           "UnknownProcedure"]

DEFAULT_ROOT = Path(__file__).with_name("catalog")


class UnknownProcedure(LookupError):
    """No loaded procedure has that id (and version)."""


class UnknownLifeEvent(LookupError):
    """No loaded life event has that id (and version), or the municipality's overlay of it
    was refused."""


class MunicipalityView(typing.Mapping[str, Municipality]):
    """The catalogue's municipalities by code; follows reloads (a live view)."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def __getitem__(self, code: str) -> Municipality:
        return self._catalog._live.state.municipalities[code]

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self._catalog._live.state.municipalities))

    def __len__(self) -> int:
        return len(self._catalog._live.state.municipalities)


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
        self._live = LiveState(
            (),
            CatalogState(
                found, {}, {}, {}, list(problems), {p.directory: p for p in found.values()}
            ),
        )
        self.municipalities: typing.Mapping[str, Municipality] = MunicipalityView(self)

    @property
    def problems(self) -> list[CatalogProblem]:
        """Everything that could not be loaded at the last (re)load, with file and pointer."""
        return list(self._live.state.problems)

    @property
    def roots(self) -> tuple[Path, ...]:
        """The directories this catalogue was loaded from (empty if built from objects)."""
        return self._live.roots

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
        catalog._live.roots = chosen
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
        self._live.reload()
        return self.problems

    def refresh_if_changed(self) -> bool:
        """Reload if a file under the roots changed since the last load; True if it did."""
        return self._live.refresh_if_changed()

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
        state = self._live.state
        if key in state.refused:
            raise UnknownProcedure(
                f"procedure {procedure_id!r} is not available in {municipality}: its overlay "
                f"{state.refused[key]} was refused"
            )
        return state.effective.get(key, standard)

    def _standard(self, procedure_id: str, version: str | None) -> Procedure:
        procedures = self._live.state.procedures
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
        return max(versions, key=lambda p: version_key(p.version))

    def procedures(self, municipality: str | None = None) -> list[Procedure]:
        """Every loaded procedure version, sorted by id then version; with
        ``municipality``, the effective ones it offers (refused overlays left out)."""
        ordered = sorted(
            self._live.state.procedures.values(), key=lambda p: (p.id, version_key(p.version))
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

    def life_event(self, life_event_id: str, version: str | None = None,
                   municipality: str | None = None) -> LifeEvent:
        """The life event with that id: the given version or the newest; with
        ``municipality``, the effective one after that municipality's overlay.

        :raises UnknownLifeEvent: if there is none, or its overlay was refused.
        """
        state = self._live.state
        if version is not None:
            standard = state.life_events.get((life_event_id, version))
        else:
            versions = [e for (eid, _), e in state.life_events.items() if eid == life_event_id]
            standard = max(versions, key=lambda e: version_key(e.version)) if versions else None
        if standard is None:
            raise UnknownLifeEvent(f"no life event {life_event_id!r}")
        if municipality is None:
            return standard
        key = (standard.id, standard.version, municipality)
        if key in state.refused_life_events:
            raise UnknownLifeEvent(f"life event {life_event_id!r} is not available in "
                                   f"{municipality}: its overlay "
                                   f"{state.refused_life_events[key]} was refused")
        return state.effective_life_events.get(key, standard)

    def life_events(self, municipality: str | None = None) -> list[LifeEvent]:
        """The newest version of each life event (effective for ``municipality``)."""
        result = []
        for life_event_id in sorted({eid for eid, _ in self._live.state.life_events}):
            try:
                result.append(self.life_event(life_event_id, municipality=municipality))
            except UnknownLifeEvent:
                continue
        return result
