"""Search attributes of a case: what caseworker queues and a resident's list filter on.

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

ALL_KEYS = (MUNICIPALITY, PROCEDURE, STAGE, STATUS, ASSIGNEE, APPLICANT, DUE_AT)


def dev_server_flags() -> list[str]:
    """``--search-attribute`` flags that register every key with ``temporal server start-dev``."""
    kinds = {"KEYWORD": "Keyword", "DATETIME": "Datetime"}
    flags: list[str] = []
    for key in ALL_KEYS:
        flags += ["--search-attribute", f"{key.name}={kinds[key.indexed_value_type.name]}"]
    return flags
