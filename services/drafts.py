"""Drafts: a resident saves a partial form, resumes it on any device, and files it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from forms.filing import validate_draft
from forms.packages import Procedure
from forms.validation import FieldError
from identity.principals import AnyPrincipal, Resident
from records.drafts import Draft, DraftConflict, DraftStore
from services.cases import CaseService
from services.refusals import InvalidData, Refused, not_configured
from workflows.models import ApplicationView


class DraftOut(BaseModel):
    id: str
    procedure: str
    municipality: str
    data: dict[str, Any]
    revision: int
    created_at: datetime
    updated_at: datetime
    warnings: list[FieldError] = Field(
        default_factory=list, description="What would stop a submission (not enforced here)"
    )


def _not_found() -> Refused:
    return Refused("not_found", "not_found", "下書きが見つかりません。", "Draft not found.")


#: The pages' own state inside a draft they made (page reached, whom for, filed as):
#: never part of the answers. (A column of its own would be cleaner; see docs/portal.md.)
PAGE_STATE = "_wizard"


def form_answers(data: dict[str, Any]) -> dict[str, Any]:
    """A draft's answers without the pages' state."""
    return {k: v for k, v in data.items() if k != PAGE_STATE}


def is_filed(data: dict[str, Any]) -> bool:
    """A page-made draft kept only as the marker of the application it became."""
    state = data.get(PAGE_STATE)
    return isinstance(state, dict) and "filed" in state


class DraftService:
    """A resident's drafts, encrypted at rest by the store; owners are applicant keys."""

    def __init__(self, cases: CaseService, store: DraftStore | None) -> None:
        self._cases = cases
        self._store = store

    @property
    def configured(self) -> bool:
        return self._store is not None

    @property
    def store(self) -> DraftStore:
        if self._store is None:
            raise not_configured("drafts")
        return self._store

    def owner(self, principal: AnyPrincipal) -> str:
        """The resident's applicant key. :raises Refused: ``forbidden`` for anyone else."""
        if not isinstance(principal, Resident):
            raise Refused("forbidden", "resident_only", "下書きは住民の方のみ使えます。",
                          "Only residents have drafts.")
        return self._cases.applicant_key(principal)

    def describe(self, draft: Draft) -> DraftOut:
        """The draft with what would stop its submission, as warnings."""
        procedure = self._cases.catalogue.procedure(draft.procedure, None, draft.municipality)
        answers = form_answers(draft.data)
        result = validate_draft(procedure, answers)
        return DraftOut(id=draft.id, procedure=draft.procedure,
                        municipality=draft.municipality, data=answers,
                        revision=draft.revision, created_at=draft.created_at,
                        updated_at=draft.updated_at, warnings=result.warnings)

    def create(self, principal: AnyPrincipal, procedure: str, municipality: str,
               data: dict[str, Any]) -> Draft:
        """Start a draft; nothing is required yet.

        :raises Refused: ``invalid`` for data no form can hold (nested too deep, unsafe
            characters): it is not stored.
        """
        owner = self.owner(principal)
        self._storable(self._cases.catalogue.procedure(procedure, None, municipality), data)
        return self.store.create(owner, procedure, municipality, data)

    @staticmethod
    def _storable(procedure: Procedure, data: dict[str, Any]) -> None:
        result = validate_draft(procedure, data)
        if not result.valid:
            raise InvalidData(result.errors)

    def list(self, principal: AnyPrincipal) -> list[Draft]:
        """The resident's own drafts, most recently saved first (not those already filed,
        which the pages keep only to answer a repeated submission)."""
        return [d for d in self.store.list(self.owner(principal)) if not is_filed(d.data)]

    def count(self, principal: AnyPrincipal) -> int:
        """How many drafts the resident has (0 where drafts are not configured)."""
        return len(self.list(principal)) if self._store is not None else 0

    def get(self, principal: AnyPrincipal, draft_id: str) -> Draft:
        draft = self.store.get(self.owner(principal), draft_id)
        if draft is None:
            raise _not_found()
        return draft

    def save(self, principal: AnyPrincipal, draft_id: str, data: dict[str, Any],
             revision: int | None = None) -> Draft:
        """Replace the answers; ``revision`` detects edits from another device.

        :raises Refused: ``conflict`` (``draft_conflict``) when another device saved since.
        """
        owner = self.owner(principal)
        existing = self.store.get(owner, draft_id)
        if existing is None:
            raise _not_found()
        self._storable(self._cases.catalogue.procedure(existing.procedure, None,
                                                       existing.municipality), data)
        try:
            draft = self.store.save(owner, draft_id, data, revision)
        except DraftConflict as exc:
            raise Refused("conflict", "draft_conflict",
                          "この下書きは別の端末で更新されています。読み込み直してください。",
                          "This draft was saved on another device; reload it first.",
                          details={"revision": exc.current}) from exc
        if draft is None:
            raise _not_found()
        return draft

    def delete(self, principal: AnyPrincipal, draft_id: str) -> None:
        if not self.store.delete(self.owner(principal), draft_id):
            raise _not_found()

    def discard_filed(self, principal: AnyPrincipal, draft_id: str | None) -> None:
        """Forget a draft whose answers were just filed (the case holds them now)."""
        if draft_id and self._store is not None:
            self._store.delete(self.owner(principal), draft_id)

    async def submit(self, principal: AnyPrincipal, draft_id: str,
                     lang: Literal["ja", "en"] = "ja") -> ApplicationView:
        """File the draft as an application (validated in full), then discard the draft."""
        draft = self.get(principal, draft_id)
        view = await self._cases.submit(principal, draft.procedure, draft.municipality,
                                        form_answers(draft.data), lang=lang)
        # Filed: the case holds the data now. A crash before this line leaves a draft whose
        # resubmission is refused as a duplicate, naming the filed application.
        self.store.delete(draft.owner, draft.id)
        return view

    def keep(self, principal: AnyPrincipal, draft_id: str | None, procedure: str,
             municipality: str, data: dict[str, Any], revision: int | None) -> Draft:
        """「一時保存」 of a form in progress: into its draft if that still exists (discarded
        meanwhile on another device, or none yet: a new one).

        :raises Refused: ``conflict`` when another device saved it since ``revision``.
        """
        if draft_id:
            try:
                return self.save(principal, draft_id, data, revision)
            except Refused as refused:
                if refused.kind != "not_found":
                    raise
        return self.create(principal, procedure, municipality, data)
