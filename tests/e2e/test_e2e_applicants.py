"""Who may file: businesses, proxies (代理申請), and how strongly they signed in."""

from __future__ import annotations

import json
from typing import Any

from identity.devissuer import DEV_ACR_PASSWORD

APPS = "/api/applications"


def _example(catalog, procedure: str, name: str) -> dict[str, Any]:
    directory = catalog.get(procedure).directory / "examples"
    return json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))


def _business(stack) -> dict[str, str]:
    token = stack.issuer.issue_business("gbiz-42", "7000012050002", "株式会社まどぐち商店")
    return {"Authorization": f"Bearer {token}"}


async def test_a_business_files_the_grant_but_not_a_residents_certificate(stack, catalog):
    grant = {"procedure": "sme-telework-grant", "municipality": "131016",
             "data": _example(catalog, "sme-telework-grant", "valid-corporation")}
    filed = await stack.http.post(APPS, json=grant, headers=_business(stack))
    assert filed.status_code == 201, filed.text
    app_id = filed.json()["id"]
    mine = await stack.http.get(f"{APPS}/{app_id}", headers=_business(stack))
    assert mine.status_code == 200 and mine.json()["actions"] == ["withdraw"]
    assert (await stack.http.get(f"{APPS}/{app_id}", headers=stack.resident())).status_code == 404

    certificate = {"procedure": "disaster-certificate", "municipality": "131016",
                   "data": _example(catalog, "disaster-certificate", "valid-basic")}
    refused = await stack.http.post(APPS, json=certificate, headers=_business(stack))
    assert refused.status_code == 403 and refused.json()["error"] == "wrong_applicant_kind"


async def test_a_certificate_needs_a_card_sign_in(stack, catalog):
    weak = stack.issuer.issue_resident("pw-1", "佐々木 三郎", acr=DEV_ACR_PASSWORD)
    body = {"procedure": "disaster-certificate", "municipality": "131016",
            "data": _example(catalog, "disaster-certificate", "valid-basic")}
    refused = await stack.http.post(APPS, json=body, headers={"Authorization": f"Bearer {weak}"})
    assert refused.status_code == 403
    assert refused.json()["error"] == "assurance_too_low"
    assert "マイナンバーカード" in refused.json()["message"]["ja"]


async def test_proxy_filing_is_recorded_and_shown(stack, catalog):
    body = {"procedure": "disaster-certificate", "municipality": "131016",
            "data": _example(catalog, "disaster-certificate", "valid-basic"),
            "proxy": {"name": "山田 トメ", "name_kana": "ヤマダ トメ", "birthdate": "1938-04-02",
                      "relationship": "child"}}
    son = stack.resident("son-1", "山田 一郎")
    bad = await stack.http.post(APPS, json={**body, "proxy": {**body["proxy"],
                                                              "relationship": "other"}},
                                headers=son)
    assert bad.status_code == 422 and bad.json()["error"] == "invalid_proxy"
    filed = await stack.http.post(APPS, json=body, headers=son)
    assert filed.status_code == 201, filed.text
    assert filed.json()["proxy"]["name"] == "山田 トメ"
    seen = await stack.http.get(filed.json()["url"], headers=stack.caseworker("cw-1"))
    assert seen.json()["proxy"]["relationship"] == "child"
