"""Where a questionnaire value came from, as the life-event pages show it beside the value:
the prefill's source while unchanged, 「ご自身で入力」 (declared) once the resident changed it."""

from __future__ import annotations

from portal.web import i18n
from portal.web.bundles import sources


def test_an_unchanged_prefilled_value_keeps_its_source_and_a_changed_one_is_declared():
    prefilled = {"applicant": {"name": "山田 太郎", "address": "東京都千代田区九段南1-2-1"},
                 "household_size": 3, "account": {"bank_code": "0001"}}
    provenance = {"/applicant/name": "card", "/applicant/address": "card",
                  "/household_size": "registry", "/account/bank_code": "account"}
    answers = {"applicant": {"name": "山田 太郎", "address": "東京都千代田区九段南1-2-3"},
               "household_size": 3, "account": {"bank_code": "0001"}}
    shown = sources(prefilled, provenance, answers)
    assert shown == {"/applicant/name": "card", "/applicant/address": "declared",
                     "/household_size": "registry", "/account/bank_code": "account"}
    assert [i18n.text(f"prefill.source.{s}", "ja") for s in
            ("card", "registry", "account", "declared")] == [
        "マイナンバーカードで確認済み", "住民基本台帳から", "公金受取口座から", "ご自身で入力"]


def test_a_value_the_registry_could_not_check_stays_not_verified_whatever_is_typed():
    shown = sources({}, {"/household_size": "unverified"}, {"household_size": 2})
    assert shown == {"/household_size": "unverified"}
    assert i18n.text("prefill.source.unverified", "en") == "Could not be checked (not verified)"


def test_a_source_outside_the_vocabulary_is_not_shown():
    assert sources({"a": 1}, {"/a": "guessed"}, {"a": 1}) == {}
