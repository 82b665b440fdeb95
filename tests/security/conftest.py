"""Fixtures of the hostile-input and privacy tests: one installation with real data in it.

``world`` files and finishes a 罹災証明書 case (so a sealed document exists), a proxy
filing, a draft and an attachment, through the HTTP API like a person would; the tests
then attack that data. ``serve`` runs an app on a loopback port in the test's own event
loop (the Temporal client is bound to it), for clients that speak real HTTP.
"""

from __future__ import annotations

import pytest

from tests.support.security import (
    APPS,
    MUNICIPALITY,
    OTHER_MUNICIPALITY,
    World,
    act,
    bearer,
    example,
    png,
)
from tests.support.stack import documents_of, eventually


@pytest.fixture
async def world(stack, catalog) -> World:
    issuer = stack.issuer
    tokens = {
        "own": issuer.issue_resident("sec-own", "安全 太郎"),
        "other": issuer.issue_resident("sec-other", "他人 花子"),
        "proxy": issuer.issue_resident("sec-proxy", "代理 一郎"),
        "business": issuer.issue_business("sec-gbiz", "7000012050002", "株式会社まどぐち商店"),
        "reviewer": issuer.issue_caseworker("sec-rev", [MUNICIPALITY], ["reviewer"]),
        "surveyor": issuer.issue_caseworker("sec-sur", [MUNICIPALITY], ["surveyor"]),
        "approver": issuer.issue_caseworker("sec-app", [MUNICIPALITY], ["approver"]),
        "admin": issuer.issue_caseworker("sec-adm", [MUNICIPALITY], ["admin"]),
        "staff": issuer.issue_caseworker(
            "sec-staff", [MUNICIPALITY],
            ["reviewer", "surveyor", "approver", "admin", "counter", "digital_support"],
        ),
        "elsewhere": issuer.issue_caseworker(
            "sec-yoko", [OTHER_MUNICIPALITY],
            ["reviewer", "surveyor", "approver", "admin", "counter", "digital_support"],
        ),
    }
    people = {name: bearer(token) for name, token in tokens.items()}
    people["anonymous"] = {}
    http = stack.http

    certificate = {
        "procedure": "disaster-certificate",
        "municipality": MUNICIPALITY,
        "data": example(catalog, "disaster-certificate", "valid-basic"),
    }
    photo = await http.post(
        "/api/attachments",
        headers=people["own"],
        params={
            "procedure": "disaster-certificate",
            "field": "/photos",
            "municipality": MUNICIPALITY,
        },
        files={"file": ("photo.png", png(), "image/png")},
    )
    assert photo.status_code == 201, photo.text
    with_photo = {**certificate, "data": {**certificate["data"], "photos": [photo.json()["id"]]}}
    filed = await http.post(APPS, json=with_photo, headers=people["own"])
    assert filed.status_code == 201, filed.text
    app_id = filed.json()["id"]
    await act(http, app_id, people["reviewer"], "accept")
    await act(
        http,
        app_id,
        people["surveyor"],
        "survey",
        data={"damage_ratio": 55, "surveyed_on": "2026-10-02"},
    )
    await act(http, app_id, people["approver"], "approve")

    async def issued():
        body = (await http.get(f"{APPS}/{app_id}", headers=people["own"])).json()
        return documents_of(body, "certificate") or None

    document = (await eventually(issued))[0]["id"]

    proxied = await http.post(
        APPS,
        headers=people["proxy"],
        json={
            **certificate,
            "data": example(catalog, "disaster-certificate", "valid-tenant"),
            "proxy": {
                "name": "代理 トメ",
                "name_kana": "ダイリ トメ",
                "birthdate": "1938-04-02",
                "relationship": "child",
            },
        },
    )
    assert proxied.status_code == 201, proxied.text

    grant = await http.post(
        APPS,
        headers=people["business"],
        json={
            "procedure": "sme-telework-grant",
            "municipality": MUNICIPALITY,
            "data": example(catalog, "sme-telework-grant", "valid-corporation"),
        },
    )
    assert grant.status_code == 201, grant.text

    draft = await http.post(
        "/api/drafts",
        headers=people["own"],
        json={"procedure": "disaster-certificate", "municipality": MUNICIPALITY, "data": {}},
    )
    assert draft.status_code == 201, draft.text
    second_draft = await http.post(
        "/api/drafts",
        headers=people["own"],
        json={"procedure": "disaster-certificate", "municipality": MUNICIPALITY, "data": {}},
    )
    assert second_draft.status_code == 201, second_draft.text

    # A counter session of "staff" for a resident present (#19), and a filing prepared in it.
    session = await http.post(
        "/api/counter/sessions",
        headers=people["staff"],
        json={"municipality": MUNICIPALITY, "counter_id": "sec-1", "method": "photo_id",
              "resident": {"name": "窓口 花子", "birthdate": "1950-01-01",
                           "address": "東京都千代田区九段南1-2-1"}},
    )
    assert session.status_code == 201, session.text
    prepared = await http.post(
        f"/api/counter/sessions/{session.json()['id']}/filings",
        headers=people["staff"],
        json={"procedure_id": "disaster-certificate", "data": certificate["data"]},
    )
    assert prepared.status_code == 201, prepared.text

    return World(
        stack=stack,
        people=people,
        tokens=tokens,
        application=app_id,
        document=document,
        proxy_application=proxied.json()["id"],
        business_application=grant.json()["id"],
        draft=draft.json()["id"],
        attachment=photo.json()["id"],
        extra={"second_draft": second_draft.json()["id"],
               "counter_session": session.json()["id"],
               "counter_filing": prepared.json()["id"]},
    )








