"""The console at /admin through HTTP, in-process: log-in, sessions, CSRF, roles, and each page's work.

Rasa is deliberately not running here (the hit test must say so and still show the
knowledge base); tests/browser/ drives the console against a real Rasa.
"""
from __future__ import annotations

import base64
import io
import json
import re
import time

import itsdangerous
from sqlalchemy import select

from bot.admin.auth import ABSOLUTE_SECONDS, SESSION_COOKIE
from kb import accounts, answer
from kb.db import session_scope
from kb.models import Document, Edit, Faq, Passage, StaffUser, Unanswered
from tests.admin_support import SECRET, Console, console, csrf_of, sqlite_kb  # noqa: F401  (fixtures)
from tests.fake_wechat_api import FakeWeChatAPI

QUESTION = "绵阳五年里请了多少位院士过去参加活动"


def _answer(url: str, question: str) -> answer.Answer:
    with session_scope(url) as session:
        return answer.answer(session, question, record_unanswered=False)


# -- log-in, sessions, CSRF ---------------------------------------------------------------------

def test_pages_need_a_login(console: Console) -> None:
    for path in ("/admin/", "/admin/documents", "/admin/hittest?q=x", "/admin/settings", "/admin/users"):
        resp = console.client.get(path, follow_redirects=False)
        assert resp.status_code == 303
        assert resp.headers["location"].startswith("/admin/login?next=")
    resp = console.client.post("/admin/passages/1", data={"text": "x"}, follow_redirects=False)
    assert resp.status_code == 401
    with session_scope(console.url) as session:
        assert session.get(Passage, 1).text != "x"


def test_login_and_logout(console: Console) -> None:
    wrong = console.login("boss", "not the password")
    assert wrong.status_code == 401 and "用户名或密码不正确" in wrong.text
    unknown = console.login("nobody", "whatever-password")
    assert unknown.status_code == 401 and "用户名或密码不正确" in unknown.text  # same message: names stay secret
    ok = console.login("boss")
    assert ok.status_code == 200 and str(ok.url).endswith("/admin/") and "概览" in ok.text
    cookie = next(h for h in ok.history[0].headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "httponly" in cookie.lower() and "path=/admin" in cookie.lower() and "samesite=lax" in cookie.lower()
    page = console.client.get("/admin/account")
    out = console.client.post("/admin/logout", data={"csrf": csrf_of(page.text)})
    assert str(out.url).endswith("/admin/login")
    assert console.client.get("/admin/", follow_redirects=False).status_code == 303


def test_login_returns_to_the_page_asked_for_but_never_off_site(console: Console) -> None:
    page = console.client.get("/admin/facts?q=院士")
    assert "/admin/login" in str(page.url)
    resp = console.client.post("/admin/login", data={"username": "vic", "password": "viewer-password-1",
                                                     "csrf": csrf_of(page.text), "next": "/admin/facts?q=院士"})
    assert str(resp.url).endswith("/admin/facts?q=%E9%99%A2%E5%A3%AB") or "院士" in str(resp.url)
    console.client.post("/admin/logout", data={"csrf": csrf_of(resp.text)})
    for evil in ("https://evil.example/", "//evil.example/admin", "/admin\\@evil"):
        page = console.client.get("/admin/login")
        resp = console.client.post("/admin/login", data={"username": "vic", "password": "viewer-password-1",
                                                         "csrf": csrf_of(page.text), "next": evil},
                                   follow_redirects=False)
        assert resp.status_code == 303 and resp.headers["location"] == "/admin/"
        console.client.post("/admin/logout", data={"csrf": csrf_of(console.client.get("/admin/").text)})


def test_login_attempts_are_rate_limited(console: Console) -> None:
    for _ in range(5):
        assert console.login("ed", "wrong-password").status_code == 401
    blocked = console.login("ed")  # even the right password, for now
    assert blocked.status_code == 429 and "次数过多" in blocked.text
    assert int(blocked.headers["retry-after"]) > 0
    assert console.login("vic").status_code == 200  # another account from the same address still may


def test_login_form_needs_its_csrf_token(console: Console) -> None:
    console.client.get("/admin/login")
    resp = console.client.post("/admin/login", data={"username": "boss", "password": "boss-password-1",
                                                     "csrf": "forged", "next": "/admin/"})
    assert resp.status_code == 403
    assert console.client.get("/admin/", follow_redirects=False).status_code == 303


def test_every_form_needs_the_csrf_token(console: Console) -> None:
    console.login("boss")
    for path, data in [("/admin/passages/1", {"text": "改掉"}), ("/admin/settings", {"handoff_text": "改掉"}),
                       ("/admin/faqs/new", {"question": "问", "answer": "答"}),
                       ("/admin/documents/1/delete", {"confirm": "yes"}),
                       ("/admin/users", {"action": "create", "username": "x1", "password": "12345678"})]:
        for token in (None, "forged"):
            resp = console.client.post(path, data={**data, **({"csrf": token} if token else {})})
            assert resp.status_code == 403, path
            assert "安全校验失败" in resp.text
    with session_scope(console.url) as session:
        assert session.get(Passage, 1).text != "改掉" and session.get(Document, 1) is not None
        assert session.execute(select(Faq)).first() is None
        assert accounts.by_name(session, "x1") is None


def _forge_session(data: dict) -> str:
    signer = itsdangerous.TimestampSigner(SECRET)
    return signer.sign(base64.b64encode(json.dumps(data).encode())).decode()


def _use_cookie(console: Console, value: str) -> None:
    console.client.cookies.clear()
    console.client.cookies.set(SESSION_COOKIE, value)


def test_sessions_expire(console: Console) -> None:
    console.login("ed")
    assert console.client.get("/admin/", follow_redirects=False).status_code == 200
    with session_scope(console.url) as session:
        user = accounts.by_name(session, "ed")
        uid, stamp = user.id, accounts.stamp(user)
    now = int(time.time())
    old = _forge_session({"uid": uid, "stamp": stamp, "login_at": now - ABSOLUTE_SECONDS - 5, "seen": now,
                          "csrf": "c"})
    _use_cookie(console, old)
    assert console.client.get("/admin/", follow_redirects=False).status_code == 303
    idle = _forge_session({"uid": uid, "stamp": stamp, "login_at": now, "seen": now - 3 * 3600, "csrf": "c"})
    _use_cookie(console, idle)
    assert console.client.get("/admin/", follow_redirects=False).status_code == 303
    fresh = _forge_session({"uid": uid, "stamp": stamp, "login_at": now, "seen": now, "csrf": "c"})
    _use_cookie(console, fresh)
    assert console.client.get("/admin/", follow_redirects=False).status_code == 200
    _use_cookie(console, fresh[:-2] + "xx")  # a bad signature
    assert console.client.get("/admin/", follow_redirects=False).status_code == 303


def test_a_new_password_or_a_disabled_account_ends_other_sessions(console: Console) -> None:
    console.login("ed")
    with session_scope(console.url) as session:
        accounts.set_password(session, accounts.by_name(session, "ed").id, "changed elsewhere")
    assert console.client.get("/admin/", follow_redirects=False).status_code == 303
    console.login("vic")
    with session_scope(console.url) as session:
        accounts.update_user(session, accounts.by_name(session, "vic").id, active=False)
    assert console.client.get("/admin/", follow_redirects=False).status_code == 303


def test_change_own_password(console: Console) -> None:
    console.login("ed")
    bad = console.post("/admin/account", {"action": "password", "current": "wrong", "new": "new password 1",
                                          "again": "new password 1"})
    assert bad.status_code == 422 and "当前密码不正确" in bad.text
    ok = console.post("/admin/account", {"action": "password", "current": "editor-password-1",
                                         "new": "new password 1", "again": "new password 1"})
    assert ok.status_code == 200 and "密码已修改" in ok.text
    assert console.client.get("/admin/", follow_redirects=False).status_code == 200  # this session stays
    with session_scope(console.url) as session:
        assert accounts.authenticate(session, "ed", "new password 1") is not None


def test_security_headers(console: Console) -> None:
    resp = console.client.get("/admin/login")
    assert "frame-ancestors 'none'" in resp.headers["content-security-policy"]
    assert resp.headers["x-frame-options"] == "DENY"
    assert resp.headers["cache-control"] == "no-store"


# -- roles ------------------------------------------------------------------------------------

def test_a_viewer_reads_but_cannot_change_anything(console: Console) -> None:
    console.login("vic")
    for path in ("/admin/", "/admin/documents", "/admin/documents/1", "/admin/passages/1", "/admin/facts",
                 "/admin/faqs", "/admin/synonyms", "/admin/history", "/admin/unanswered", "/admin/events",
                 "/admin/subscribers", "/admin/settings", "/admin/hittest?q=院士"):
        assert console.client.get(path).status_code == 200, path
    page = console.client.get("/admin/passages/1")
    assert "<fieldset disabled>" in page.text
    for path, data in [("/admin/passages/1", {"text": "viewer edit"}), ("/admin/passages/1/disable", {}),
                       ("/admin/documents/1/delete", {"confirm": "yes"}), ("/admin/settings", {"handoff_text": "v"}),
                       ("/admin/faqs/new", {"question": "q", "answer": "a"}),
                       ("/admin/unanswered/handled", {"ids": "1"}), ("/admin/events/new", {"title": "t"})]:
        resp = console.post(path, data)
        assert resp.status_code == 403, path
    for path in ("/admin/users", "/admin/documents/import", "/admin/faqs/new"):
        assert console.client.get(path).status_code == 403, path
    with session_scope(console.url) as session:
        assert session.get(Passage, 1).text != "viewer edit" and session.get(Passage, 1).enabled
        assert session.get(Document, 1) is not None


def test_an_editor_edits_knowledge_but_not_settings_or_accounts(console: Console) -> None:
    console.login("ed")
    assert console.post("/admin/settings", {"handoff_text": "editor"}).status_code == 403
    assert console.client.get("/admin/users").status_code == 403
    assert console.post("/admin/users", {"action": "create", "username": "sneaky", "password": "12345678",
                                         "role": "admin"}).status_code == 403
    assert "账号" not in re.findall(r'<nav>(.*?)</nav>', console.client.get("/admin/").text, re.S)[0]
    resp = console.post("/admin/passages/1/disable", {"next": "/admin/passages/1"})
    assert resp.status_code == 200 and "已停用" in resp.text
    with session_scope(console.url) as session:
        assert not session.get(Passage, 1).enabled
        assert accounts.by_name(session, "sneaky") is None


# -- knowledge ----------------------------------------------------------------------------------

def test_edit_a_passage_with_history(console: Console) -> None:
    console.login("ed")
    passage_id = _answer(console.url, QUESTION).sources[0]["passage_id"]
    page = console.client.get(f"/admin/passages/{passage_id}")
    old = re.search(r'name="text" rows="8">([^<]*)</textarea>', page.text).group(1)
    new = old.replace("20余名院士", "21名院士")
    resp = console.post(f"/admin/passages/{passage_id}", {"text": new, "heading": "", "enabled": "1"},
                        csrf_from=f"/admin/passages/{passage_id}")
    assert resp.status_code == 200 and "已保存" in resp.text
    assert "21名院士" in _answer(console.url, QUESTION).reply
    empty = console.post(f"/admin/passages/{passage_id}", {"text": " ", "enabled": "1"})
    assert empty.status_code == 422 and "段落内容不能为空" in empty.text  # next to the field, in Chinese
    with session_scope(console.url) as session:
        edit = session.execute(select(Edit).where(Edit.table_name == "passages", Edit.row_id == passage_id)
                               .order_by(Edit.id.desc())).scalars().first()
    assert edit.actor == "ed" and "21名院士" in edit.after["text"] and "20余名院士" in edit.before["text"]
    detail = console.client.get(f"/admin/history/{edit.id}")
    assert detail.status_code == 200 and "21名院士" in detail.text and "20余名院士" in detail.text
    listing = console.client.get("/admin/history?table_name=passages&actor=ed")
    assert f"/admin/history/{edit.id}" in listing.text


def test_lists_search_filter_sort_page(console: Console) -> None:
    console.login("vic")
    page = console.client.get("/admin/passages?q=院士&per_page=2")
    assert page.status_code == 200 and "共" in page.text and "下一页" in page.text
    rows = re.findall(r'<td class="num"><a href="/admin/passages/(\d+)">', page.text)
    assert len(rows) == 2
    second = console.client.get("/admin/passages?q=院士&per_page=2&page=2")
    assert set(re.findall(r'<td class="num"><a href="/admin/passages/(\d+)">', second.text)).isdisjoint(rows)
    docs = console.client.get("/admin/documents?sort=title")
    titles = re.findall(r'data-label="标题"><a href="/admin/documents/\d+">([^<]+)</a>', docs.text)
    assert titles and titles == sorted(titles)
    disabled = console.client.get("/admin/documents?status=disabled")
    assert "没有符合条件的记录" in disabled.text
    bad = console.client.get("/admin/documents?sort=text_hash")
    assert bad.status_code == 400


def test_delete_needs_a_confirmation_page(console: Console) -> None:
    console.login("ed")
    confirm = console.client.get("/admin/documents/1/delete")
    assert confirm.status_code == 200 and "确认删除" in confirm.text and "个段落" in confirm.text
    not_confirmed = console.post("/admin/documents/1/delete", {})
    assert str(not_confirmed.url).endswith("/admin/documents/1/delete")
    with session_scope(console.url) as session:
        assert session.get(Document, 1) is not None
    done = console.post("/admin/documents/1/delete", {"confirm": "yes"})
    assert done.status_code == 200 and "已删除" in done.text
    with session_scope(console.url) as session:
        assert session.get(Document, 1) is None
    assert console.client.get("/admin/documents/1").status_code == 404


REPORT = ("2031年锦江区科协工作简报\n\n"
          "2031年，锦江区科协举办青少年机器人科普节3场，参与学生达到1200人次。\n\n"
          "锦江区科协新建社区科普驿站8个，覆盖全区16个街道。\n")


def test_import_pasted_text_then_review_and_answer(console: Console) -> None:
    console.login("ed")
    resp = console.post("/admin/documents/import", {"title": "锦江区科协工作简报", "source": "测试来源",
                                                    "published_at": "2031-12", "region": "成都", "text": REPORT},
                        csrf_from="/admin/documents/import")
    assert resp.status_code == 200 and "已导入" in resp.text and "请核对" in resp.text
    doc_id = int(re.search(r"/admin/documents/(\d+)\?imported=1", str(resp.url)).group(1))
    assert "社区科普驿站" in resp.text  # the passages are shown for review
    assert re.search(r"<b>8个</b>|<b>8</b>|>8个<", resp.text)  # an extracted figure
    result = _answer(console.url, "锦江区新建了多少个社区科普驿站")
    assert result.answered and "8个" in result.reply and result.sources[0]["document_id"] == doc_id
    again = console.post("/admin/documents/import", {"title": "锦江区科协工作简报", "source": "测试来源",
                                                     "published_at": "2031-12", "region": "成都", "text": REPORT})
    assert "未重复导入" in again.text


def _docx(text: str) -> bytes:
    import docx

    document = docx.Document()
    for para in text.split("\n\n"):
        document.add_paragraph(para.strip())
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


def test_import_uploaded_files(console: Console) -> None:
    console.login("ed")
    for name, body in (("brief.txt", REPORT.encode("utf-8")), ("brief-gbk.md", REPORT.encode("gb18030")),
                       ("brief.docx", _docx(REPORT))):
        resp = console.post("/admin/documents/import", {"title": "", "source": "上传", "published_at": "2031-12",
                                                        "region": "成都", "text": ""},
                            files={"file": (name, body, "application/octet-stream")})
        assert resp.status_code == 200 and "已导入" in resp.text, name
        assert "社区科普驿站" in resp.text
    with session_scope(console.url) as session:
        titles = {d.title for d in session.execute(select(Document).where(Document.slug.like("upload-%"))).scalars()}
    assert titles == {"brief", "brief-gbk"}  # the .docx replaced "brief.txt"? no: slug is the file name
    bad = console.post("/admin/documents/import", {"title": "x", "text": ""},
                       files={"file": ("report.pdf", b"%PDF-1.4", "application/pdf")})
    assert bad.status_code == 422 and ".docx" in bad.text
    broken = console.post("/admin/documents/import", {"title": "x", "text": ""},
                          files={"file": ("broken.docx", b"not a zip", "application/octet-stream")})
    assert broken.status_code == 422 and "无法读取" in broken.text
    empty = console.post("/admin/documents/import", {"title": "x", "text": "  "})
    assert empty.status_code == 422 and "请上传文件或粘贴报告正文" in empty.text
    bad_date = console.post("/admin/documents/import", {"title": "x", "text": REPORT, "published_at": "someday"})
    assert bad_date.status_code == 422 and "发布日期" in bad_date.text


def test_faq_new_edit_disable(console: Console) -> None:
    console.login("ed")
    missing = console.post("/admin/faqs/new", {"question": "科协的办公地址在哪里", "answer": "", "enabled": "1"})
    assert missing.status_code == 422 and "回答不能为空" in missing.text
    made = console.post("/admin/faqs/new", {"question": "科协的办公地址在哪里", "answer": "测试地址回答。",
                                            "alt_questions": "", "enabled": "1"})
    faq_id = int(re.search(r"/admin/faqs/(\d+)$", str(made.url)).group(1))
    assert _answer(console.url, "科协的办公地址在哪里").reply.startswith("测试地址回答。")
    console.post(f"/admin/faqs/{faq_id}", {"question": "科协的办公地址在哪里", "answer": "改过的回答。",
                                           "alt_questions": "到哪里找科协工作人员", "enabled": "1"})
    assert _answer(console.url, "到哪里找科协工作人员").reply.startswith("改过的回答。")
    console.post(f"/admin/faqs/{faq_id}", {"question": "科协的办公地址在哪里", "answer": "改过的回答。",
                                           "alt_questions": ""})  # the checkbox unticked
    assert not _answer(console.url, "科协的办公地址在哪里").answered


def test_synonym_new_and_duplicate(console: Console) -> None:
    console.login("ed")
    ok = console.post("/admin/synonyms/new", {"word": "芙蓉花城", "canonical": "成都", "kind": "region"})
    assert ok.status_code == 200 and "已新建" in ok.text
    dup = console.post("/admin/synonyms/new", {"word": "芙蓉花城", "canonical": "成都", "kind": "region"})
    assert dup.status_code == 422 and "已经存在" in dup.text


# -- hit test, unanswered queue, settings, dashboard ---------------------------------------------

def test_hit_test_without_rasa_still_shows_the_knowledge_base(console: Console) -> None:
    console.login("vic")
    page = console.client.get("/admin/hittest", params={"q": QUESTION})
    assert page.status_code == 200
    assert "Rasa 未运行" in page.text
    reply = _answer(console.url, QUESTION).reply
    assert reply.replace("“", "&#8220;")[:20] in page.text or reply[:20] in page.text
    assert "<mark>院士</mark>" in page.text and "修改这个段落" not in page.text  # a viewer may only look
    with session_scope(console.url) as session:
        assert session.execute(select(Unanswered)).first() is None  # testing records nothing


def test_batch_hit_test_reports_accuracy(console: Console) -> None:
    console.login("vic")
    csv_text = "问题,期望\n绵阳五年里请了多少位院士过去参加活动,20余名\n科协食堂几点开饭,无答案\n绵阳五年里请了多少位院士过去参加活动,999名\n"
    resp = console.post("/admin/hittest/batch", files={"file": ("t.csv", csv_text.encode("utf-8-sig"), "text/csv")},
                        csrf_from="/admin/hittest")
    assert resp.status_code == 200
    assert "67%" in resp.text and "2/3" in resp.text
    assert "回复中没有：999名" in resp.text
    pasted = console.post("/admin/hittest/batch", {"csv": "科协食堂几点开饭,无答案"})
    assert "100%" in pasted.text and "1/1" in pasted.text
    empty = console.post("/admin/hittest/batch", {"csv": ""})
    assert empty.status_code == 422


def test_unanswered_to_qa_pair_in_two_clicks(console: Console) -> None:
    with session_scope(console.url) as session:
        for text in ("科协食堂几点开饭", "请问科协食堂几点开饭？", "天府科技云怎么改密码"):
            session.add(Unanswered(openid="o1", text=text, intent="nlu_fallback"))
    console.login("ed")
    page = console.client.get("/admin/unanswered")
    assert "2 组" in page.text
    article = next(a for a in re.findall(r'<article.*?</article>', page.text, re.S) if "食堂" in a)
    assert "×2" in article
    form = re.search(r'<form method="post" action="/admin/unanswered/faq".*?</form>', article, re.S).group(0)
    ids = re.findall(r'name="ids" value="(\d+)"', form)
    question = re.search(r'name="question" value="([^"]+)"', form).group(1)
    resp = console.client.post("/admin/unanswered/faq", data={"csrf": csrf_of(page.text), "ids": ids,
                                                              "question": question, "answer": "食堂问题请咨询工作人员。"})
    assert "已新建问答" in resp.text and "1 组" in resp.text
    for wording in ("科协食堂几点开饭", "请问科协食堂几点开饭？"):
        assert _answer(console.url, wording).reply.startswith("食堂问题请咨询工作人员。")
    other = re.findall(r'action="/admin/unanswered/handled".*?name="ids" value="(\d+)"', resp.text, re.S)
    done = console.client.post("/admin/unanswered/handled", data={"csrf": csrf_of(resp.text), "ids": other})
    assert "没有待处理的未答问题" in done.text
    assert "天府科技云怎么改密码" in console.client.get("/admin/unanswered?handled=1").text


def test_settings_by_admin_only_and_live(console: Console) -> None:
    console.login("boss")
    page = console.client.get("/admin/settings")
    ok = console.client.post("/admin/settings", data={
        "csrf": csrf_of(page.text), "welcome_text": "欢迎（测试）", "handoff_text": "测试联系方式",
        "menu": "", "reminder_days_before": "2", "reminder_time": "10:00"})
    assert ok.status_code == 200 and "设置已保存" in ok.text
    with session_scope(console.url) as session:
        assert answer.handoff_text(session) == "测试联系方式"
    bad = console.client.post("/admin/settings", data={
        "csrf": csrf_of(ok.text), "welcome_text": "不应保存", "handoff_text": "测试联系方式",
        "menu": '{"button": []}', "reminder_days_before": "2", "reminder_time": "10:00"})
    assert bad.status_code == 422 and 'class="error"' in bad.text
    with session_scope(console.url) as session:
        from kb.db import get_setting
        assert get_setting(session, "welcome_text") == "欢迎（测试）"  # all or nothing


def test_publish_menu_to_wechat(sqlite_kb: str, monkeypatch) -> None:  # noqa: ANN001
    from starlette.testclient import TestClient

    from tests.admin_support import app_for, make_users

    monkeypatch.setenv("BOT_SECRET_KEY", SECRET)
    make_users(sqlite_kb)
    menu = {"button": [{"name": "活动", "sub_button": [{"type": "click", "name": "近期活动", "key": "UPCOMING_EVENTS"}]}]}
    with FakeWeChatAPI() as api, TestClient(app_for(sqlite_kb, WECHAT_APPID=api.appid, WECHAT_SECRET=api.secret,
                                                    WECHAT_API_BASE_URL=api.base_url)) as client:
        c = Console(client, sqlite_kb)
        c.login("boss")
        c.post("/admin/settings", {"welcome_text": "", "handoff_text": "", "menu": json.dumps(menu, ensure_ascii=False),
                                   "reminder_days_before": "", "reminder_time": ""})
        resp = c.post("/admin/settings/menu/publish", {})
        assert "菜单已发布" in resp.text
        calls = api.calls_to("/cgi-bin/menu/create")
        assert len(calls) == 1 and calls[0].body == menu


def test_dashboard_draws_charts(console: Console) -> None:
    with session_scope(console.url) as session:
        from kb.models import Message
        session.add(Message(openid="o1", direction="in", text="q", intent="ask_statistics", answered=True))
        session.add(Message(openid="o2", direction="in", text="q", intent="ask_event", answered=False))
        session.add(Unanswered(openid="o2", text="科协食堂几点开饭", intent="ask_event"))
    console.login("vic")
    page = console.client.get("/admin/?days=7")
    assert page.text.count("<svg") == 4
    assert "问数据" in page.text and "科协食堂几点开饭" in page.text and "50%" in page.text


# -- accounts -----------------------------------------------------------------------------------

def test_admin_manages_accounts(console: Console) -> None:
    console.login("boss")
    made = console.post("/admin/users", {"action": "create", "username": "newbie", "password": "newbie-pass",
                                         "role": "viewer"})
    assert "已创建账号 newbie" in made.text
    with session_scope(console.url) as session:
        uid = accounts.by_name(session, "newbie").id
        boss = accounts.by_name(session, "boss").id
    console.post("/admin/users", {"action": "update", "user_id": str(uid), "role": "editor", "active": "1"})
    console.post("/admin/users", {"action": "password", "user_id": str(uid), "password": "reset-pass-1"})
    with session_scope(console.url) as session:
        assert session.get(StaffUser, uid).role == "editor"
        assert accounts.authenticate(session, "newbie", "reset-pass-1") is not None
    console.post("/admin/users", {"action": "update", "user_id": str(uid), "role": "admin", "active": "1"})
    console.post("/admin/users", {"action": "update", "user_id": str(uid), "role": "admin", "active": "0"})
    last = console.post("/admin/users", {"action": "update", "user_id": str(boss), "role": "viewer", "active": "1"})
    assert last.status_code == 422 and "最后一个管理员" in last.text


def test_personal_api_token_from_the_account_page(console: Console) -> None:
    console.login("vic")
    page = console.post("/admin/account", {"action": "token"})
    token = re.search(r'<code class="token">([^<]+)</code>', page.text).group(1)
    ok = console.client.get("/api/documents", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and ok.json()["total"] >= 1
    denied = console.client.post("/api/faqs", json={"question": "q", "answer": "a"},
                                 headers={"Authorization": f"Bearer {token}"})
    assert denied.status_code == 403
    console.post("/admin/account", {"action": "revoke"})
    assert console.client.get("/api/documents", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_every_edit_page_saves_the_same_way(console: Console) -> None:
    """bot/admin/edit.py: a row gone meanwhile is a 404, a read-only account gets a 403, a saved form
    redirects back with its message, on the passage, report and event pages alike."""
    console.login("boss")
    gone = {"/admin/passages/999999": ({"text": "改掉"}, "这一条已不存在（可能刚被删除）"),
            "/admin/documents/999999": ({"title": "改掉"}, "这份报告已不存在。"),
            "/admin/events/999999": ({"title": "改掉", "kind": "科普活动", "starts_at": "2027-01-01 09:00"},
                                     "这个活动不存在。")}
    for path, (data, message) in gone.items():  # the save's own 404 (the page's GET says it otherwise)
        resp = console.post(path, data)
        assert resp.status_code == 404 and message in resp.text and not resp.history, path
    empty = console.post("/admin/passages/1", {"text": "   "})
    assert empty.status_code == 422 and "段落内容不能为空" in empty.text  # next to its field
    saved = console.post("/admin/documents/1", {"title": "新标题", "source": "", "region": "四川省绵阳市",
                                                "published_at": "2021-06-01", "status": "active"})
    assert saved.status_code == 200 and str(saved.url).endswith("/admin/documents/1")  # after the redirect
    assert "已保存报告信息，机器人立即使用。" in console.flashes(saved.text)
    console.login("vic")  # read-only
    for path in ("/admin/passages/1", "/admin/documents/1", "/admin/events/1"):
        assert console.post(path, {"text": "改掉"}).status_code == 403, path
