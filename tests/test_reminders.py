"""Who is owed which reminder when (kb.reminders, kb.subscriptions), with the clock passed in."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from kb import events, reminders, subscriptions
from kb.db import session_scope, set_setting
from kb.models import Edit, Event, PushLog

TZ = "Asia/Shanghai"
UTC = timezone.utc


def at(text: str) -> datetime:
    """A Beijing wall-clock time as aware UTC."""
    return events.parse_when(text, "t", TZ)


def add_event(url: str, **data) -> int:
    with session_scope(url) as s:
        return events.create_event(s, {"title": "科普讲座", **data}, tz=TZ)["id"]


def due(url: str, now: datetime, event_id: int | None = None) -> list[tuple[str, datetime]]:
    with session_scope(url) as s:
        return [(r.openid, r.remind_at) for r in reminders.due_reminders(s, now, TZ, event_id)]


def test_default_reminders_are_3_days_and_1_day_before_at_9_beijing_time(lite):
    event_id = add_event(lite, starts_at="2031-05-10T14:00")
    with session_scope(lite) as s:
        times = reminders.reminder_times(s.get(Event, event_id), TZ)
    assert times == [at("2031-05-07T09:00"), at("2031-05-09T09:00")]
    assert times[0] == datetime(2031, 5, 7, 1, 0, tzinfo=UTC)


def test_staff_settings_change_the_default_reminders(lite):
    event_id = add_event(lite, starts_at="2031-05-10T14:00")
    with session_scope(lite) as s:
        set_setting(s, "reminder_days_before", "2")
        set_setting(s, "reminder_time", "18:30")
    with session_scope(lite) as s:
        assert reminders.reminder_times(s.get(Event, event_id), TZ) == [at("2031-05-08T18:30")]


def test_remind_at_overrides_the_defaults(lite):
    event_id = add_event(lite, starts_at="2031-05-10T14:00", remind_at=["2031-05-10T12:00", "2031-05-01T08:30"])
    with session_scope(lite) as s:
        assert reminders.reminder_times(s.get(Event, event_id), TZ) == [at("2031-05-01T08:30"),
                                                                        at("2031-05-10T12:00")]


def test_an_early_morning_event_is_reminded_the_day_before(lite):
    event_id = add_event(lite, starts_at="2031-05-10T08:00")
    with session_scope(lite) as s:
        assert reminders.reminder_times(s.get(Event, event_id), TZ)[-1] == at("2031-05-09T09:00")


def test_events_from_reports_are_not_pushed_unless_staff_set_reminders(lite):
    with session_scope(lite) as s:
        s.add(Event(title="从报告里读出的活动", kind="科普活动", starts_at=at("2031-05-10T14:00")))
        s.flush()
        from kb.models import Document
        doc = Document(slug="r", title="r", text="t", text_hash="h")
        s.add(doc)
        s.flush()
        extracted = Event(title="报告活动", kind="科普活动", starts_at=at("2031-05-10T14:00"), document_id=doc.id)
        confirmed = Event(title="确认的报告活动", kind="科普活动", starts_at=at("2031-05-10T14:00"), document_id=doc.id,
                          remind_at=[at("2031-05-09T10:00").isoformat()])
        s.add_all([extracted, confirmed])
        s.flush()
        assert reminders.reminder_times(extracted, TZ) == []
        assert reminders.reminder_times(confirmed, TZ) == [at("2031-05-09T10:00")]


def test_due_follows_the_clock_and_topics(db_url):
    comp = add_event(db_url, title="青少年科技创新大赛", kind="竞赛", region="成都", starts_at="2031-05-10T14:00")
    talk = add_event(db_url, title="绵阳科普讲座", kind="科普活动", region="绵阳", starts_at="2031-05-10T14:00")
    with session_scope(db_url) as s:
        subscriptions.subscribe(s, "o_all")
        subscriptions.subscribe(s, "o_comp", ["竞赛"])
        subscriptions.subscribe(s, "o_chengdu", ["成都市"])
        subscriptions.subscribe(s, "o_mianyang_comp", ["竞赛", "绵阳"])
        subscriptions.subscribe(s, "o_paused")
        subscriptions.pause(s, "o_paused")
    assert due(db_url, at("2031-05-07T08:59")) == []
    owed = due(db_url, at("2031-05-07T09:00"))
    t = at("2031-05-07T09:00")
    assert sorted(owed) == sorted([("o_all", t), ("o_comp", t), ("o_chengdu", t), ("o_all", t)])
    assert sorted(o for o, _ in due(db_url, t, comp)) == ["o_all", "o_chengdu", "o_comp"]
    assert [o for o, _ in due(db_url, t, talk)] == ["o_all"]
    assert due(db_url, at("2031-05-10T14:00")) == []  # started: nothing is owed any more


def test_after_an_outage_only_the_latest_reminder_is_owed(lite):
    event_id = add_event(lite, starts_at="2031-05-10T14:00")
    with session_scope(lite) as s:
        subscriptions.subscribe(s, "o1")
    # the scheduler was down over both reminder times: one reminder, the 1-day one
    assert due(lite, at("2031-05-09T18:00")) == [("o1", at("2031-05-09T09:00"))]
    with session_scope(lite) as s:
        ev = s.get(Event, event_id)
        assert reminders.plan(s, event_id, at("2031-05-07T09:00"), at("2031-05-09T18:00"), TZ).action == "superseded"
        assert reminders.plan(s, event_id, at("2031-05-09T09:00"), at("2031-05-09T18:00"), TZ).action == "send"
        assert reminders.plan(s, event_id, at("2031-05-09T09:00"), at("2031-05-10T14:00"), TZ).action == "drop"
        assert reminders.plan(s, event_id, at("2031-05-08T09:00"), at("2031-05-09T18:00"), TZ).action == "stale"
        assert reminders.owed_time(ev, at("2031-05-06T00:00"), TZ) is None


def test_claimed_reminders_are_no_longer_owed_and_cannot_be_claimed_twice(db_url):
    add_event(db_url, starts_at="2031-05-10T14:00")
    with session_scope(db_url) as s:
        subscriptions.subscribe(s, "o1")
        subscriptions.subscribe(s, "o2")
    now = at("2031-05-07T09:00:30")
    with session_scope(db_url) as s:
        first = reminders.due_reminders(s, now, TZ)[0]
        assert reminders.claim(s, first) is not None
    with session_scope(db_url) as s:
        assert reminders.claim(s, first) is None  # the unique key: a second claim fails
    assert [o for o, _ in due(db_url, now)] == ["o2"]
    # the next reminder time is a new key: owed again to both
    assert sorted(o for o, _ in due(db_url, at("2031-05-09T09:00"))) == ["o1", "o2"]


def test_a_moved_event_owes_its_new_times_and_a_cancelled_one_nothing(lite):
    event_id = add_event(lite, starts_at="2031-05-10T14:00")
    with session_scope(lite) as s:
        subscriptions.subscribe(s, "o1")
        events.update_event(s, event_id, {"starts_at": "2031-06-10T14:00"}, tz=TZ)
    assert due(lite, at("2031-05-07T09:00")) == []
    assert due(lite, at("2031-06-07T09:00")) == [("o1", at("2031-06-07T09:00"))]
    with session_scope(lite) as s:
        events.cancel_event(s, event_id)
    assert due(lite, at("2031-06-07T09:00")) == []


def test_subscription_history_reasons_and_menu_keys(lite):
    with session_scope(lite) as s:
        assert subscriptions.apply_menu_key(s, "o1", "SUBSCRIBE_COMPETITIONS") == "subscribed"
        assert subscriptions.apply_menu_key(s, "o1", "SUBSCRIBE_EVENTS") == "subscribed"
        assert subscriptions.get(s, "o1").topics == ["科普活动", "竞赛"]
        assert subscriptions.apply_menu_key(s, "o1", "UNSUBSCRIBE") == "paused"
        assert subscriptions.apply_menu_key(s, "o1", "UNSUBSCRIBE") == "not_subscribed"
        assert subscriptions.apply_menu_key(s, "o1", "WHAT_TO_ASK") is None
        subscriptions.subscribe(s, "o1")
        subscriptions.pause(s, "o1", reason="wechat-43004")
        history = subscriptions.history(s, "o1")
        assert [h["action"] for h in history] == ["subscribe", "subscribe", "menu", "subscribe", "wechat-43004"]
        assert history[-1]["active"] is False
        assert s.execute(select(Edit).where(Edit.table_name == "subscribers")).scalars().first().actor == "o1"


def test_topic_matching():
    m = subscriptions.matches
    assert m([], "竞赛", "成都")
    assert m(["竞赛"], "竞赛", "") and not m(["竞赛"], "会议", "")
    assert m(["成都"], "会议", "成都市") and m(["成都市"], "会议", "成都")
    assert not m(["成都"], "会议", "绵阳")
    assert m(["成都"], "会议", "四川", "成都市科技馆")
    assert m(["成都"], "会议", "")  # no region: not somewhere else
    assert m(["竞赛", "绵阳"], "竞赛", "绵阳") and not m(["竞赛", "绵阳"], "竞赛", "成都")
    assert not m(["竞赛", "绵阳"], "科普活动", "绵阳")


def test_console_queries(lite):
    event_id = add_event(lite, title="科技馆开放日", starts_at="2031-05-10T14:00")
    with session_scope(lite) as s:
        subscriptions.subscribe(s, "o1", ["竞赛"])
        subscriptions.subscribe(s, "o2")
        subscriptions.subscribe(s, "o3")
        subscriptions.pause(s, "o3", reason="unfollowed")
    with session_scope(lite) as s:
        for r in reminders.due_reminders(s, at("2031-05-09T09:00"), TZ):
            log_id = reminders.claim(s, r)
            reminders.finish(s, log_id, status="sent", channel="template", attempts=1, sent_at=at("2031-05-09T09:00"))
    with session_scope(lite) as s:
        summary = reminders.subscribers_summary(s)
        rows = reminders.push_log(s, limit=10)
        counts = reminders.push_counts(s, event_id)
        subs = reminders.list_subscribers(s, active=False)
        assert reminders.push_log(s, status="failed") == []
    assert summary == {"total": 3, "active": 2, "paused": 1, "paused_by_reason": {"unfollowed": 1},
                       "active_by_topic": {"竞赛": 1, "全部": 1}}
    assert [(r["openid"], r["status"], r["event_title"]) for r in rows] == [("o2", "sent", "科技馆开放日")]
    assert rows[0]["remind_at"] == "2031-05-09T01:00:00+00:00"
    assert counts["sent"] == 1 and counts["dropped"] == 0
    assert [(x["openid"], x["reason"]) for x in subs] == [("o3", "unfollowed")]


def test_48_hour_window_counts_only_what_the_citizen_wrote(lite):
    from kb.models import Message

    now = datetime(2031, 5, 9, 1, tzinfo=UTC)
    with session_scope(lite) as s:
        s.add(Message(openid="o1", direction="in", msg_type="text", text="你好", created_at=now - timedelta(hours=47)))
        s.add(Message(openid="o2", direction="in", msg_type="text", text="你好", created_at=now - timedelta(hours=49)))
        s.add(Message(openid="o3", direction="in", msg_type="event:click", text="", created_at=now))
        s.add(Message(openid="o4", direction="out", msg_type="text", text="hi", created_at=now))
    with session_scope(lite) as s:
        assert [reminders.in_window(s, o, now) for o in ("o1", "o2", "o3", "o4", "o5")] == [
            True, False, False, False, False]
        assert s.execute(select(PushLog)).first() is None
