"""The staff API (/api/*): every operation, and who may do it.

BOT_API_TOKEN acts with every right (actor "api"); a personal token ("kx_...", made on
the console's account page) acts with its account's role and name. No token or a
wrong token is 401 on every route; a viewer's token is 403 on every write.
"""
from __future__ import annotations

import re
from typing import Any, Iterator

import pytest
from sqlalchemy import select
from starlette.routing import Route
from starlette.testclient import TestClient

from bot import api
from kb import accounts
from kb.db import session_scope
from kb.models import Edit, Event, Faq, Passage, PushLog, Subscriber, Unanswered
from tests.admin_support import SECRET, app_for, make_users, sqlite_kb  # noqa: F401  (fixtures)
from tests.conftest import TEST_API_TOKEN
from tests.fake_wechat_api import FakeWeChatAPI

MASTER = {"Authorization": f"Bearer {TEST_API_TOKEN}"}


def _token(url: str, username: str) -> dict[str, str]:
    with session_scope(url) as session:
        return {"Authorization": f"Bearer {accounts.issue_api_token(session, accounts.by_name(session, username).id)}"}


class Api:
    def __init__(self, client: TestClient, url: str) -> None:
        self.client, self.url = client, url
        self.viewer, self.editor, self.admin = (_token(url, n) for n in ("vic", "ed", "boss"))

    def __call__(self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any):  # noqa: ANN204
        return self.client.request(method, path, headers=MASTER if headers is None else headers, **kwargs)


@pytest.fixture
def client(sqlite_kb: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    monkeypatch.setenv("BOT_SECRET_KEY", SECRET)
    make_users(sqlite_kb)
    with TestClient(app_for(sqlite_kb)) as c:
        yield Api(c, sqlite_kb)


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


API_ROUTES = [(r.path, m) for r in api.routes if isinstance(r, Route) for m in sorted(r.methods or ()) if m != "HEAD"]


def test_every_route_needs_a_valid_token(client: Api) -> None:
    assert len(API_ROUTES) >= 30
    before = _snapshot(client.url)
    for path, method in API_ROUTES:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TEST_API_TOKEN}"},
                        {"Authorization": "Bearer kx_1_forged"}, {"Authorization": "Bearer "}):
            resp = client(method, _concrete(path), headers=headers, json={})
            assert resp.status_code == 401, (method, path, headers)
            assert resp.json() == {"error": "missing or wrong bearer token"}
            assert resp.headers["www-authenticate"] == "Bearer"
    assert _snapshot(client.url) == before


WRITES = [  # (method, path, body) a viewer must not do
    ("POST", "/api/documents", {"title": "t", "text": "正文。"}),
    ("PATCH", "/api/documents/1", {"title": "改"}),
    ("DELETE", "/api/documents/1", None),
    ("PATCH", "/api/passages/1", {"text": "改。"}),
    ("DELETE", "/api/passages/1", None),
    ("PATCH", "/api/facts/1", {"value": "1"}),
    ("DELETE", "/api/facts/1", None),
    ("POST", "/api/faqs", {"question": "q", "answer": "a"}),
    ("PATCH", "/api/faqs/1", {"answer": "a"}),
    ("DELETE", "/api/faqs/1", None),
    ("POST", "/api/synonyms", {"word": "甲", "canonical": "乙"}),
    ("PATCH", "/api/synonyms/1", {"word": "甲"}),
    ("DELETE", "/api/synonyms/1", None),
    ("POST", "/api/events", {"title": "活动"}),
    ("PUT", "/api/events/1", {"title": "改"}),
    ("DELETE", "/api/events/1", None),
    ("POST", "/api/events/1/test", {"openid": "o1"}),
    ("POST", "/api/unanswered/handled", {"ids": [1]}),
    ("POST", "/api/unanswered/faq", {"ids": [1], "question": "q", "answer": "a"}),
    ("PUT", "/api/settings", {"handoff_text": "x"}),
    ("POST", "/api/users", {"username": "x1", "password": "12345678"}),
    ("PATCH", "/api/users/1", {"role": "viewer"}),
]
ADMIN_ONLY = [("PUT", "/api/settings", {"handoff_text": "x"}), ("GET", "/api/users", None),
              ("POST", "/api/users", {"username": "x1", "password": "12345678"}), ("PATCH", "/api/users/1", {"role": "viewer"})]


def _snapshot(url: str) -> tuple:
    with session_scope(url) as session:
        return (session.execute(select(Edit.id)).all(), session.get(Passage, 1).text,
                session.execute(select(Faq.id)).all(), session.execute(select(PushLog.id)).all())


def test_a_viewer_cannot_edit(client: Api) -> None:
    before = _snapshot(client.url)
    for method, path, body in WRITES:
        resp = client(method, path, headers=client.viewer, json=body)
        assert resp.status_code == 403, (method, path, resp.text)
        assert "viewer" in resp.json()["error"]
    assert _snapshot(client.url) == before


def test_an_editor_cannot_change_settings_or_accounts(client: Api) -> None:
    for method, path, body in ADMIN_ONLY:
        assert client(method, path, headers=client.editor, json=body).status_code == 403, (method, path)
    assert client("PUT", "/api/settings", headers=client.admin, json={"handoff_text": "x"}).status_code == 200


def test_a_viewer_reads(client: Api) -> None:
    for path in ("/api/documents", "/api/documents/1", "/api/passages", "/api/passages/1", "/api/facts",
                 "/api/facts/1", "/api/faqs", "/api/synonyms", "/api/edits", "/api/settings", "/api/unanswered",
                 "/api/unanswered/groups", "/api/stats", "/api/events", "/api/subscribers", "/api/pushes"):
        assert client("GET", path, headers=client.viewer).status_code == 200, path
    assert client("POST", "/api/hittest", headers=client.viewer, json={"text": "院士"}).status_code == 200
    assert client("POST", "/api/ask", headers=client.viewer, json={"text": "院士", "user": "u1"}).status_code == 200


def test_a_disabled_account_token_stops_working(client: Api) -> None:
    assert client("GET", "/api/documents", headers=client.editor).status_code == 200
    with session_scope(client.url) as session:
        accounts.update_user(session, accounts.by_name(session, "ed").id, active=False)
    assert client("GET", "/api/documents", headers=client.editor).status_code == 401


def test_lists(client: Api) -> None:
    docs = client("GET", "/api/documents", params={"sort": "title", "per_page": 2}).json()
    assert docs["total"] >= 5 and len(docs["items"]) == 2 and docs["pages"] >= 3
    assert [d["title"] for d in docs["items"]] == sorted(d["title"] for d in docs["items"])
    assert "text" not in docs["items"][0]
    passages = client("GET", "/api/passages", params={"q": "院士", "document_id": "1"}).json()
    assert passages["items"] and all("院士" in p["text"] and p["document_id"] == 1 for p in passages["items"])
    assert client("GET", "/api/facts", params={"enabled": "1", "per_page": 1}).json()["items"][0]["enabled"] is True
    assert client("GET", "/api/documents", params={"sort": "nonsense"}).status_code == 422
    assert client("GET", "/api/documents", params={"page": "x"}).status_code == 400
    detail = client("GET", "/api/documents/1").json()
    assert detail["passages"] and detail["facts"] and "text" in detail
    assert client("GET", "/api/documents/99999").status_code == 404
    assert client("GET", "/api/passages/abc").status_code == 404


def test_edit_disable_delete_with_history(client: Api) -> None:
    passage = client("GET", "/api/passages/2").json()
    changed = client("PATCH", "/api/passages/2", headers=client.editor, json={"text": passage["text"] + "补充一句。"})
    assert changed.status_code == 200 and changed.json()["text"].endswith("补充一句。")
    assert client("PATCH", "/api/passages/2", json={"text": ""}).status_code == 422
    assert client("PATCH", "/api/passages/2", json={"nonsense": 1}).status_code == 422
    assert client("PATCH", "/api/passages/2", json=["not", "an", "object"]).status_code == 400
    history = client("GET", "/api/edits", params={"table_name": "passages", "row_id": "2"}).json()["items"]
    assert history[0]["actor"] == "ed" and history[0]["after"]["text"].endswith("补充一句。")
    assert history[0]["before"]["text"] == passage["text"]
    assert client("PATCH", "/api/documents/1", json={"status": "disabled"}).json()["status"] == "disabled"
    assert client("PATCH", "/api/documents/1", json={"status": "gone"}).status_code == 422
    assert client("PATCH", "/api/facts/1", json={"enabled": False}).json()["enabled"] is False
    deleted = client("DELETE", "/api/documents/1", headers=client.editor)
    assert deleted.status_code == 200 and deleted.json()["deleted"]["id"] == 1
    assert client("GET", "/api/documents/1").status_code == 404
    assert client("DELETE", "/api/documents/1").status_code == 404


def test_faqs_and_synonyms(client: Api) -> None:
    made = client("POST", "/api/faqs", headers=client.editor, json={"question": "科协的办公地址在哪里",
                                                                     "answer": "测试回答。"})
    assert made.status_code == 201
    faq_id = made.json()["id"]
    assert client("POST", "/api/ask", json={"text": "科协的办公地址在哪里", "user": "u"}).json()["reply"].startswith("测试回答。")
    listed = client("GET", "/api/faqs", params={"q": "办公地址"}).json()
    assert [f["id"] for f in listed["items"]] == [faq_id] and listed["items"][0]["created_by"] == "ed"
    assert client("PATCH", f"/api/faqs/{faq_id}", json={"enabled": False}).json()["enabled"] is False
    assert client("POST", "/api/ask", json={"text": "科协的办公地址在哪里", "user": "u"}).json()["answered"] is False
    assert client("DELETE", f"/api/faqs/{faq_id}").status_code == 200
    syn = client("POST", "/api/synonyms", json={"word": "芙蓉花城", "canonical": "成都", "kind": "region"})
    assert syn.status_code == 201
    assert client("POST", "/api/synonyms", json={"word": "芙蓉花城", "canonical": "成都"}).status_code == 422
    assert client("GET", "/api/synonyms", params={"q": "芙蓉花城"}).json()["total"] == 1
    assert client("PATCH", f"/api/synonyms/{syn.json()['id']}", json={"canonical": "四川"}).json()["canonical"] == "四川"
    assert client("DELETE", f"/api/synonyms/{syn.json()['id']}").status_code == 200


def test_contract_endpoints_still_work(client: Api) -> None:
    doc = client("POST", "/api/documents", json={"title": "测试简报", "text": "测试区科协新建科普驿站8个。",
                                                 "published_at": "2031-01", "region": "成都"})
    assert doc.status_code == 201 and doc.json()["passages"] == 1
    with session_scope(client.url) as session:
        edit = session.execute(select(Edit).where(Edit.table_name == "documents", Edit.row_id == doc.json()["id"])
                               ).scalars().first()
        assert edit.actor == "api"
    assert client("POST", "/api/faqs", json={"question": "q1", "answer": "a1", "alt_questions": "x"}).status_code == 400
    with session_scope(client.url) as session:
        session.add(Unanswered(openid="o1", text="科协食堂几点开饭"))
    assert client("GET", "/api/unanswered").json()["questions"][0]["text"] == "科协食堂几点开饭"


def test_settings(client: Api) -> None:
    assert client("GET", "/api/settings").json()["handoff_text"] == ""
    saved = client("PUT", "/api/settings", headers=client.admin, json={"handoff_text": "测试联系方式",
                                                                       "reminder_days_before": "1,3"})
    assert saved.json()["handoff_text"] == "测试联系方式" and saved.json()["reminder_days_before"] == "3,1"
    assert client("PUT", "/api/settings", json={"menu": "[]"}).status_code == 422
    assert client("PUT", "/api/settings", json={"secret": "x"}).status_code == 422
    reply = client("POST", "/api/ask", json={"text": "科协食堂几点开饭", "user": "u"}).json()["reply"]
    assert "测试联系方式" in reply  # the no-answer reply carries the new contact text at once
    with session_scope(client.url) as session:
        edit = session.execute(select(Edit).where(Edit.table_name == "settings")).scalars().first()
        assert edit.actor == "boss" and edit.after == {"key": "handoff_text", "value": "测试联系方式"}


def test_hit_test_changes_nothing(client: Api) -> None:
    resp = client("POST", "/api/hittest", json={"text": "绵阳五年里请了多少位院士过去参加活动"})
    body = resp.json()
    assert body["rasa_up"] is False and body["rasa_error"]  # Rasa is not running in this test
    ask = client("POST", "/api/ask", json={"text": "绵阳五年里请了多少位院士过去参加活动", "user": "u"}).json()
    assert body["reply"] == ask["reply"]  # with Rasa down the bot answers from the knowledge base too
    assert body["candidates"] and body["candidates"][0]["matched"] and body["candidates"][0]["score"] > 0
    assert body["tokens"]
    client("POST", "/api/hittest", json={"text": "科协食堂几点开饭"})
    with session_scope(client.url) as session:
        assert session.execute(select(Unanswered).where(Unanswered.openid == "")).first() is None
    assert client("POST", "/api/hittest", json={}).status_code == 400


def test_batch_hit_test(client: Api) -> None:
    rows = [{"question": "绵阳五年里请了多少位院士过去参加活动", "expected": "20余名"},
            {"question": "科协食堂几点开饭", "expected": "无答案"},
            {"question": "科协食堂几点开饭", "expected": "8点"}]
    report = client("POST", "/api/hittest/batch", json={"rows": rows}).json()
    assert (report["total"], report["passed"]) == (3, 2) and report["accuracy"] == pytest.approx(0.6667, abs=1e-3)
    assert [r["passed"] for r in report["rows"]] == [True, True, False]
    from_csv = client("POST", "/api/hittest/batch", json={"csv": "question,expected\n科协食堂几点开饭,\n"}).json()
    assert from_csv["total"] == 1 and from_csv["passed"] == 1
    assert client("POST", "/api/hittest/batch", json={"rows": []}).status_code == 422
    assert client("POST", "/api/hittest/batch", json={"rows": [{"question": ""}]}).status_code == 422


def test_unanswered_groups_handled_and_faq(client: Api) -> None:
    with session_scope(client.url) as session:
        for text in ("科协食堂几点开饭", "科协食堂几点开饭啊", "天府科技云怎么改密码"):
            session.add(Unanswered(openid="o1", text=text))
    groups = client("GET", "/api/unanswered/groups", params={"order": "count"}).json()["groups"]
    assert [g["count"] for g in groups] == [2, 1]
    faq = client("POST", "/api/unanswered/faq", headers=client.editor, json={
        "ids": groups[0]["ids"], "question": "科协食堂几点开饭", "answer": "请咨询工作人员（测试）。"})
    assert faq.status_code == 201 and faq.json()["alt_questions"] == ["科协食堂几点开饭啊"]
    assert client("POST", "/api/unanswered/handled", json={"ids": groups[1]["ids"]}).json() == {"changed": 1}
    assert client("GET", "/api/unanswered/groups").json()["groups"] == []
    assert client("POST", "/api/unanswered/handled", json={"ids": "1"}).status_code == 422
    assert client("POST", "/api/unanswered/faq", json={"ids": [99999], "question": "q", "answer": "a"}).status_code == 404


def test_stats(client: Api) -> None:
    client("POST", "/api/ask", json={"text": "绵阳五年里请了多少位院士过去参加活动", "user": "u1"})
    client("POST", "/api/ask", json={"text": "科协食堂几点开饭", "user": "u2"})
    stats = client("GET", "/api/stats", params={"days": 3}).json()
    assert len(stats["per_day"]) == 3 and stats["messages"] == 2 and stats["users"] == 2
    assert stats["answered_rate"] == 0.5
    assert stats["top_unanswered"][0]["text"] == "科协食堂几点开饭"


def test_users(client: Api) -> None:
    made = client("POST", "/api/users", json={"username": "newbie", "password": "newbie-pass", "role": "editor"})
    assert made.status_code == 201 and "password_hash" not in made.json()
    assert client("POST", "/api/users", json={"username": "newbie", "password": "newbie-pass"}).status_code == 422
    uid = made.json()["id"]
    changed = client("PATCH", f"/api/users/{uid}", json={"role": "viewer", "password": "another-pass"})
    assert changed.json()["role"] == "viewer"
    with session_scope(client.url) as session:
        assert accounts.authenticate(session, "newbie", "another-pass") is not None
    assert client("PATCH", f"/api/users/{uid}", json={"is_admin": True}).status_code == 422
    names = [u["username"] for u in client("GET", "/api/users").json()["users"]]
    assert names == ["boss", "ed", "vic", "newbie"]


def test_subscribers_pushes_and_test_reminder(sqlite_kb: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_SECRET_KEY", SECRET)
    make_users(sqlite_kb)
    with session_scope(sqlite_kb) as session:
        session.add(Subscriber(openid="oSTAFF_openid_1234", topics=["科普活动"], active=True))
        session.add(Event(title="测试科普讲座", kind="科普活动", location="成都科技馆"))
    with FakeWeChatAPI() as wx, TestClient(app_for(sqlite_kb, WECHAT_APPID=wx.appid, WECHAT_SECRET=wx.secret,
                                                   WECHAT_API_BASE_URL=wx.base_url,
                                                   BOT_PUSH_TEMPLATE_ID="tmpl-1")) as c:
        event_id = c.get("/api/events", headers=MASTER).json()["events"][0]["id"]
        subs = c.get("/api/subscribers", headers=MASTER).json()
        assert subs["summary"]["active"] == 1 and subs["subscribers"][0]["openid"] == "oSTA…1234"
        sent = c.post(f"/api/events/{event_id}/test", headers=MASTER, json={"openid": "oSTAFF_openid_1234"})
        assert sent.json()["status"] == "sent" and sent.json()["channel"] == "template"
        call = wx.calls_to("/cgi-bin/message/template/send")[0]
        assert call.body["touser"] == "oSTAFF_openid_1234" and call.body["template_id"] == "tmpl-1"
        wx.fail_next("/cgi-bin/message/template/send", 43004)
        failed = c.post(f"/api/events/{event_id}/test", headers=MASTER, json={"openid": "oOTHER_openid_9999"})
        assert failed.json()["status"] == "failed" and failed.json()["errcode"] == 43004
        pushes = c.get("/api/pushes", headers=MASTER).json()
        assert [p["status"] for p in pushes["pushes"]] == ["failed", "sent"]
        assert {p["openid"] for p in pushes["pushes"]} == {"oSTA…1234", "oOTH…9999"}
        assert pushes["counts"]["sent"] == 1 and pushes["counts"]["failed"] == 1
        assert c.post("/api/events/99999/test", headers=MASTER, json={"openid": "o"}).status_code == 404
