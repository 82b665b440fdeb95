"""A benefit procedure the catalogue does not ship, plugged in from a folder under
``MADOGUCHI_CATALOG_DIR`` with no code change (#16), end to end through the HTTP API:

- an amount per household member by age, computed by expressions in the workflow;
- one claim per household across different applicants (the spouse is refused, and not
  told the first claim's id), freed again by a withdrawal;
- a second approval only above a threshold (conditional routing), with the four-eyes
  refusal text the definition gives;
- the amount in the sealed decision (``values``), in the attached application JSON, in
  the resident's notice and in the signed webhook body to finance.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from forms.catalog import DEFAULT_ROOT, Catalog
from notices.dispatch import NoticeSettings
from tests.support.faults import WebhookReceiver
from tests.support.stack import eventually, running_stack

APPS = "/api/applications"
SECRET = "household-support-webhook-secret-0123"
ADDRESS = "東京都千代田区内幸町一丁目3番1号"
PROCEDURE_ID = "household-support"

FOUR_EYES = {"ja": "一次決定をした職員は二次決裁を行えません。",
             "en": "The caseworker who made the first decision cannot give the second approval."}

DEFINITION_CHANGES: dict[str, Any] = {
    "id": PROCEDURE_ID,
    "version": "1.0.0",
    "title": {"ja": "物価高騰対策 子育て世帯支援給付金", "en": "Household support payment"},
    "dedupe": {"scope": "household", "free_on": ["withdrawn"]},
    "params": {"under3": 30000, "child": 20000, "older": 10000, "max_school_age": 17,
               "second_approval_above": 50000},
    "stages": [
        {"id": "review", "title": {"ja": "審査", "en": "Review"}, "role": "reviewer",
         "actions": [
             {"id": "decide", "title": {"ja": "支給を決定する", "en": "Decide"},
              "outcome": "completed", "issue": ["decision"], "notify": "payment_instruction",
              "compute": {"support": {"values": {
                  "members": "size(data.children) + data.older_children",
                  "amount": "sum(data.children.map(c, age_at(c.birth_date, today) < 3 ? "
                            "params.under3 : params.child)) + data.older_children * "
                            "params.older"}}},
              "routes": [{"when": "computed.support.amount > params.second_approval_above",
                          "to": "second_approval"}]},
             {"id": "reject", "title": {"ja": "却下する", "en": "Reject"},
              "outcome": "rejected", "comment_required": True}]},
        {"id": "second_approval", "title": {"ja": "二次決裁", "en": "Second approval"},
         "role": "reviewer",
         "actions": [
             {"id": "approve", "title": {"ja": "決裁する", "en": "Approve"},
              "outcome": "completed", "issue": ["decision"], "notify": "payment_instruction",
              "distinct_from": ["decide"], "distinct_message": FOUR_EYES}]},
    ],
    "documents": [
        {"id": "decision", "title": {"ja": "支給決定通知書", "en": "Notice of payment decision"},
         "template": "templates/decision.html", "filename": "shikyu-kettei.pdf",
         "include": {"amount": "computed.support.amount",
                     "members": "computed.support.members"}}],
}

TEMPLATE = """<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>{{ document.title }}</title>
<style>html { font-family: {{ font_family|css_string }}, serif; }</style></head>
<body><h1>{{ document.title }}</h1>
<p>{{ data.claimant.name.family }} {{ data.claimant.name.given }} 様</p>
<p>対象 {{ values.members }}人　支給額 {{ "{:,}".format(values.amount) }}円</p>
<p>受付番号 {{ application_id }}</p></body></html>
"""


def _package(root: Path) -> Path:
    """The procedure as a municipality would write it: a copy of a shipped package's form,
    with its own definition, texts and template."""
    target = root / "catalog" / PROCEDURE_ID
    shutil.copytree(DEFAULT_ROOT / "child-allowance", target,
                    ignore=shutil.ignore_patterns("templates"))
    (target / "templates").mkdir()
    (target / "templates" / "decision.html").write_text(TEMPLATE, encoding="utf-8")
    raw = json.loads((target / "procedure.json").read_text("utf-8"))
    raw.update(DEFINITION_CHANGES)
    raw["notices"]["payment_instruction"]["include"] = {
        "amount": "computed.support.amount", "members": "computed.support.members"}
    raw["notices"]["issued"]["include"] = {"amount": "computed.support.amount"}
    (target / "procedure.json").write_text(json.dumps(raw, ensure_ascii=False), "utf-8")
    for lang, issued, instruction in (
        ("ja", "支給額は {amount}円です。",
         "受付番号 {application_id}：{members}人分 {amount}円を支払ってください。"),
        ("en", "The amount is ¥{amount}.",
         "Application {application_id}: pay ¥{amount} for {members} member(s)."),
    ):
        path = target / f"messages.{lang}.json"
        texts = json.loads(path.read_text("utf-8"))
        texts["notice.issued.body"] = issued
        texts["notice.payment_instruction.body"] = instruction
        path.write_text(json.dumps(texts, ensure_ascii=False), "utf-8")
    return root / "catalog"


def _example(name: str) -> dict[str, Any]:
    path = DEFAULT_ROOT / "child-allowance" / "examples" / f"{name}.json"
    return json.loads(path.read_text("utf-8"))


def _filing(data: dict[str, Any]) -> dict[str, Any]:
    return {"procedure": PROCEDURE_ID, "municipality": "131016", "data": data}


def _resident(stack, sub: str, name: str) -> dict[str, str]:
    token = stack.issuer.issue_resident(sub, name, address=ADDRESS)
    return {"Authorization": f"Bearer {token}"}


async def test_a_benefit_from_a_folder_end_to_end(dev_env, tmp_path, sealed_documents,
                                                 monkeypatch):
    directory = _package(tmp_path)
    monkeypatch.setenv("MADOGUCHI_CATALOG_DIR", str(directory))
    catalog = Catalog.load(DEFAULT_ROOT, directory)
    assert catalog.problems == []
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    webhook = WebhookReceiver(SECRET)
    webhook.start()
    settings = NoticeSettings(webhooks={"131016": {"url": webhook.url, "secret": SECRET}})
    async with running_stack(dev_env.client, data_dir, catalog, sealed_documents,
                             notice_settings=settings) as stack:
        http = stack.http
        wife = _resident(stack, "hs-wife", "中村 恵")
        husband = _resident(stack, "hs-husband", "中村 健")

        # Two children under 3 and one school child: 30,000 × 2 + 20,000 = 80,000 > 50,000.
        data = _example("valid-three-children")
        data["older_children"] = 0
        data["children"][0]["birth_date"] = "2025-01-10"
        first = await http.post(APPS, json=_filing(data), headers=wife)
        assert first.status_code == 201, first.text
        first_id = first.json()["id"]

        # The spouse's claim for the same household: refused, without the first one's id.
        spouse = await http.post(APPS, json=_filing(_example("valid-two-children")),
                                 headers=husband)
        assert spouse.status_code == 409, spouse.text
        assert first_id not in spouse.text and "existing_application" not in spouse.text
        assert "同じ世帯" in spouse.json()["message"]["ja"]
        # The claimant herself is told which claim she already has.
        again = await http.post(APPS, json=_filing(data), headers=wife)
        assert again.status_code == 409 and again.json()["details"] == {
            "existing_application": first_id}

        # Withdrawn frees the household's key: the spouse may claim now.
        withdrawn = await http.post(f"{APPS}/{first_id}/actions",
                                    json={"action": "withdraw"}, headers=wife)
        assert withdrawn.status_code == 200, withdrawn.text
        refiled = await http.post(APPS, json=_filing(data), headers=husband)
        assert refiled.status_code == 201, refiled.text
        case_id = refiled.json()["id"]
        assert case_id != first_id
        repeat = await http.post(APPS, json=_filing(data), headers=wife)
        assert repeat.status_code == 409 and case_id not in repeat.text

        first_cw = stack.caseworker("hs-cw-1", roles="reviewer")
        second_cw = stack.caseworker("hs-cw-2", roles="reviewer")
        decided = await http.post(f"{APPS}/{case_id}/actions", json={"action": "decide"},
                                  headers=first_cw)
        assert decided.status_code == 200, decided.text
        body = decided.json()
        assert body["computed"]["support"] == {"members": 3, "amount": 80_000}
        assert body["stage"] == "second_approval" and body["documents"] == []
        assert webhook.stored == {}  # no payment before the second approval

        same = await http.post(f"{APPS}/{case_id}/actions", json={"action": "approve"},
                               headers=first_cw)
        assert same.status_code == 403, same.text
        assert same.json()["message"] == FOUR_EYES
        approved = await http.post(f"{APPS}/{case_id}/actions", json={"action": "approve"},
                                   headers=second_cw)
        assert approved.status_code == 200, approved.text

        async def issued():
            view = (await http.get(f"{APPS}/{case_id}", headers=husband)).json()
            return view if view["documents"] and view["status"] == "completed" else None

        view = await eventually(issued)
        (document,) = view["documents"]
        pdf = (await http.get(document["url"], headers=husband)).content
        text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf,
                              capture_output=True, check=True).stdout.decode()
        assert "支給決定通知書" in text and "対象 3人" in text and "80,000円" in text
        (tmp_path / "decision.pdf").write_bytes(pdf)
        subprocess.run(["pdfdetach", "-save", "1", "-o", str(tmp_path / "a.json"),
                        str(tmp_path / "decision.pdf")], check=True)
        attached = json.loads((tmp_path / "a.json").read_text("utf-8"))
        assert attached["computed"]["support"] == {"members": 3, "amount": 80_000}

        async def paid():
            return [d for d in webhook.stored.values() if d["event"] == "payment_instruction"]

        (instruction,) = await eventually(paid)
        assert instruction["values"] == {"amount": 80_000, "members": 3}
        assert instruction["application_id"] == case_id
        assert webhook.bad_signatures == 0

        async def notice():
            inbox = (await http.get("/api/inbox", headers=husband)).json()
            return [n for n in inbox if n["event"] == "issued"]

        (issued_notice,) = await eventually(notice)
        assert issued_notice["body"]["ja"] == "支給額は 80,000円です。"
        assert issued_notice["body"]["en"] == "The amount is ¥80,000."

        # Below the threshold there is no second approval: decided and paid at once.
        small = _example("valid-two-children")
        token = stack.issuer.issue_resident("hs-other", "佐藤 花", address="東京都千代田区一番町1")
        other = {"Authorization": f"Bearer {token}"}
        created = await http.post(APPS, json=_filing(small), headers=other)
        assert created.status_code == 201, created.text
        quick = await http.post(f"{APPS}/{created.json()['id']}/actions",
                                json={"action": "decide"}, headers=first_cw)
        assert quick.status_code == 200, quick.text
        assert quick.json()["computed"]["support"]["amount"] <= 50_000
        assert quick.json()["stage"] != "second_approval"
    webhook.stop()
