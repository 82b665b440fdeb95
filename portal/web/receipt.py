"""The printed receipt of a filing (#19): what a resident takes home from the counter, or
prints at home — the case's reference, what was filed and when, and the sealed 申請控え
(issued at submission) with its QR code to the public verify page.

Built from the same case details the application page reads, so a counter page and the
resident's page print the same sheet (``receipt.html``).
"""

from __future__ import annotations

from typing import Any

from fastapi import Request

from documents.qr import qr_svg
from forms.schemaform import SchemaForm
from identity.principals import Caseworker, Resident
from portal.deps import application_of
from portal.links import verify_link
from portal.web import i18n
from portal.web.cases import application_extras


async def receipt_values(request: Request, principal: Resident | Caseworker,
                         application_id: str) -> dict[str, Any]:
    """The values ``receipt.html`` renders for ``principal``'s case ``application_id``.

    :raises Refused: as ``Cases.details`` (not the principal's case: ``not_found``).
    """
    app = application_of(request)
    details = await app.cases.details(principal, application_id)
    view = details.view
    procedure = app.cases.pinned(view)
    municipality = app.catalogue.municipality(view.municipality)
    lang = i18n.request_lang(request)
    form = SchemaForm(procedure.form_schema, messages=procedure.messages,
                      municipality=municipality, attachments=app.attachments.lookup,
                      owner=view.applicant_key)
    link = verify_link(request)
    on_submit = set(procedure.definition.issue_on_submit)
    copies = []
    for ref in view.documents:
        if ref.type in on_submit:
            url = link(ref.id)
            copies.append({"id": ref.id, "title": ref.title, "verify_url": url,
                           "qr": qr_svg(url, title=url)})
    return {
        "app": view,
        "procedure_title": procedure.definition.title.model_dump(),
        "municipality_name": i18n.pick(municipality.name.model_dump(), lang),
        "fields": form.all_fields(view.data),
        "copies": copies,
        **application_extras(view, procedure, municipality, lang),
    }
