"""Search attributes of a case and of a life event's bundle: what caseworker queues, a
resident's list and the 被災者台帳 filter on.

They hold no personal data: codes, stage names, caseworker ids, an opaque applicant key
(an HMAC, not the subject) and the legal deadline.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

MUNICIPALITY = SearchAttributeKey.for_keyword("MadoMunicipality")
PROCEDURE = SearchAttributeKey.for_keyword("MadoProcedure")
STAGE = SearchAttributeKey.for_keyword("MadoStage")
STATUS = SearchAttributeKey.for_keyword("MadoStatus")
ASSIGNEE = SearchAttributeKey.for_keyword("MadoAssignee")
APPLICANT = SearchAttributeKey.for_keyword("MadoApplicant")
DUE_AT = SearchAttributeKey.for_datetime("MadoDueAt")
# Life events: a case's bundle; a bundle's life event and the municipality's event it is
# about (a disaster's id, for the 被災者台帳). Codes and opaque ids only.
BUNDLE = SearchAttributeKey.for_keyword("MadoBundle")
LIFE_EVENT = SearchAttributeKey.for_keyword("MadoLifeEvent")
EVENT_ID = SearchAttributeKey.for_keyword("MadoEventId")

# The dev server allows 10 keyword attributes: these are 9.
ALL_KEYS = (MUNICIPALITY, PROCEDURE, STAGE, STATUS, ASSIGNEE, APPLICANT, DUE_AT,
            BUNDLE, LIFE_EVENT, EVENT_ID)


def dev_server_flags() -> list[str]:
    """``--search-attribute`` flags that register every key with ``temporal server start-dev``."""
    kinds = {"KEYWORD": "Keyword", "DATETIME": "Datetime"}
    flags: list[str] = []
    for key in ALL_KEYS:
        flags += ["--search-attribute", f"{key.name}={kinds[key.indexed_value_type.name]}"]
    return flags
