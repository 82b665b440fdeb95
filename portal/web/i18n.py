"""The portal pages' own texts in Japanese and English, and the choice of language.

Japanese is the default. ``?lang=en`` (or ``ja``) on any page switches and is remembered
in the ``madoguchi_lang`` cookie. Procedure texts (titles, field labels, options) come
from the catalogue, not from here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Literal

from fastapi import Request

from documents.wareki import format_wareki

Lang = Literal["ja", "en"]
LANG_COOKIE = "madoguchi_lang"
LANGS: tuple[Lang, ...] = ("ja", "en")
JST = timezone(timedelta(hours=9), "JST")

STRINGS: dict[str, tuple[str, str]] = {
    "service": ("まどぐち オンライン申請", "madoguchi online services"),
    "skip": ("本文へ移動", "Skip to main content"),
    "lang.switch": ("English", "日本語"),
    "lang.switch.label": ("Switch to English", "日本語に切り替える"),
    "nav.label": ("メインメニュー", "Main menu"),
    "nav.home": ("ホーム", "Home"),
    "nav.procedures": ("手続きの一覧", "Procedures"),
    "nav.apply": ("申請する", "Apply"),
    "nav.my": ("申請した手続き", "My applications"),
    "nav.inbox": ("お知らせ", "Inbox"),
    "nav.notifications": ("通知の設定", "Notification settings"),
    "nav.queue": ("案件一覧", "Case queue"),
    "signin": ("ログイン", "Sign in"),
    "signout": ("ログアウト", "Sign out"),
    "signed_in_as": ("ログイン中", "Signed in as"),
    "required": ("必須", "Required"),
    "optional": ("任意", "Optional"),
    "kana_hint": ("全角カタカナで入力してください。", "Write it in full-width katakana."),
    "date_hint": ("例：2026-07-05、2026/7/5、令和8年7月5日、R8.7.5",
                  "For example: 2026-07-05, 2026/7/5 or 令和8年7月5日"),
    "tel_hint": (
        "数字で入力してください。ハイフンがあっても構いません。例：090-1234-5678",
        "Digits; hyphens and +81 are fine. For example: 090-1234-5678 or +81 90 1234 5678",
    ),
    "postal_hint": (
        "7桁の数字。例：100-0001",
        "7 digits. For example: 100-0001",
    ),
    "select.placeholder": ("選択してください", "Choose one"),
    "error.summary": ("入力内容に誤りがあります", "There is a problem"),
    "error.summary.intro": ("次の項目を確認してください。", "Check the following:"),
    "error.prefix": ("エラー：", "Error: "),
    "continue": ("次へ進む", "Continue"),
    "back": ("前に戻る", "Back"),
    "add_another": ("もう1件追加する", "Add another"),
    "remove": ("削除する", "Remove"),
    "page_of": ("{n} / {total} ページ", "Page {n} of {total}"),
    "check.title": ("申請内容の確認", "Check your answers"),
    "check.intro": (
        "内容を確認して、よければ「申請する」を押してください。",
        "Check your answers. If they are right, send the application.",
    ),
    "check.change": ("変更する", "Change"),
    "check.submit": ("この内容で申請する", "Send the application"),
    "check.submit_correction": ("この内容で補正を送る", "Send the corrected application"),
    "empty": ("（未入力）", "(not given)"),
    "home.title": ("オンライン申請", "Online services"),
    "home.lead": (
        "市区町村の手続きを、窓口に行かずにオンラインで申請できます。",
        "Apply to your municipality online, without going to the office.",
    ),
    "home.resident": ("申請する方", "Residents"),
    "home.staff": ("職員の方", "Municipal staff"),
    "apply.title": ("申請する手続きを選ぶ", "Choose what to apply for"),
    "apply.municipality": ("申請先の市区町村", "Your municipality"),
    "apply.procedure": ("手続き", "Procedure"),
    "apply.start": ("申請を始める", "Start"),
    "apply.prepare": ("用意するもの・入力すること", "What you need"),
    "apply.period": ("標準処理期間：{days}日", "Standard processing period: {days} days"),
    "apply.correcting": ("補正：申請内容を直す", "Correction: amend your application"),
    "public.title": ("手続きの一覧", "Procedures"),
    "public.lead": (
        "オンラインで申請できる手続きと、申請の前に用意するものです。",
        "The procedures you can apply for online, and what to have at hand.",
    ),
    "public.documents": ("交付される書類", "Documents issued"),
    "public.identity": ("本人確認（ログイン）が必要です。", "You sign in to prove who you are."),
    "login.title": ("ログイン", "Sign in"),
    "login.idp": ("本人確認サービスでログインする", "Sign in with the identity service"),
    "login.no_idp": (
        "ログインの方法が設定されていません。管理者にお問い合わせください。",
        "No sign-in method is configured. Contact the administrator.",
    ),
    "login.dev": ("開発用ログイン", "Development sign-in"),
    "login.dev.lead": (
        "開発モードです。本物の本人確認の代わりに、デモの利用者を選んでログインします。",
        "Development mode: choose a demo user instead of a real identity check.",
    ),
    "login.residents": ("住民（申請する方）", "Residents"),
    "login.staff": ("職員", "Municipal staff"),
    "login.as": ("この利用者でログイン", "Sign in as this user"),
    "login.required": ("続けるにはログインしてください。", "Sign in to continue."),
    "login.expired": (
        "ログインの有効期限が切れました。もう一度ログインしてください。",
        "Your session has ended. Sign in again.",
    ),
    "signed_out": ("ログアウトしました。", "You have signed out."),
    "my.title": ("申請した手続き", "My applications"),
    "my.none": ("まだ申請はありません。", "You have no applications yet."),
    "my.filed": ("申請を受け付けました", "Application sent"),
    "my.filed.id": ("受付番号", "Your reference number"),
    "my.filed.next": (
        "担当者が内容を確認します。結果は「お知らせ」でお伝えします。",
        "A caseworker will check it. We will tell you the result in your inbox.",
    ),
    "app.title": ("申請の状況", "Application"),
    "app.id": ("受付番号", "Reference number"),
    "app.procedure": ("手続き", "Procedure"),
    "queue.department": ("担当課", "Department"),
    "app.municipality": ("申請先", "Municipality"),
    "app.status": ("状況", "Status"),
    "app.stage": ("段階", "Stage"),
    "app.submitted": ("申請日時", "Sent"),
    "app.due": ("処理期限", "Due"),
    "app.timeline": ("これまでの経過", "History"),
    "app.data": ("申請内容", "Your answers"),
    "app.documents": ("交付された書類", "Issued documents"),
    "app.download": ("ダウンロード（PDF）", "Download (PDF)"),
    "app.verify": ("真正性を確認する", "Check authenticity"),
    "app.correction": ("申請内容の補正をお願いします", "Please correct your application"),
    "app.correction.deadline": ("期限", "Deadline"),
    "app.correction.answer": ("申請内容を直す", "Correct the application"),
    "app.withdraw": ("申請を取り下げる", "Withdraw the application"),
    "app.done.withdraw": ("申請を取り下げました。", "You have withdrawn the application."),
    "app.done.submit_correction": (
        "直した申請を送りました。",
        "Your corrected application has been sent.",
    ),
    "app.done.action": ("手続きを行いました。", "Done."),
    "app.stage_actions": ("行える手続き", "What you can do"),
    "stage_action.comment": ("理由・内容", "Reason or details"),
    "withdraw.title": ("申請を取り下げますか", "Withdraw this application?"),
    "withdraw.body": (
        "取り下げると、この申請の手続きは終わり、元に戻せません。",
        "If you withdraw, the case ends and cannot be reopened.",
    ),
    "withdraw.confirm": ("取り下げる", "Yes, withdraw"),
    "withdraw.cancel": ("取り下げない（戻る）", "No, go back"),
    "inbox.title": ("お知らせ", "Inbox"),
    "inbox.none": ("お知らせはありません。", "No messages."),
    "inbox.open": ("申請を見る", "View the application"),
    "queue.title": ("案件一覧", "Case queue"),
    "queue.filters": ("絞り込み", "Filters"),
    "queue.apply_filters": ("絞り込む", "Filter"),
    "queue.all": ("すべて", "All"),
    "queue.assignee": ("担当者", "Assignee"),
    "queue.assignee.me": ("自分", "Me"),
    "queue.assignee.none": ("未割当", "Unassigned"),
    "queue.counts": ("段階ごとの件数", "Cases per stage"),
    "queue.none": ("条件に合う案件はありません。", "No cases match."),
    "queue.overdue": ("期限超過", "Overdue"),
    "queue.started": ("申請日時", "Received"),
    "queue.caption": ("未処理の案件（新しい順）", "Open cases, newest first"),
    "case.title": ("案件", "Case"),
    "case.applicant": ("申請者", "Applicant"),
    "case.actions": ("行える操作", "What you can do"),
    "case.no_actions": ("いま行える操作はありません。", "There is nothing you can do now."),
    "case.comment": ("コメント", "Comment"),
    "case.comment.required": ("理由（コメント）", "Reason (comment)"),
    "case.comment.hint": (
        "申請者への補正依頼や却下の理由は、申請者に伝わります。",
        "A correction request or a rejection reason is sent to the applicant.",
    ),
    "case.step_data": ("調査などの記録", "Step records"),
    "case.computed": ("算定結果", "Computed"),
    "case.refused": ("この操作は行えませんでした", "The action was refused"),
    "case.done": ("「{action}」を行いました。", "Done: {action}."),
    "case.assignee": ("担当者", "Assignee"),
    "confirm.title": ("「{action}」を行いますか", "{action}: are you sure?"),
    "confirm.yes": ("行う", "Yes, do it"),
    "confirm.no": ("やめる（戻る）", "No, go back"),
    "nav.drafts": ("一時保存した申請", "Saved drafts"),
    "nav.dashboard": ("集計", "Dashboard"),
    "files.hint": (
        "{types} のファイルを、1件{mb} MBまで、{count}件まで添付できます。",
        "{types} files, up to {mb} MB each, at most {count}.",
    ),
    "files.uploaded": ("添付したファイル", "Attached files"),
    "files.none": ("まだ添付していません。", "No files attached yet."),
    "files.choose": ("ファイルを選ぶ", "Choose a file"),
    "files.upload": ("選んだファイルを添付する", "Attach the chosen file"),
    "files.full": (
        "添付できる上限（{count}件）に達しました。",
        "You have attached the maximum of {count}.",
    ),
    "draft.save": ("一時保存する", "Save and come back later"),
    "draft.saved": (
        "一時保存しました。ほかの端末からも、続きを入力できます。",
        "Saved. You can continue later, from any device.",
    ),
    "draft.list": ("一時保存した申請を見る", "See your saved drafts"),
    "draft.conflict": (
        "この下書きは別の端末で更新されています。もう一度「一時保存する」を押すと、"
        "この画面の内容で上書きします。",
        "This draft was saved on another device meanwhile. Save again to replace it "
        "with what is on this screen.",
    ),
    "draft.unavailable": (
        "一時保存は現在使えません。",
        "Saving drafts is not available at the moment.",
    ),
    "drafts.title": ("一時保存した申請", "Saved drafts"),
    "drafts.lead": (
        "入力の途中で保存した申請です。どの端末からでも続きを入力できます。"
        "本人（申請される方）の情報は、続きを入力するときにもう一度お聞きします。",
        "Applications you saved before finishing. Continue on any device. If you apply "
        "for someone else, you will be asked about them again.",
    ),
    "drafts.none": ("一時保存した申請はありません。", "You have no saved drafts."),
    "drafts.saved_at": ("保存日時", "Saved"),
    "drafts.actions": ("操作", "Actions"),
    "drafts.resume": ("続きを入力する", "Continue"),
    "drafts.delete": ("削除する", "Delete"),
    "drafts.deleted": ("下書きを削除しました。", "Draft deleted."),
    "my.drafts": ("一時保存した申請が{n}件あります。", "You have {n} saved draft(s)."),
    "who.title": ("誰のための申請ですか", "Who is this application for?"),
    "who.legend": ("申請する方", "Applying for"),
    "who.self": ("自分のために申請する", "Myself"),
    "who.proxy": (
        "家族などの代わりに申請する（代理申請）",
        "A family member or someone I act for (proxy filing)",
    ),
    "who.proxy.hint": (
        "選んだ場合は、下の「本人（申請される方）」も入力してください。",
        "If you choose this, also fill in the person below.",
    ),
    "who.details": ("代理申請の場合：本人（申請される方）", "For a proxy filing: the person"),
    "who.details.hint": (
        "「家族などの代わりに申請する」を選んだときだけ入力します。",
        "Only when you apply for someone else.",
    ),
    "who.name.hint": ("例：山田 トメ", "For example: 山田 トメ"),
    "proxy.badge": ("代理申請", "Proxy filing"),
    "proxy.title": ("この申請は代理人による申請です", "This application was filed by a proxy"),
    "proxy.name": ("本人の氏名", "The person's name"),
    "proxy.name_kana": ("本人の氏名（フリガナ）", "The person's name (kana)"),
    "proxy.birthdate": ("本人の生年月日", "The person's date of birth"),
    "proxy.relationship": ("本人との関係", "Relationship"),
    "proxy.relationship.legend": ("本人との関係（あなたから見て）", "Your relationship to them"),
    "proxy.relationship_detail": ("関係の内容（「その他」の場合）", "Details (for 'Other')"),
    "proxy.relationship_detail.hint": (
        "「その他」を選んだときだけ入力します。例：民生委員",
        "Only for 'Other'. For example: welfare commissioner",
    ),
    "queue.due": ("処理期限", "Due date"),
    "queue.due.overdue": ("期限超過", "Overdue"),
    "queue.due.week": ("7日以内", "Within 7 days"),
    "queue.due.none": ("期限なし", "No due date"),
    "queue.overdue_count": ("期限超過：{n}件", "Overdue: {n}"),
    "revoke.link": ("この書類を取り消す", "Revoke this document"),
    "revoke.title": ("書類を取り消しますか", "Revoke this document?"),
    "revoke.body": (
        "取消しは、別の職員が確認した時点で行われます（二者確認）。取り消すと、検証ページで"
        "この書類は「取消し」と表示され、元に戻せません。理由は検証ページで公開されます。"
        "個人情報を書かないでください。",
        "The revocation takes effect when a second caseworker confirms it (four eyes). Once "
        "revoked, the verify page shows the document as revoked; this cannot be undone. The "
        "reason is public on the verify page: write no personal data.",
    ),
    "revoke.requested_by": ("取消しを求めた職員", "Asked for by"),
    "revoke.confirming.title": ("書類の取消しを確認しますか", "Confirm the revocation?"),
    "revoke.confirming.body": (
        "別の職員が、次の理由でこの書類の取消しを求めています。確認すると取り消され、"
        "検証ページに理由とともに表示されます。元に戻せません。",
        "Another caseworker asks for this document to be revoked for the reason above. "
        "Once you confirm, it is revoked and the verify page shows it with the reason. "
        "This cannot be undone.",
    ),
    "revoke.confirming.button": ("確認して取り消す", "Confirm and revoke"),
    "revoke.confirm_link": ("取消しを確認する", "Confirm the revocation"),
    "revoke.status.pending": ("取消しの確認待ち", "Revocation awaiting a second caseworker"),
    "revoke.reason": ("取消しの理由", "Reason for the revocation"),
    "revoke.reason.hint": (
        "検証ページで公開されます（1000文字まで）。例：記載内容に誤りがあったため再発行しました。",
        "Shown on the public verify page (up to 1000 characters).",
    ),
    "revoke.confirm": ("取消しを求める", "Ask for the revocation"),
    "revoke.done.requested": (
        "取消しを求めました。別の職員が確認すると取り消されます（二者確認）。",
        "Revocation asked for: it takes effect when a second caseworker confirms it.",
    ),
    "revoke.done.confirmed": ("書類を取り消しました。", "The document has been revoked."),
    "revoke.status.revoked": ("取消し済み", "Revoked"),
    "revoke.status.superseded": ("差し替え済み", "Superseded"),
    "dash.title": ("集計", "Dashboard"),
    "dash.lead": (
        "案件の件数と処理日数です（個人情報は含みません）。対象：{m}",
        "Case counts and processing times (no personal data). Municipalities: {m}",
    ),
    "dash.per_day": ("日ごとの申請件数（直近14日）", "Applications per day (last 14 days)"),
    "dash.per_stage": ("段階ごとの件数（処理中）", "Open cases per stage"),
    "dash.processing": (
        "処理日数と標準処理期間",
        "Processing time against the legal period",
    ),
    "dash.processing.lead": (
        "処理中の案件は経過日数、完了した案件は処理日数を、標準処理期間に対する割合で数えます。",
        "Open cases by days so far, closed cases by days taken, as a share of the legal period.",
    ),
    "dash.day": ("日付", "Date"),
    "dash.count": ("件数", "Cases"),
    "dash.stage": ("段階", "Stage"),
    "dash.band": ("標準処理期間に対して", "Against the legal period"),
    "dash.open": ("処理中", "Open"),
    "dash.closed": ("完了", "Closed"),
    "dash.total": ("合計 {n}件", "{n} in total"),
    "dash.chart": ("グラフ", "Chart"),
    "dash.table": ("表", "Table"),
    "dash.band.0": ("50%未満", "Under 50%"),
    "dash.band.1": ("50〜80%", "50–80%"),
    "dash.band.2": ("80〜100%", "80–100%"),
    "dash.band.3": ("超過", "Over the period"),
    "dash.median": (
        "完了した案件の処理日数の中央値：{d}日",
        "Median processing time of closed cases: {d} days",
    ),
    "dash.no_closed": (
        "完了した案件の処理日数はまだありません。",
        "No closed cases with a processing time yet.",
    ),
    "notfound.title": ("ページが見つかりません", "Page not found"),
    "notfound.body": (
        "アドレスが間違っているか、ページが移動または削除された可能性があります。",
        "The address may be mistyped, or the page may have moved or been removed.",
    ),
    "notfound.links": ("次のページから探せます。", "You can start from these pages:"),
    "servererror.title": ("システムで問題が起きました", "Something went wrong"),
    "error.title": ("エラー", "Error"),
    "error.back": ("ホームに戻る", "Go to the home page"),
    "error.existing": ("すでにある申請を見る", "View the existing application"),
    "footer": (
        "この画面はオープンソースの「まどぐち」で動いています。",
        "This service runs on the open-source madoguchi engine.",
    ),
    # --- resident filing (#17)
    "same_address": ("申請者の住所と同じ", "Same as the applicant's address"),
    "consent.agree": ("上記の内容に同意します", "I agree"),
    "filing.refused": ("申請できませんでした", "The application could not be sent"),
    "filing.refused.kept": (
        "入力した内容はすべて残っています。「変更する」から内容を直すか、一時保存して後で申請できます。",
        "Everything you entered is kept. Use “Change” to correct it, or save it and apply later.",
    ),
    "filing.refused.existing": ("すでにある申請を見る", "View your existing application"),
    "textsize.large": ("文字を大きくする", "Larger text"),
    "textsize.normal": ("文字を標準の大きさにする", "Standard text size"),
    "correction.asked": ("担当者からの依頼", "What the caseworker asked"),
    # --- staff and status (#17)
    "ref.label": ("問い合わせ番号", "Phone reference"),
    "ref.hint": (
        "お電話でお問い合わせのときは、この番号をお伝えください。",
        "Read this out when you call us.",
    ),
    "status.staff.awaiting_applicant": ("申請者の手続き待ち", "Waiting for the applicant"),
    "status.resident.awaiting_applicant": ("あなたの手続き待ち", "Waiting for you"),
    "case.data": ("申請内容", "Application data"),
    "case.names_unknown": ("（職員ID）", "(staff id)"),
    "case.expected": ("決定の予定日（目安）", "Expected decision by"),
    "case.expected.hint": (
        "標準処理期間（{days}日）による目安です。補正を待つ間は数えません。",
        "From the standard processing period ({days} days); time waiting for a correction "
        "does not count.",
    ),
    "case.expected.paused": (
        "補正が届くまで止まっています",
        "Paused until the correction arrives",
    ),
    "case.contact": ("担当課・お問い合わせ先", "Department and contact"),
    "contact.phone": ("電話", "Phone"),
    "contact.hours": ("受付時間", "Hours"),
    "contact.email": ("メール", "Email"),
    "preview.title": (
        "登録すると、次のとおり記録されます",
        "If you confirm, the case records this",
    ),
    "preview.failed": (
        "入力された内容では算定できません。入力を確かめてください。",
        "The values cannot be computed from this input: check it.",
    ),
    "changes.title": ("補正で変わった内容", "What the correction changed"),
    "changes.item": ("項目", "Answer"),
    "changes.before": ("補正前", "Before"),
    "changes.after": ("補正後", "After"),
    "changes.none": (
        "補正で変わった項目はありません。",
        "The correction changed no answer.",
    ),
    "queue.search": ("受付番号・問い合わせ番号で探す", "Find by reference or id"),
    "queue.search.hint": ("例：7KQ2-M9XD", "For example: 7KQ2-M9XD"),
    "queue.search.button": ("探す", "Find"),
    "queue.status": ("状況", "Status"),
    "queue.status.open": ("職員の処理待ち", "Waiting for staff"),
    "queue.status.waiting": ("申請者の手続き待ち", "Waiting for the applicant"),
    "queue.caption.waiting": (
        "申請者の手続き待ちの案件（新しい順）",
        "Cases waiting for the applicant, newest first",
    ),
    "queue.caption.found": ("検索結果", "Search results"),
    "queue.municipalities": ("対象：{m}", "Municipalities: {m}"),
    "inbox.document": ("交付された書類を受け取る", "Get the issued documents"),
    "inbox.correction": ("補正で変わった内容を見る", "See what the correction changed"),
    "timeline.moved": ("手続きが「{stage}」に進みました", "Your application moved on: {stage}"),
    "timeline.rejected": ("申請は認められませんでした", "The application was not granted"),
    "timeline.worked": ("市区町村で手続きを進めました", "The municipality worked on your case"),
    "my.filed.ref": ("問い合わせ番号", "Phone reference"),
    "computed.damage_grade": ("被害の程度", "Damage grade"),
    "computed.grant_amount": ("交付決定額の算定", "Grant calculation"),
    "computed.final_amount": ("確定額の算定", "Final amount calculation"),
    "computed.allowance": ("手当額の算定", "Allowance calculation"),
    "computed.amount": ("金額", "Amount"),
    "computed.eligible_total": ("補助対象経費", "Eligible expenses"),
    "computed.eligible_categories": ("対象となる経費の区分", "Eligible categories"),
    "computed.rate": ("補助率", "Rate"),
    "computed.cap": ("上限額", "Cap"),
    "computed.granted": ("交付決定額", "Amount granted"),
    "computed.children": ("対象の子どもの数", "Children counted"),
    "computed.under3": ("うち3歳未満", "Of whom under 3"),
    "computed.third_or_later": ("うち第3子以降", "Of whom third or later"),
    "computed.monthly": ("手当月額", "Monthly amount"),
    "computed.grant_amount.amount": ("交付決定額", "Grant amount"),
    "computed.final_amount.amount": ("確定額", "Final amount"),
    # ---- h-pages (#18): life events, the bundle's status, the 被災者台帳 ----
    "le.entry.title": ("くらしの出来事から申請する", "Apply by what happened"),
    "le.entry.lead": ("一度答えるだけで、必要な手続きをまとめて申請できます。",
                      "Answer once, and apply for every procedure that follows together."),
    "le.choose.title": ("何がありましたか", "What happened?"),
    "le.choose.lead": ("あてはまるものを選んでください。いくつかの質問に答えると、"
                       "申請できる手続きをお知らせします。",
                       "Choose what applies. After a few questions we show the procedures "
                       "you can apply for."),
    "le.choose.event": ("できごと", "What happened"),
    "le.choose.municipality": ("お住まいの市区町村", "Your municipality"),
    "le.choose.start": ("質問に答える", "Answer the questions"),
    "le.prefilled": ("わかっている内容は、あらかじめ入力しました。"
                     "それぞれ、どこから入力したかを表示しています。違っていたら直してください。",
                     "What we already know is filled in, each with where it came from. "
                     "Correct anything that is wrong."),
    "prefill.source.card": ("マイナンバーカードで確認済み", "Checked with your My Number card"),
    "prefill.source.registry": ("住民基本台帳から", "From the resident register"),
    "prefill.source.account": ("公金受取口座から", "From your registered public-funds account"),
    "prefill.source.declared": ("ご自身で入力", "Entered by you"),
    "prefill.source.unverified": ("確認できませんでした（未確認）",
                                  "Could not be checked (not verified)"),
    "le.registry.unavailable.title": ("世帯の情報を確認できませんでした",
                                      "We could not check your household"),
    "le.registry.unavailable": ("いま住民基本台帳の情報を読めません。ご自身で入力してください。"
                                "入力した内容は「未確認」として申請され、担当者が確認します。",
                                "The resident register cannot be read right now. Please enter "
                                "the details yourself: they are sent marked as not verified, "
                                "and staff will check them."),
    "le.registry.not_found": ("住民基本台帳で、あなたの世帯を見つけられませんでした。"
                              "ご自身で入力してください。入力した内容は「未確認」として申請され、"
                              "担当者が確認します。",
                              "We could not find your household in the resident register. "
                              "Please enter the details yourself: they are sent marked as not "
                              "verified, and staff will check them."),
    "le.offers.title": ("申請する手続きを選んでください", "Choose the procedures to apply for"),
    "le.offers.intro": ("答えた内容から、申請できる手続きを選びました。"
                        "申請しないものはチェックを外してください。",
                        "From your answers, these procedures apply to you. Untick any you do "
                        "not want."),
    "le.offers.apply": ("申請できる手続き", "Procedures that apply"),
    "le.offers.reason": ("理由", "Why"),
    "le.offers.required": ("この手続きは必ず申請します（ほかの手続きのもとになります）。",
                           "This one is always filed (the others build on it)."),
    "le.offers.not": ("対象にならない手続き", "Procedures that do not apply"),
    "le.check.intro": ("答えた内容と、申請する手続きを確認してください。"
                       "この内容で、選んだ手続きをまとめて申請します。",
                       "Check your answers and the procedures chosen: they are all filed "
                       "together with these answers."),
    "le.check.procedures": ("申請する手続き", "Procedures to file"),
    "le.check.submit": ("まとめて申請する", "Apply for all of these"),
    "le.receipts": ("申請控え（電子印つきのPDF）は、手続きごとに1通ずつ発行します。"
                    "手続きごとに担当する部署が違い、それぞれの控えが申請の証明になるためです。"
                    "この画面ですべての控えを見られます。",
                    "A sealed receipt (PDF) is issued for each procedure: each is handled by "
                    "its own department, and each receipt is your proof of that filing. This "
                    "page lists them all."),
    "le.existing.title": ("ご家族がすでに申請しています",
                          "Someone in your household has already applied"),
    "le.existing.body": ("この出来事の申請は、世帯で1つにまとめています。"
                         "すでに申請された内容と、手続きの状況を確認できます。",
                         "Applications for this are kept together, one per household. You can "
                         "see what was filed and where each procedure stands."),
    "le.existing.link": ("申請の状況を見る", "See the applications"),
    "le.bundle.title": ("まとめて申請した手続きの状況", "Your applications, together"),
    "le.bundle.filed": ("申請しました", "Your applications have been sent"),
    "le.bundle.submitted": ("申請日時", "Sent"),
    "le.bundle.id": ("受付番号", "Reference"),
    "le.bundle.receipts": ("手続きごとに、申請控えと交付された書類を表示しています。",
                           "Each procedure shows its receipt and the documents issued."),
    "le.bundle.procedures": ("手続き", "Procedures"),
    "le.bundle.waits": ("待っていること", "Waiting for"),
    "le.bundle.stage": ("いまの段階", "Current step"),
    "le.bundle.household": ("ご家族が申請した手続きの状況です。申請の内容と書類は、"
                            "申請したご本人だけが見られます。",
                            "These are the procedures a member of your household filed. "
                            "Only they can see the answers and documents."),
    "le.bundle.reason": ("理由", "Why"),
    "le.bundle.open": ("詳しく見る", "Details"),
    "le.bundle.withdraw_one": ("この手続きを取り下げる", "Withdraw this one"),
    "le.bundle.withdraw_all": ("すべて取り下げる", "Withdraw all"),
    "le.bundle.done.withdraw": ("手続きを取り下げました。", "The procedure was withdrawn."),
    "le.bundle.done.withdraw_all": ("まだ終わっていない手続きを、すべて取り下げました。",
                                    "Every procedure not yet finished was withdrawn."),
    "le.withdraw.title_one": ("この手続きを取り下げますか", "Withdraw this procedure?"),
    "le.withdraw.title_all": ("すべての手続きを取り下げますか", "Withdraw every procedure?"),
    "le.withdraw.body_one": ("取り下げると、この手続きの審査は止まります。ほかの手続きは続きます。"
                             "この手続きのあとに自動で申請される手続きも、申請されません。",
                             "Withdrawing stops this procedure. The others go on; a procedure "
                             "that would follow this one automatically is not filed."),
    "le.withdraw.body_all": ("取り下げると、まだ終わっていない手続きの審査がすべて止まり、"
                             "自動で申請される予定の手続きも申請されません。",
                             "Withdrawing stops every procedure not yet finished, and none "
                             "waiting to be filed automatically will be."),
    "le.my.bundles": ("まとめて申請した手続き", "Applied together"),
    "le.my.cases": ("申請ごとの一覧", "Each application"),
    "le.staff.bundle": ("同じ世帯がまとめて申請した手続き", "Filed together by this household"),
    "le.staff.this_case": ("この案件", "this case"),
    "le.staff.note": ("待っていること・理由", "Waiting for, or why"),
    "nav.ledger": ("被災者台帳", "Disaster victims' register"),
    "ledger.title": ("被災者台帳", "Disaster victims' register"),
    "ledger.lead": ("災害ごとに、世帯ごとの罹災の程度、申請、決定と支給額をまとめています。",
                    "Per disaster: each household's damage grade, applications, decisions "
                    "and amounts."),
    "ledger.no_events": ("担当する市区町村に、登録された災害はありません。",
                         "Your municipalities have no disaster events declared."),
    "ledger.event": ("災害", "Disaster"),
    "ledger.grade": ("罹災の程度", "Damage grade"),
    "ledger.grade.none": ("未判定", "Not yet assessed"),
    "ledger.status": ("状況", "Status"),
    "ledger.status.open": ("審査中の案件あり", "With open cases"),
    "ledger.status.decided": ("すべて決定済み", "All decided"),
    "ledger.csv": ("CSV形式でダウンロード（都道府県への報告用）",
                   "Download as CSV (for the prefecture)"),
    "ledger.count": ("{n} 世帯", "{n} households"),
    "ledger.household": ("世帯", "Household"),
    "ledger.size": ("{n} 人世帯", "{n} people"),
    "ledger.address": ("住所", "Address"),
    "ledger.cases": ("申請と決定", "Applications and decisions"),
    "ledger.amount": ("支給額の合計", "Total paid"),
    "ledger.none": ("条件に合う世帯はありません。", "No households match."),
    # the support grant's computed parts, where the procedure's messages name none
    "computed.support.grade": ("被害の程度", "Damage grade"),
    "computed.support.basic_full": ("基礎支援金の満額", "Basic support, full amount"),
    "computed.support.additional_full": ("加算支援金の満額", "Additional support, full amount"),
    "computed.support.single": ("単身世帯（4分の3）", "One-person household (three quarters)"),
    "computed.support.basic": ("基礎支援金の額", "Basic support amount"),
    "computed.support.additional": ("加算支援金の額", "Additional support amount"),
    "computed.support.total": ("支給額", "Amount"),
    "computed.condolence.amount": ("見舞金の額", "Condolence money"),
    # ---- end h-pages ----
    # ---- #19 h-counter-pages: the assisted mode ----
    "assist.title": ("支援員と一緒に申請する（サポートモード）",
                     "Filing with a helper (assisted mode)"),
    "assist.intro": ("デジタル活用支援員がとなりでお手伝いするときのモードです。",
                     "Use this mode when a digital-support helper is sitting beside you."),
    "assist.does.text": ("文字が大きくなります。", "The text gets bigger."),
    "assist.does.steps": ("入力する画面ごとに、何をすればよいかを順番に表示します。",
                          "Each form page shows, step by step, what to do."),
    "assist.does.notice": ("支援員がお手伝いしていることを画面に表示します。",
                           "The pages show that a helper is assisting you."),
    "assist.does.applicant": ("申請するのはあなたご本人です。支援員は代理人ではありません。",
                              "You are the applicant. The helper is not your proxy."),
    "assist.code.label": ("支援員の番号", "Helper's number"),
    "assist.code.hint": ("支援員から伝えられた番号です（例：AB12-CD34）。"
                         "英数字とハイフンで入力してください。",
                         "The code the helper gives you (for example AB12-CD34): "
                         "letters, digits and hyphens."),
    "assist.code.invalid": ("支援員の番号は英数字とハイフン（24文字まで）で入力してください",
                            "Enter the helper's number with letters, digits and hyphens "
                            "(up to 24)"),
    "assist.turn_on": ("サポートモードにする", "Turn on assisted mode"),
    "assist.turn_off": ("サポートモードを終わる", "Turn off assisted mode"),
    "assist.on.now": ("いまサポートモードです。", "Assisted mode is on."),
    "assist.link": ("支援員と使う", "Use with a helper"),
    "assist.link.on": ("サポートモード中", "Assisted mode on"),
    "assist.banner.label": ("サポートモード", "Assisted mode"),
    "assist.banner": ("デジタル活用支援員がお手伝いしています。",
                      "A digital-support helper is assisting you."),
    "assist.helper": ("（支援員の番号：{code}）", "(helper's number: {code})"),
    "assist.banner.applicant": ("申請者はあなたご本人です。",
                                "You are the applicant."),
    "assist.steps.title": ("この画面ですること（{n} / {total}）",
                           "What to do on this page ({n} of {total})"),
    "assist.steps.next": ("すべて入力したら、いちばん下の「次へ進む」を押します。",
                          "When you have answered, press Continue at the bottom."),
    "assist.steps.ask": ("わからないときは、となりの支援員に聞いてください。",
                         "If you are unsure, ask the helper beside you."),
    "assist.who": ("ご自分の申請なら「自分のために申請する」を選びます。"
                   "支援員は代理人ではありません。",
                   "If it is your own application, choose Myself. The helper is not a proxy."),
    "assist.required": ("（必ず入力します）", "(you must answer this)"),
    "assist.check": ("入力した内容を支援員と一緒に見直してください。"
                     "よければ「申請する」を押します。",
                     "Check your answers together with the helper. If they are right, "
                     "press the button to apply."),
    "assist.kind.text": ("文字で入力します。", "Type your answer."),
    "assist.kind.textarea": ("文章で書きます。短くてもかまいません。",
                             "Write a few sentences. Short is fine."),
    "assist.kind.number": ("数字だけを入力します。", "Type numbers only."),
    "assist.kind.date": ("年・月・日を数字で入力します（例：2026-04-01）。",
                         "Type the year, month and day as numbers (for example 2026-04-01)."),
    "assist.kind.email": ("メールアドレスを入力します。", "Type an e-mail address."),
    "assist.kind.tel": ("電話番号を数字で入力します。", "Type a phone number in digits."),
    "assist.kind.radios": ("あてはまるものを1つ選びます。", "Choose one answer."),
    "assist.kind.select": ("一覧から1つ選びます。", "Choose one from the list."),
    "assist.kind.consent": ("内容を読んで、よければチェックを入れます。",
                            "Read it, and tick the box if you agree."),
    "assist.kind.group": ("いくつかの項目をまとめて入力します。", "Answer each part of it."),
    "assist.kind.array": ("必要な数だけ追加して入力します。", "Add as many as you need."),
    "assist.kind.files": ("写真やファイルを選んで「アップロード」を押します。",
                          "Choose a photo or file, then press upload."),
    "receipt.title": ("申請控え", "Receipt of your application"),
    "receipt.link": ("印刷用の申請控えを表示する", "Show the receipt to print"),
    "receipt.print": ("このページはそのまま印刷できます（ブラウザの「印刷」を使います）。",
                      "You can print this page as it is (use your browser's Print)."),
    "receipt.sealed": ("電子印つきの申請控え（PDF）", "The sealed copy (PDF)"),
    "receipt.verify": ("QRコードまたは次のアドレスで、本物かどうかを確かめられます。",
                       "Scan the QR code or open this address to check that it is genuine."),
    "receipt.pending": ("電子印つきの申請控えを作成しています。しばらくしてからもう一度開いて"
                        "ください。", "The sealed copy is being made. Open this page again "
                        "in a moment."),
    "receipt.answers": ("申請した内容", "What was filed"),
    "case.counter": ("窓口での申請", "Filed at the counter"),
    "case.counter.by": ("{staff} が窓口（{counter}）で受け付け。本人確認：{method}",
                        "Filed at the counter ({counter}) by {staff}; identity checked by "
                        "{method}"),
    "case.counter.unverified": ("住民基本台帳で未確認", "not verified in the resident registry"),
    "case.assisted": ("支援", "Assisted"),
    "case.assisted.by": ("デジタル活用支援員（{helper}）が手伝って申請（代理ではありません）",
                         "Filed with the help of a digital-support helper ({helper}); not a "
                         "proxy"),
    "counter.open.title": ("窓口の受付を始める", "Start a counter session"),
    "counter.open.intro": ("来庁された方の本人確認をしてから入力します。住民基本台帳で照会し、"
                           "見つからないときや照会できないときは、入力した内容で「未確認」として"
                           "受け付けます。",
                           "Check the identity of the resident present first. The resident "
                           "registry is asked; if it does not find them or does not answer, the "
                           "session runs on what you typed, marked as not verified."),
    "counter.method": ("本人確認の方法", "How the identity was checked"),
    "counter.method.hint": ("マイナンバー（個人番号）は記録しません。",
                            "The My Number itself is never recorded."),
    "counter.counter_id": ("窓口の番号", "Counter"),
    "counter.counter_id.hint": ("例：honcho-1F-3（英数字とハイフン）",
                                "For example honcho-1F-3 (letters, digits, hyphens)"),
    "counter.resident": ("来庁された方", "The resident present"),
    "counter.name": ("氏名", "Name"),
    "counter.name_kana": ("氏名のフリガナ", "Name in kana"),
    "counter.birthdate": ("生年月日", "Date of birth"),
    "counter.birthdate.hint": ("例：1950-04-01、1950/4/1、1950年4月1日",
                               "For example 1950-04-01"),
    "counter.address": ("住所", "Address"),
    "counter.address.hint": ("本人確認書類のとおりに入力します。", "As on the identity document."),
    "counter.open.submit": ("照会して受付を始める", "Look up and start"),
    "counter.bar": ("窓口の受付", "Counter session"),
    "counter.unverified": ("（台帳で未確認）", "(not verified in the registry)"),
    "counter.unverified.note": ("住民基本台帳で確認できませんでした。入力した内容で「未確認」として"
                                "受け付けます。担当課が確認します。",
                                "The resident registry could not confirm this person. The "
                                "filing goes in on what was typed, marked as not verified; "
                                "the department checks it."),
    "counter.expires": ("この受付は {at} に自動で終了します", "This session ends at {at}"),
    "counter.close": ("受付を終了する", "End the session"),
    "counter.session.title": ("受付中", "Session open"),
    "counter.session.procedures": ("この窓口で申請できる手続き", "Procedures to file here"),
    "counter.procedure": ("手続き", "Procedure"),
    "counter.procedure.id": ("手続きの番号", "Procedure id"),
    "counter.confirm.title": ("申請する内容のご確認", "Please check what will be filed"),
    "counter.confirm.intro": ("「{what}」を、次の内容で申請します。よろしければ下のボタンを"
                              "押してください。",
                              "{what} will be filed with the answers below. If they are "
                              "right, press the button."),
    "counter.confirm.yes": ("はい、この内容で申請します", "Yes, file it like this"),
    "counter.confirm.correct": ("直すところがあれば、窓口の職員にお伝えください。",
                                "If something needs correcting, tell the staff member."),
    "counter.form.hint": ("聞き取った内容を入力します。Enter で確認画面へ進みます（写真の添付は"
                          "窓口ではできません）。",
                          "Type what the resident tells you. Enter goes to the confirmation "
                          "page (photos cannot be attached at the counter)."),
    "counter.form.submit": ("ご本人の確認へ進む", "Show it to the resident"),
    # ---- end #19 h-counter-pages ----
    # ---- #19 h-counter-le: a life event at the counter ----
    "counter.session.life_events": ("ライフイベントでまとめて申請", "File a whole life event"),
    "counter.session.life_events.hint": (
        "おくやみなど、いくつもの手続きを一度の入力で申請します。",
        "One questionnaire files every procedure it needs (for example after a death)."),
    "counter.life_event": ("ライフイベント", "Life event"),
    "counter.le.offers.title": ("申請する手続きを選ぶ", "Choose the procedures to file"),
    "counter.le.offers.intro": ("ご本人と相談して、申請する手続きに印を付けてください。",
                                "Tick, with the resident, each procedure to file."),
    "counter.le.none": ("申請する手続きを一つ以上選んでください。",
                        "Choose at least one procedure to file."),
    "counter.le.submit": ("ご本人の確認へ進む", "Show it to the resident"),
    "counter.le.back": ("入力に戻る", "Back to the answers"),
    "counter.confirm.procedures": ("申請する手続き", "Procedures that will be filed"),
    "counter.bundle.title": ("申請した手続き", "Procedures filed"),
    "counter.bundle.filed": ("申請しました。それぞれの担当課が審査します。",
                             "Filed. Each department will now review its procedure."),
    "counter.bundle.receipt": ("申請控えを印刷", "Print the receipt"),
    "counter.bundle.notes": ("理由・待っていること", "Why, or what it waits for"),
    "counter.bundle.back": ("受付の画面に戻る", "Back to the session"),
    # ---- end #19 h-counter-le ----
}

STATUS: dict[str, tuple[str, str]] = {
    "in_progress": ("審査中", "In progress"),
    "awaiting_applicant": ("申請者の手続き待ち", "Waiting for you"),
    "awaiting_correction": ("補正待ち", "Correction requested"),
    "issuing": ("書類を発行中", "Issuing documents"),
    "completed": ("完了", "Completed"),
    "rejected": ("却下", "Rejected"),
    "withdrawn": ("取下げ", "Withdrawn"),
    "closed": ("終了（期限切れ）", "Closed (deadline passed)"),
}

EVENTS: dict[str, tuple[str, str]] = {
    "submitted": ("申請しました", "Application sent"),
    "claimed": ("担当者が決まりました", "A caseworker took the case"),
    "correction_requested": ("補正を求められました", "A correction was requested"),
    "correction_submitted": ("補正を送りました", "Correction sent"),
    "correction_expired": ("補正の期限が過ぎました", "The correction deadline passed"),
    "withdrawn": ("取り下げました", "Withdrawn"),
    "issued": ("書類を発行しました", "Document issued"),
    "document_failed": (
        "書類を作れませんでした（市区町村の担当者が対応します）",
        "A document could not be made (the municipality's staff will see to it)",
    ),
    "revocation_requested": (
        "書類の取消しが求められました（二者確認待ち）",
        "Revocation of a document asked for (waiting for a second caseworker)",
    ),
    "revoked": ("書類が取り消されました", "A document was revoked"),
    "deadline_reminder": ("処理期限が近づいています", "Deadline approaching"),
    "deadline_escalation": ("処理期限を過ぎました", "Deadline passed"),
}

ACTORS: dict[str, tuple[str, str]] = {
    "applicant": ("申請者", "Applicant"),
    "system": ("システム", "System"),
    "municipality": ("市区町村", "Municipality"),
}


def text(key: str, lang: str, **values: object) -> str:
    """The page text ``key`` in ``lang`` (the key itself if missing, never an error)."""
    pair = STRINGS.get(key)
    if pair is None:
        return key
    result = pair[1] if lang == "en" else pair[0]
    return result.format(**values) if values else result


def pick(pair_or_dict: tuple[str, str] | dict[str, str] | None, lang: str) -> str:
    if pair_or_dict is None:
        return ""
    if isinstance(pair_or_dict, tuple):
        return pair_or_dict[1] if lang == "en" else pair_or_dict[0]
    return pair_or_dict.get(lang) or pair_or_dict.get("ja") or ""


def request_lang(request: Request) -> Lang:
    """``?lang=`` first, then the cookie, then Japanese."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked  # type: ignore[return-value]
    remembered = request.cookies.get(LANG_COOKIE)
    return remembered if remembered in LANGS else "ja"  # type: ignore[return-value]


def when(moment: datetime | date | None, lang: str, *, date_only: bool = False) -> str:
    """A moment as people in Japan read it, in Japan time: 令和8年9月10日 14:05 in Japanese
    (the 和暦 of the municipality's documents), 10 Sep 2026, 14:05 in English. One format on
    every page; a plain date (a field's answer, a birthdate) is taken as it is."""
    if moment is None:
        return ""
    if not isinstance(moment, datetime):
        return _day(moment, lang)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(JST)
    day = _day(local.date(), lang)
    if date_only:
        return day
    return f"{day}, {local:%H:%M}" if lang == "en" else f"{day} {local:%H:%M}"


def _day(day: date, lang: str) -> str:
    if lang == "en":
        return f"{day.day} {day:%b %Y}"
    try:
        return format_wareki(day)
    except ValueError:  # before 明治: no era to name
        return f"{day.year}年{day.month}月{day.day}日"
