"""A small life event written into a temporary catalogue root, for tests of its loading,
checking and use cases (the catalogue's real life events are H-catalogue's data).

``flood`` offers the packaged 罹災証明書 (required) and ``flood-support``, a copy of it under
another id that depends on the certificate being issued with a ``total`` grade.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from forms.catalog import DEFAULT_ROOT

NAME = "https://madoguchi.example/schemas/common/person-name.schema.json"
ADDRESS = "https://madoguchi.example/schemas/common/address.schema.json"
PHONE = "https://madoguchi.example/schemas/common/phone.schema.json"

QUESTIONNAIRE: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "title": "水害の質問", "x-title-en": "Flood questions",
    "properties": {
        "contact_name": {"type": "string", "title": "連絡先氏名", "x-title-en": "Contact name"},
        "disaster_event": {"type": "string", "minLength": 1, "x-choices": "disaster_events",
                           "title": "災害", "x-title-en": "Disaster"},
        "applicant": {
            "type": "object", "title": "申請者", "x-title-en": "Applicant",
            "properties": {"name": {"$ref": NAME}, "address": {"$ref": ADDRESS},
                           "phone": {"$ref": PHONE}},
            "required": ["name", "address", "phone"], "additionalProperties": False,
        },
        "household_size": {"type": "integer", "minimum": 1, "title": "世帯の人数",
                           "x-title-en": "Household size"},
        "owner": {"type": "boolean", "title": "持ち家", "x-title-en": "Owner"},
        "damage": {
            "type": "object", "title": "被害", "x-title-en": "Damage",
            "properties": {"date": {"type": "string", "format": "date", "title": "日",
                                    "x-title-en": "Date"},
                           "description": {"type": "string", "minLength": 1, "title": "内容",
                                           "x-title-en": "Description"}},
            "required": ["date", "description"], "additionalProperties": False,
        },
    },
    "required": ["disaster_event", "applicant", "household_size", "owner", "damage"],
    "additionalProperties": False,
}

_CERTIFICATE_FORM = {
    "/disaster_event": "data.disaster_event",
    "/applicant": "data.applicant",
    "/property/address": "data.applicant.address",
    "/property/kind": "'house'",
    "/property/ownership": "data.owner ? 'owner' : 'tenant'",
    "/damage": "data.damage",
}

DEFINITION: dict[str, Any] = {
    "id": "flood",
    "version": "1.0.0",
    "title": {"ja": "水害にあった", "en": "Hit by a flood"},
    "summary": {"ja": "罹災証明書と支援をまとめて申請します。",
                "en": "The certificate and the support, filed together."},
    "event_field": "/disaster_event",
    "params": {"min_size": 1},
    "prefill": {
        "/contact_name": {"source": "card", "value": "applicant.name"},
        "/household_size": {"source": "registry", "value": "household.size"},
    },
    "procedures": [
        {"procedure": "disaster-certificate", "required": True,
         "reason": {"ja": "被害の証明に必要です。", "en": "Proves the damage."},
         "not_eligible": {"ja": "-", "en": "-"}, "form": _CERTIFICATE_FORM},
        {"procedure": "flood-support", "eligible": "data.owner && household.size >= "
         "params.min_size",
         "reason": {"ja": "持ち家が被害を受けました。", "en": "Your own home was damaged."},
         "not_eligible": {"ja": "持ち家の方が対象です。", "en": "For owners only."},
         "form": {**_CERTIFICATE_FORM,
                  "/damage/description": "'grade ' + case.computed.damage_grade"},
         "after": {"procedure": "disaster-certificate", "on": "document:certificate",
                   "when": "case.computed.damage_grade == 'total'",
                   "not_filed": {"ja": "全壊ではありません。", "en": "Not a total loss."}}},
    ],
}

ANSWERS: dict[str, Any] = {
    "disaster_event": "2026-typhoon-15",
    "applicant": {
        "name": {"family": "山田", "given": "太郎", "family_kana": "ヤマダ",
                 "given_kana": "タロウ"},
        "address": {"postal_code": "1000014", "prefecture": "東京都", "city": "千代田区",
                    "street": "永田町一丁目7番1号"},
        "phone": "0312345678",
    },
    "household_size": 3,
    "owner": True,
    "damage": {"date": "2026-09-20", "description": "床上浸水"},
}

EXAMPLE: dict[str, Any] = {
    "answers": ANSWERS,
    "applicant": {"kind": "resident", "name": "山田 太郎"},
    "household": {"verified": True, "size": 3, "members": []},
    "account": None,
    "offered": ["disaster-certificate", "flood-support"],
    "upstream": {"disaster-certificate": {"status": "issuing", "data": {}, "steps": {},
                                          "computed": {"damage_grade": "total"},
                                          "documents": [{"type": "certificate"}]}},
    "municipality": "131016",
    "today": "2026-10-01",
}


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


def write_flood(root: Path, definition: dict[str, Any] | None = None,
                questionnaire: dict[str, Any] | None = None,
                examples: dict[str, dict[str, Any]] | None = None) -> Path:
    """Write ``flood-support`` and the ``flood`` life event under ``root``; returns the
    life event's folder."""
    support = root / "flood-support"
    if not support.exists():
        shutil.copytree(DEFAULT_ROOT / "disaster-certificate", support)
        raw = json.loads((support / "procedure.json").read_text(encoding="utf-8"))
        raw.update(id="flood-support", version="1.0.0",
                   title={"ja": "水害支援金", "en": "Flood support"})
        write_json(support / "procedure.json", raw)
    folder = root / "life-events" / "flood"
    write_json(folder / "life-event.json", definition or DEFINITION)
    write_json(folder / "questionnaire.schema.json", questionnaire or QUESTIONNAIRE)
    write_json(folder / "messages.ja.json", {"household_size": "世帯の人数"})
    write_json(folder / "messages.en.json", {"household_size": "Household size"})
    for name, example in (examples if examples is not None else {"basic": EXAMPLE}).items():
        write_json(folder / "examples" / f"{name}.json", example)
    return folder
