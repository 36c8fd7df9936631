"""The message log: what is kept, in which order, and for how long (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from kb.conversations import log_exchange, messages_of, purge_messages
from kb.db import migrate, session_scope
from kb.models import Message


@pytest.fixture(params=["sqlite", "postgresql"])
def log_db(request, tmp_path) -> str:
    url = (f"sqlite:///{tmp_path / 'log.sqlite3'}" if request.param == "sqlite"
           else request.getfixturevalue("fresh_pg_url"))
    migrate(url)
    return url


def test_exchange_is_logged_oldest_first(log_db):
    with session_scope(log_db) as session:
        log_exchange(session, openid="o_log", msg_type="text", text="问", reply="答", intent="ask_event",
                     answered=True, latency_ms=120, msg_id="42")
        log_exchange(session, openid="o_log", msg_type="event:unsubscribe", text="", reply=None, intent=None,
                     answered=None, latency_ms=0)
    with session_scope(log_db) as session:
        log = messages_of(session, "o_log")
    assert [(m["direction"], m["type"], m["text"], m["intent"], m["answered"], m["latency_ms"]) for m in log] == [
        ("in", "text", "问", "ask_event", True, 120), ("out", "text", "答", "ask_event", True, 120),
        ("in", "event:unsubscribe", "", None, None, 0)]


def test_retention_removes_only_old_entries(log_db):
    now = datetime.now(timezone.utc)
    with session_scope(log_db) as session:
        for days, text in ((200, "很久以前"), (181, "刚过期"), (179, "还没过期"), (0, "今天")):
            session.add(Message(openid="o_keep", direction="in", msg_type="text", text=text,
                                created_at=now - timedelta(days=days)))
    with session_scope(log_db) as session:
        assert purge_messages(session, 180) == 2
    with session_scope(log_db) as session:
        assert [m["text"] for m in messages_of(session, "o_keep")] == ["还没过期", "今天"]
