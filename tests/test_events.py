"""Events: validation, time zones, history, the API routes and `bot events` — on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.app import create_app
from bot.cli import main as cli_main
from bot.config import load_settings
from kb import events
from kb.db import kb_version, migrate, session_scope
from kb.knowledge import Invalid
from kb.models import Edit

API_TOKEN = "events-test-token"


def test_create_reads_times_in_bot_tz_and_stores_utc(db_url):
    with session_scope(db_url) as s:
        ev = events.create_event(s, {"title": "青少年科技创新大赛", "kind": "竞赛",
                                     "starts_at": "2031-05-01T14:00", "ends_at": "2031-05-01T17:30+08:00",
                                     "remind_at": ["2031-04-30T20:00"], "location": "成都市科技馆"}, actor="t")
    with session_scope(db_url) as s:
        again = events.get_event(s, ev["id"])
    assert again["starts_at"] == "2031-05-01T06:00:00+00:00"
    assert again["ends_at"] == "2031-05-01T09:30:00+00:00"
    assert again["remind_at"] == ["2031-04-30T12:00:00+00:00"]
    assert again["location"] == "成都市科技馆" and again["cancelled"] is False


@pytest.mark.parametrize("data, message", [
    ({"title": " "}, "title is required"),
    ({"title": "x", "kind": "展览"}, "kind must be one of"),
    ({"title": "x", "starts_at": "明天"}, "not an ISO 8601"),
    ({"title": "x", "starts_at": "2031-05-02T10:00", "ends_at": "2031-05-01T10:00"}, "ends_at is before"),
    ({"title": "x", "starts_at": "2031-05-02T10:00", "remind_at": "2031-05-01T10:00"}, "must be a list"),
    ({"title": "x", "starts_at": "2031-05-02T10:00", "remind_at": ["2031-05-03T10:00"]}, "before starts_at"),
    ({"title": "x", "remind_at": ["2031-05-01T10:00"]}, "needs starts_at"),
    ({"title": "x" * 501}, "longer than 500"),
])
def test_invalid_input_is_refused_and_nothing_is_written(sqlite_free_db, data, message):
    with session_scope(sqlite_free_db) as s:
        with pytest.raises(Invalid, match=message):
            events.create_event(s, data)
    with session_scope(sqlite_free_db) as s:
        assert events.list_events(s, include_cancelled=True) == []


@pytest.fixture
def sqlite_free_db(tmp_path) -> str:  # noqa: ANN001
    url = f"sqlite:///{tmp_path / 'v.sqlite3'}"
    migrate(url)
    return url


def test_update_and_cancel_are_recorded_and_bump_the_knowledge_version(db_url):
    with session_scope(db_url) as s:
        ev = events.create_event(s, {"title": "科普讲座", "starts_at": "2031-06-01T10:00",
                                     "remind_at": ["2031-05-31T09:00", "2031-05-20T09:00"]}, actor="alice")
        v0 = kb_version(s)
    with session_scope(db_url) as s:
        moved = events.update_event(s, ev["id"], {"starts_at": "2031-05-25T10:00"}, actor="bob")
        v1 = kb_version(s)
    # the reminder that would now come after the start is dropped; the other stays
    assert moved["remind_at"] == ["2031-05-20T01:00:00+00:00"]
    assert moved["title"] == "科普讲座" and v1 == v0 + 1
    with session_scope(db_url) as s:
        cancelled = events.cancel_event(s, ev["id"], actor="carol")
        assert kb_version(s) == v1 + 1
        assert events.cancel_event(s, ev["id"]) == cancelled  # twice: harmless, no new history
        assert events.list_events(s) == []
        assert [e["id"] for e in events.list_events(s, include_cancelled=True)] == [ev["id"]]
        history = s.execute(select(Edit.action, Edit.actor, Edit.before, Edit.after)
                            .where(Edit.table_name == "events", Edit.row_id == ev["id"]).order_by(Edit.id)).all()
    assert [(a, who) for a, who, _, _ in history] == [("create", "alice"), ("update", "bob"), ("cancel", "carol")]
    assert history[1].before["starts_at"] == "2031-06-01T02:00:00+00:00"
    assert history[1].after["starts_at"] == "2031-05-25T02:00:00+00:00"
    assert history[2].after["cancelled"] is True


def test_update_refuses_unknown_fields_and_missing_events(sqlite_free_db):
    with session_scope(sqlite_free_db) as s:
        ev = events.create_event(s, {"title": "会", "kind": "会议", "starts_at": "2031-06-01T10:00"})
    with session_scope(sqlite_free_db) as s:
        with pytest.raises(Invalid, match="read-only"):
            events.update_event(s, ev["id"], {"id": 99})
        with pytest.raises(LookupError):
            events.update_event(s, 12345, {"title": "x"})
        with pytest.raises(LookupError):
            events.cancel_event(s, 12345)
        assert events.get_event(s, 12345) is None


def test_upcoming_only(sqlite_free_db):
    now = datetime(2031, 1, 1, tzinfo=timezone.utc)
    with session_scope(sqlite_free_db) as s:
        events.create_event(s, {"title": "past", "starts_at": "2030-12-31T10:00"})
        events.create_event(s, {"title": "future", "starts_at": "2031-01-02T10:00"})
        assert [e["title"] for e in events.list_events(s, upcoming_only=True, now=now)] == ["future"]


def test_api_events_routes(db_url):
    settings = load_settings({"DATABASE_URL": db_url, "BOT_API_TOKEN": API_TOKEN}, generate_secrets=False)
    auth = {"Authorization": f"Bearer {API_TOKEN}"}
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/events").status_code == 401
        created = client.post("/api/events", headers=auth, json={
            "title": "科技活动周开幕式", "kind": "科普活动", "starts_at": "2031-05-20T09:30",
            "location": "绵阳", "remind_at": ["2031-05-19T18:00"]})
        assert created.status_code == 201, created.text
        event_id = created.json()["id"]
        assert client.post("/api/events", headers=auth, json={"title": "x", "kind": "展览"}).status_code == 422
        assert client.post("/api/events", headers=auth, content=b"[1]").status_code == 400

        moved = client.put(f"/api/events/{event_id}", headers=auth, json={"starts_at": "2031-05-21T09:30"})
        assert moved.status_code == 200 and moved.json()["starts_at"] == "2031-05-21T01:30:00+00:00"
        assert client.put(f"/api/events/{event_id}", headers=auth, json={"kind": "展览"}).status_code == 422
        assert client.get(f"/api/events/{event_id}", headers=auth).json()["title"] == "科技活动周开幕式"

        listed = client.get("/api/events", headers=auth).json()["events"]
        assert [e["id"] for e in listed] == [event_id]
        assert client.delete(f"/api/events/{event_id}", headers=auth).json()["cancelled"] is True
        assert client.get("/api/events", headers=auth).json()["events"] == []
        assert len(client.get("/api/events?cancelled=1", headers=auth).json()["events"]) == 1
        assert client.get("/api/events/999", headers=auth).status_code == 404
        assert client.delete("/api/events/999", headers=auth).status_code == 404
        assert client.get("/api/events/abc", headers=auth).status_code == 404


def test_cli_events_add_list_cancel(sqlite_free_db, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", sqlite_free_db)
    monkeypatch.setenv("BOT_TZ", "Asia/Shanghai")
    assert cli_main(["events", "add", "--title", "大禹杯竞赛", "--kind", "竞赛", "--starts-at", "2031-07-01T09:00",
                     "--location", "成都", "--remind-at", "2031-06-30T10:00"]) == 0
    out = capsys.readouterr().out
    assert "2031年7月1日 09:00" in out and "大禹杯竞赛" in out and "2031年6月30日 10:00" in out
    assert cli_main(["events", "add", "--title", "x", "--kind", "展览", "--starts-at", "2031-07-01T09:00"]) == 2
    assert "kind must be one of" in capsys.readouterr().err
    assert cli_main(["events", "list"]) == 0
    assert "1 event(s)" in capsys.readouterr().out
    with session_scope(sqlite_free_db) as s:
        event_id = events.list_events(s)[0]["id"]
    assert cli_main(["events", "cancel", str(event_id)]) == 0
    assert "[cancelled]" in capsys.readouterr().out
    assert cli_main(["events", "list"]) == 0
    assert "0 event(s)" in capsys.readouterr().out
    assert cli_main(["events", "cancel", "4242"]) == 2
