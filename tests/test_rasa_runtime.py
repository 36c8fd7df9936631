"""What runs inside the Rasa server besides Rasa: bot/rasa_server.py's two fixes and the
tracker store of bot/tracker_store.py. Each must do exactly what Rasa does, only faster."""
from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

jsonschema = pytest.importorskip("jsonschema")

from rasa.core.actions.action import RemoteAction  # noqa: E402
from rasa.core.tracker_store import SQLTrackerStore  # noqa: E402
from rasa.shared.core.domain import Domain  # noqa: E402
from rasa.shared.core.events import (  # noqa: E402
    ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered)
from rasa.shared.utils.common import all_subclasses  # noqa: E402

from bot import rasa_server  # noqa: E402
from bot.tracker_store import LoadCountingSQLTrackerStore  # noqa: E402

ORIGINAL_VALIDATE = RemoteAction._validate_action_result
ORIGINAL_RESOLVE = Event.resolve_by_type

VALID = {"events": [{"event": "slot", "name": "last_question", "value": "成都有多少家高校科协"}],
         "responses": [{"text": "成都有高校科协30家。", "custom": {"answered": True, "sources": []}}]}
INVALID = [
    {"events": [{"event": 3}]},
    {"events": "not a list"},
    {"responses": [{"text": 5}], "events": [{"event": "slot", "name": 1}]},
]


@pytest.fixture
def patched() -> None:
    rasa_server.patch()
    yield
    RemoteAction._validate_action_result = ORIGINAL_VALIDATE
    Event.resolve_by_type = staticmethod(ORIGINAL_RESOLVE)


def _error(validate, result) -> str | None:  # noqa: ANN001
    try:
        validate(RemoteAction("action_answer", None), result)
        return None
    except jsonschema.ValidationError as exc:
        return exc.message


def test_action_reply_validation_is_rasas(patched: None) -> None:
    assert RemoteAction._validate_action_result is not ORIGINAL_VALIDATE
    assert _error(RemoteAction._validate_action_result, VALID) is None
    for bad in INVALID:
        mine = _error(RemoteAction._validate_action_result, bad)
        assert mine is not None and mine == _error(ORIGINAL_VALIDATE, bad)
        assert "Failed to validate Action server response" in mine


def test_event_types_resolve_as_in_rasa(patched: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Event.resolve_by_type is rasa_server._resolve_by_type
    names = {cls.type_name for cls in all_subclasses(Event)}
    assert {"user", "bot", "action", "slot", "session_started"} <= names
    for name in names:
        assert Event.resolve_by_type(name) is ORIGINAL_RESOLVE(name)
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no such event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError):
        Event.resolve_by_type("no such event")
    # a known name does not walk the class tree again; a class defined later is still found
    import rasa.shared.utils.common as common

    walks: list[int] = []
    real = common.all_subclasses
    monkeypatch.setattr(common, "all_subclasses", lambda cls: walks.append(1) or real(cls))
    user = ORIGINAL_RESOLVE("user")
    walks.clear()
    assert [Event.resolve_by_type("user") for _ in range(3)] == [user] * 3
    assert walks == []

    class LateEvent(SlotSet):
        type_name = "kexie_late_event"

    assert Event.resolve_by_type("kexie_late_event") is LateEvent and walks  # an unknown name: one more walk


def test_patch_refuses_another_rasa_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import rasa

    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(RuntimeError, match="3.6.21"):
        rasa_server.patch()
    assert RemoteAction._validate_action_result is ORIGINAL_VALIDATE


# --- the tracker store, on the real PostgreSQL -------------------------------------------

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [ask_statistics, follow_up]
slots:
  last_question:
    type: text
    mappings: [{type: custom}]
""")


def _store(cls: type, url: str) -> SQLTrackerStore:
    u = make_url(url)
    return cls(domain=DOMAIN, dialect="postgresql", host=u.host, port=u.port or 5432, db=u.database,
               username=u.username or "postgres")


def _turn(text: str, reply: str, ts: float) -> list[Event]:
    return [UserUttered(text, {"name": "ask_statistics", "confidence": 0.9}, timestamp=ts),
            ActionExecuted("action_answer", timestamp=ts + 0.001),
            BotUttered(reply, timestamp=ts + 0.002),
            SlotSet("last_question", text, timestamp=ts + 0.003),
            ActionExecuted("action_listen", timestamp=ts + 0.004)]


def _conversation(store: SQLTrackerStore, statements: list[str]) -> list[str]:
    """Three turns as Rasa runs them (load, add events, save), a new session in the third."""
    async def run() -> list[str]:
        t = time.time()
        tracker = await store.get_or_create_tracker("o_citizen")
        tracker.update_with_events(_turn("成都有多少家高校科协", "30家", t), DOMAIN)
        await store.save(tracker)
        statements.clear()
        tracker = await store.retrieve("o_citizen")
        tracker.update_with_events(_turn("那绵阳呢", "12家", t + 1), DOMAIN)
        await store.save(tracker)
        tracker.update_with_events(_turn("谢谢", "不客气", t + 1.5), DOMAIN)
        await store.save(tracker)  # the same object saved again: only its new events go in
        tracker = await store.retrieve("o_citizen")
        tracker.update_with_events([ActionExecuted("action_session_start", timestamp=t + 2),
                                    SessionStarted(timestamp=t + 2.001)] + _turn("你好", "您好", t + 2.01), DOMAIN)
        await store.save(tracker)
        with store.engine.connect() as conn:  # the table itself, not the store's reading of it
            return list(conn.execute(sa.text("SELECT type_name FROM events WHERE sender_id = 'o_citizen' "
                                             "ORDER BY id")).scalars())

    return asyncio.run(run())


def test_tracker_store_saves_each_event_once_without_counting(fresh_pg_url: str) -> None:
    statements: dict[str, list[str]] = {"rasa": [], "ours": []}
    events = {}
    for name, cls in (("rasa", SQLTrackerStore), ("ours", LoadCountingSQLTrackerStore)):
        store = _store(cls, fresh_pg_url)
        sa.event.listen(store.engine, "before_cursor_execute",
                        lambda conn, cur, stmt, *a, _n=name: statements[_n].append(stmt))
        events[name] = _conversation(store, statements[name])
        with store.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM events"))
    # the same events in the same order, each once, as Rasa's own SQLTrackerStore stores them
    assert events["ours"] == events["rasa"]
    assert events["ours"].count("user") == 4 and events["ours"].count("session_started") == 1
    assert events["ours"].count("bot") == 4
    counts = {n: sum("count(" in s.lower() for s in st) for n, st in statements.items()}
    assert counts["rasa"] == 3 and counts["ours"] == 1  # ours counts only on the second save of one object
