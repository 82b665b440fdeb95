"""Addresses the use cases put into what they answer, built from the request."""

from __future__ import annotations

from fastapi import Request

from services.documents import VerifyLink


def verify_link(request: Request) -> VerifyLink:
    """The public verify page of a document id, on the address the request came to."""
    return lambda document_id: str(request.url_for("verify_page", document_id=document_id))
