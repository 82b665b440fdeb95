"""At the counter (窓口): the resident present, as a principal the filing services accept.

A counter session is opened by staff with role ``counter`` after checking the resident's
identity in person. Filing then runs as a :class:`~identity.principals.Resident` whose
issuer is :data:`COUNTER_ISSUER` and whose ``acr`` is :data:`IN_PERSON_ACR`: the resident
is the applicant, never the staff member. The subject is the resident registry's person
id when the registry found them (so the same person signing in later with their card is
linked to the case, see docs/counter-engine.md), or a random id when the facts were typed
in (unverified).

``in_person`` is accepted only by procedures that name it (``"in_person"`` in the
``assurance`` rule); ``level:`` entries never match it, so a counter check is never taken
for a card sign-in. The card number is never recorded or accepted: the check method says
*how* the identity was checked, nothing more.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

__all__ = [
    "CHECK_METHODS", "COUNTER_ISSUER", "COUNTER_ROLE", "DIGITAL_SUPPORT_ROLE", "IN_PERSON",
    "IN_PERSON_ACR", "CheckMethod", "CheckMethodText",
]

#: The issuer of counter principals (not a token issuer: no token ever carries it).
COUNTER_ISSUER = "urn:madoguchi:counter"
#: The ``acr`` of a resident identified in person at a counter.
IN_PERSON_ACR = "urn:madoguchi:acr:in-person"
#: What an ``assurance`` rule names to accept a counter's in-person check.
IN_PERSON = "in_person"
#: The staff role that opens counter sessions and files for the resident present.
COUNTER_ROLE = "counter"
#: The staff role of a デジタル活用支援員 helping a resident sign in with their own card.
DIGITAL_SUPPORT_ROLE = "digital_support"

#: How the identity was checked: ``card_face`` the My Number card shown and the face
#: compared with its photo; ``photo_id`` another photo ID (運転免許証, 在留カード, ...);
#: ``two_documents`` two documents without a photo (保険証 and 年金手帳, ...).
CheckMethod = Literal["card_face", "photo_id", "two_documents"]
CHECK_METHODS: tuple[CheckMethod, ...] = ("card_face", "photo_id", "two_documents")


class CheckMethodText(BaseModel):
    """A check method as people read it."""

    ja: str
    en: str


METHOD_TEXTS: dict[str, CheckMethodText] = {
    "card_face": CheckMethodText(ja="マイナンバーカード（顔写真の照合）",
                                 en="My Number card (photo compared)"),
    "photo_id": CheckMethodText(ja="顔写真付きの本人確認書類", en="photo ID"),
    "two_documents": CheckMethodText(ja="本人確認書類2点", en="two identity documents"),
}
