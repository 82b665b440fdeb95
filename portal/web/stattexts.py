"""The statistics pages' texts in Japanese and English (plain words: many readers are
elderly or read Japanese as a second language)."""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("手続きの統計", "Statistics of the procedures"),
    "lead": (
        "申請の件数、決定までの日数、オンラインで申請した人の割合などを、手続きと市区町村ごと、"
        "月ごとに公開しています。個人が分かる情報は含みません。",
        "How many people applied, how long a decision took and how many applied online, "
        "for each procedure and municipality, month by month. Nothing here identifies "
        "anyone.",
    ),
    "filter": ("表示する統計をえらぶ", "Choose what to show"),
    "procedure": ("手続き", "Procedure"),
    "municipality": ("市区町村", "Municipality"),
    "all": ("すべて", "All"),
    "from": ("開始月", "From (month)"),
    "to": ("終了月", "To (month)"),
    "month_hint": ("月は 2026-04 のように入力します。", "Write a month as 2026-04."),
    "show": ("表示する", "Show"),
    "downloads": ("データのダウンロード（オープンデータ）", "Download the data (open data)"),
    "downloads.lead": (
        "すべての手続き・市区町村・月の数字を、表計算ソフトやプログラムで使える形で配布しています。"
        "クリエイティブ・コモンズ 表示 4.0（CC BY 4.0）で自由に使えます。",
        "Every procedure's, municipality's and month's numbers, for spreadsheets and "
        "programs. Free to reuse "
        "under Creative Commons Attribution 4.0 (CC BY 4.0).",
    ),
    "csv": ("CSV形式（表計算ソフト向け）", "CSV (for spreadsheets)"),
    "json": ("JSON形式（プログラム向け）", "JSON (for programs)"),
    "dataset": ("データの説明（DCAT形式のJSON）", "Description of the data (DCAT JSON)"),
    "none": ("この条件に当てはまる統計はまだありません。",
             "There are no statistics for this choice yet."),
    "month": ("月", "Month"),
    "all_months": ("全期間", "All months"),
    "table_of": ("表：{what}", "Table: {what}"),
    "all_measures": ("すべての項目の表", "Table of every measure"),
    "suppressed_cell": ("非公表（注を参照）", "Not published (see the note)"),
    "notes": ("数字の見かた", "How to read the numbers"),
    "suppressed_note": (
        "「—」は公表していない数字です。件数が10件より少ないと、だれの申請か分かってしまう"
        "おそれがあるため、数字を出していません。ほかの数字から計算で分からないよう、"
        "あわせて隠している数字もあります。日数は、決定した件数が10件以上のときだけ"
        "公表します。",
        "“—” means a number we do not publish. When fewer than 10 cases are behind a "
        "number, it could point to a person, so we leave it out, and we also leave out "
        "some other numbers so that it cannot be worked out from them. Days are published "
        "only when at least 10 cases were decided.",
    ),
    "days_note": (
        "日数は申請した日から決定した日までです。補正（書類の直し）を待っていた間は"
        "数えません。",
        "Days run from the day of the application to the day of the decision, without "
        "the time spent waiting for a correction from the applicant.",
    ),
    "licence": (
        "出典を示せば、だれでも自由に使えます（CC BY 4.0）。",
        "Anyone may reuse these numbers if they name the source (CC BY 4.0).",
    ),
    "event": ("災害", "Disaster"),
    "group": ("{procedure}（{municipality}）", "{procedure} ({municipality})"),
    "group.event": ("{procedure}（{municipality}・{event}）",
                    "{procedure} ({municipality}, {event})"),
    "bad_month": (
        "月は 2026-04 のように入力してください。",
        "Please write the month as 2026-04.",
    ),
    "dash.backlog": ("処理中の案件（段階ごと）", "Work in hand, per stage"),
    "dash.backlog.lead": ("処理中 {n}件、うち期限超過 {late}件。",
                          "{n} open cases, {late} of them overdue."),
    "dash.overdue": ("期限を過ぎた案件", "Overdue cases"),
    "dash.overdue.caption": ("期限を過ぎた案件（期限の古い順）",
                             "Overdue cases, oldest due date first"),
    "dash.overdue.none": ("期限を過ぎた案件はありません。", "No case is overdue."),
    "dash.overdue.more": ("期限を過ぎた案件をすべて見る（{n}件）", "See all {n} overdue cases"),
    "dash.load": ("担当者ごとの件数", "Cases per caseworker"),
    "dash.load.lead": ("処理中の案件を担当者ごとに数えています。",
                       "Open cases counted per assigned caseworker."),
    "dash.measures": ("この自治体の統計（非公表の値を含む）",
                      "This municipality's statistics (nothing left out)"),
    "dash.measures.unavailable": ("この環境では統計を集計していません。",
                                  "This installation does not keep statistics."),
    "dash.measures.lead": (
        "公開ページと同じ項目です。職員向けのため、10件未満の数字も表示しています。"
        "外部に出さないでください。",
        "The same measures as the public page. For staff only, so numbers from fewer "
        "than 10 cases are shown too: do not publish them.",
    ),
}


def stat_text(key: str, lang: str, **values: object) -> str:
    """The statistics text ``key`` in ``lang``."""
    ja, en = TEXTS[key]
    result = en if lang == "en" else ja
    return result.format(**values) if values else result
