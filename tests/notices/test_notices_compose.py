"""compose_notice: localized titles and bodies from a procedure's messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from notices.compose import (
    ComposedNotice,
    NoticeTemplateInvalid,
    NoticeTemplateMissing,
    compose_notice,
)

MESSAGES = {
    "ja": {
        "procedure.title": "罹災証明書の交付申請",
        "notice.submitted.title": "{procedure_title}を受け付けました",
        "notice.submitted.body": (
            "{municipality_name}です。{procedure_title}を受け付けました。\n"
            "受付番号：{reference}\n処理期間の目安：{due_date}まで"
        ),
        "notice.issued.title": "罹災証明書を交付しました",
        "notice.issued.body": "マイページから罹災証明書をダウンロードできます。",
    },
    "en": {
        "procedure.title": "Disaster damage certificate",
        "notice.submitted.title": "{procedure_title}: application received",
        "notice.submitted.body": (
            "This is {municipality_name}. We have received your application "
            "(reference {reference}). Expected by {due_date}."
        ),
        "notice.issued.title": "Your certificate has been issued",
        "notice.issued.body": "Download it from your page.",
    },
}


def test_compose_fills_both_languages():
    notice = compose_notice(
        MESSAGES,
        "submitted",
        {
            "procedure_title": "罹災証明書の交付申請",
            "municipality_name": "八戸市",
            "reference": "R-2026-0001",
            "due_date": "2026-04-15",
        },
    )
    assert isinstance(notice, ComposedNotice)
    assert notice.title == {
        "ja": "罹災証明書の交付申請を受け付けました",
        "en": "罹災証明書の交付申請: application received",
    }
    assert notice.body["ja"] == (
        "八戸市です。罹災証明書の交付申請を受け付けました。\n"
        "受付番号：R-2026-0001\n処理期間の目安：2026-04-15まで"
    )
    assert "(reference R-2026-0001)" in notice.body["en"]


def test_templates_without_placeholders_ignore_params():
    notice = compose_notice(MESSAGES, "issued", {"reference": "R-1"})
    assert notice.title["ja"] == "罹災証明書を交付しました"
    assert notice.body["en"] == "Download it from your page."


def test_missing_param_renders_empty():
    notice = compose_notice(MESSAGES, "submitted", {"procedure_title": "罹災証明書"})
    assert (
        notice.body["ja"] == "です。罹災証明書を受け付けました。\n受付番号：\n処理期間の目安：まで"
    )
    assert notice.body["en"].startswith("This is . We have received")


def test_param_values_are_not_templates():
    notice = compose_notice(
        MESSAGES, "submitted", {"procedure_title": "{reference}", "reference": "R-1"}
    )
    assert notice.title["ja"] == "{reference}を受け付けました"


def test_missing_template_names_event_and_language():
    messages = {"ja": dict(MESSAGES["ja"]), "en": dict(MESSAGES["en"])}
    del messages["en"]["notice.issued.body"]
    with pytest.raises(NoticeTemplateMissing) as excinfo:
        compose_notice(messages, "issued", {})
    err = excinfo.value
    assert isinstance(err, KeyError)
    assert (err.event, err.lang, err.key) == ("issued", "en", "notice.issued.body")
    assert "'issued'" in str(err) and "'en'" in str(err)


def test_unknown_event_and_missing_language_are_missing_templates():
    with pytest.raises(NoticeTemplateMissing, match=r"'withdrawn'.*'ja'"):
        compose_notice(MESSAGES, "withdrawn", {})
    with pytest.raises(NoticeTemplateMissing, match="'en'"):
        compose_notice({"ja": MESSAGES["ja"]}, "issued", {})


@pytest.mark.parametrize("template", ["{unclosed", "{0}", "{amount:,}", "{a.b}"])
def test_malformed_template_is_a_clear_error(template):
    messages = {lang: dict(texts) for lang, texts in MESSAGES.items()}
    messages["ja"]["notice.issued.body"] = template
    with pytest.raises(NoticeTemplateInvalid, match=r"notice\.issued\.body"):
        compose_notice(messages, "issued", {})


def test_composed_notice_is_frozen():
    notice = compose_notice(MESSAGES, "issued", {})
    with pytest.raises(ValueError):
        notice.title = {}


def test_mapping_params_are_taken_per_language():
    messages = {
        "ja": {"notice.issued.title": "{document_title}ができました", "notice.issued.body": "{x}"},
        "en": {"notice.issued.title": "{document_title} issued", "notice.issued.body": "{x}"},
    }
    notice = compose_notice(
        messages,
        "issued",
        {"document_title": {"ja": "罹災証明書", "en": "Disaster certificate"}, "x": {"ja": "1"}},
    )
    assert notice.title == {"ja": "罹災証明書ができました", "en": "Disaster certificate issued"}
    assert notice.body == {"ja": "1", "en": ""}


def test_compose_with_the_catalogue_messages():
    catalog = Path(__file__).parents[2] / "forms" / "catalog" / "disaster-certificate"
    messages = {
        lang: json.loads((catalog / f"messages.{lang}.json").read_text("utf-8"))
        for lang in ("ja", "en")
    }
    for event in ("submitted", "correction_requested", "rejected", "issued"):
        notice = compose_notice(
            messages,
            event,
            {
                "procedure_title": {"ja": "罹災証明書の交付申請", "en": "Disaster certificate"},
                "application_id": "R-2026-0001",
            },
        )
        assert "R-2026-0001" in notice.body["ja"]
        assert "R-2026-0001" in notice.body["en"]
        assert "罹災証明書の交付申請" in notice.body["ja"]
        assert "{" not in notice.title["ja"] + notice.body["ja"] + notice.body["en"]
