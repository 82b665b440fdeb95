"""GET /api/procedures: the localized schema a client renders; catalogue reload by an admin."""

import json
import shutil

import pytest

from forms.catalog import DEFAULT_ROOT, Catalog


@pytest.fixture
def catalog(tmp_path):
    """A catalogue of the packaged procedures plus a configured directory of this test."""
    (tmp_path / "extra").mkdir()
    return Catalog.configured(tmp_path / "extra")


async def test_localized_schema_in_japanese_and_english(stack):
    ja = await stack.http.get(
        "/api/procedures/disaster-certificate", params={"lang": "ja", "municipality": "131016"}
    )
    assert ja.status_code == 200, ja.text
    body = ja.json()
    schema = body["form_schema"]
    assert schema["title"] == "罹災証明書の交付申請"
    applicant = schema["properties"]["applicant"]
    assert applicant["title"] == "申請者"
    # $ref inlined: the shared postal code schema, titled, with its rule.
    postal = applicant["properties"]["address"]["properties"]["postal_code"]
    assert postal["title"] == "郵便番号" and postal["pattern"] == "^[0-9]{7}$"
    assert "required" in applicant and "name" in applicant["required"]
    kind = schema["properties"]["property"]["properties"]["kind"]
    assert kind["x-enum-titles"]["house"] == "一戸建て"
    event = schema["properties"]["disaster_event"]
    assert event["enum"] == ["2026-typhoon-15", "2026-heavy-rain-07"]
    assert event["x-enum-titles"]["2026-typhoon-15"] == "令和8年台風第15号"
    assert body["attachments"] == [
        {
            "field": "/photos",
            "types": ["image/jpeg", "image/png"],
            "max_bytes": 5242880,
            "max_count": 3,
        }
    ]
    assert "$ref" not in json.dumps(schema) and "x-title-en" not in json.dumps(schema)

    en = (
        await stack.http.get(
            "/api/procedures/disaster-certificate", params={"lang": "en", "municipality": "131016"}
        )
    ).json()
    assert en["form_schema"]["properties"]["applicant"]["title"] == "Applicant"
    assert (
        en["form_schema"]["properties"]["property"]["properties"]["kind"]["x-enum-titles"]["house"]
        == "House"
    )
    assert (
        en["form_schema"]["properties"]["disaster_event"]["x-enum-titles"]["2026-typhoon-15"]
        == "Typhoon No. 15 (2026)"
    )

    missing = await stack.http.get("/api/procedures/nope")
    assert missing.status_code == 404 and missing.json()["error"] == "unknown_procedure"
    bad_place = await stack.http.get(
        "/api/procedures/disaster-certificate", params={"municipality": "999999"}
    )
    assert bad_place.status_code == 404


async def test_new_package_appears_after_an_admin_reload_and_problems_are_listed(stack, catalog):
    extra = catalog.roots[-1]
    admin = stack.caseworker("it-1", roles="admin")
    before = {p["id"] for p in (await stack.http.get("/api/procedures")).json()}
    target = extra / "local-permit"
    shutil.copytree(DEFAULT_ROOT / "disaster-certificate", target)
    raw = json.loads((target / "procedure.json").read_text("utf-8"))
    (target / "procedure.json").write_text(json.dumps({**raw, "id": "local-permit"}), "utf-8")
    broken = extra / "broken"
    shutil.copytree(DEFAULT_ROOT / "disaster-certificate", broken)
    (broken / "form.schema.json").write_text("[", "utf-8")
    (broken / "messages.ja.json").unlink()

    refused = await stack.http.post("/api/catalog/reload", headers=stack.caseworker("cw-1"))
    assert refused.status_code == 403 and refused.json()["error"] == "admin_only"
    assert (
        await stack.http.post("/api/catalog/reload", headers=stack.resident())
    ).status_code == 403

    reloaded = await stack.http.post("/api/catalog/reload", headers=admin)
    assert reloaded.status_code == 200, reloaded.text
    problems = reloaded.json()["problems"]
    assert {p["file"] for p in problems} >= {"broken/form.schema.json", "broken/messages.ja.json"}
    after = {p["id"] for p in (await stack.http.get("/api/procedures")).json()}
    assert after == before | {"local-permit"}
    listed = await stack.http.get("/api/catalog/problems", headers=admin)
    assert listed.json()["problems"] == problems
    # The rest keeps working: residents still file the standard procedure's form schema.
    assert (await stack.http.get("/api/procedures/disaster-certificate")).status_code == 200
