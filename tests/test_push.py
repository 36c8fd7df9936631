"""Sending reminders against the fake WeChat API: channels, field limits, errcodes, exactly once."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.cli import main as cli_main
from bot.config import load_settings
from bot.push import EventView, Pusher, RateLimiter, format_field, reminder_text, template_data
from kb import events, reminders, subscriptions
from kb.db import session_scope, set_setting
from kb.models import Event, Message, PushLog
from tests.fake_wechat_api import FakeWeChatAPI

TZ = "Asia/Shanghai"
TEMPLATE = "/cgi-bin/message/template/send"
CUSTOM = "/cgi-bin/message/custom/send"
LONG_TITLE = "2031年四川省青少年科技创新大赛暨科技辅导员创新成果展示活动"


def at(text: str) -> datetime:
    return events.parse_when(text, "t", TZ)


def settings_for(url: str, api: FakeWeChatAPI | None, template: str | None = "tmpl-reminder"):
    env = {"DATABASE_URL": url, "BOT_TZ": TZ}
    if api is not None:
        env.update(WECHAT_APPID=api.appid, WECHAT_SECRET=api.secret, WECHAT_API_BASE_URL=api.base_url)
    if template:
        env["BOT_PUSH_TEMPLATE_ID"] = template
    return load_settings(env, generate_secrets=False)


def pusher_for(url: str, api: FakeWeChatAPI | None, template: str | None = "tmpl-reminder", **kw) -> Pusher:
    kw.setdefault("rate_per_second", 0)
    kw.setdefault("sleep", lambda s: None)
    return Pusher(settings_for(url, api, template), **kw)


def setup_event(url: str, *openids: str, **data) -> int:
    with session_scope(url) as s:
        event_id = events.create_event(s, {"title": "科普讲座", "starts_at": "2031-05-10T14:00",
                                           "location": "成都市科技馆", **data}, tz=TZ)["id"]
        for openid in openids:
            subscriptions.subscribe(s, openid)
    return event_id


def wrote_recently(url: str, openid: str, when: datetime) -> None:
    with session_scope(url) as s:
        s.add(Message(openid=openid, direction="in", msg_type="text", text="有什么活动", created_at=when))


def log_rows(url: str) -> list[PushLog]:
    with session_scope(url) as s:
        return list(s.execute(select(PushLog).order_by(PushLog.id)).scalars())


NOW = at("2031-05-09T09:00:05")


# -- what the messages say ------------------------------------------------------------------------

def test_field_limits():
    assert format_field("thing1", LONG_TITLE, TZ) == LONG_TITLE[:19] + "…"
    assert len(format_field("thing1", LONG_TITLE, TZ)) == 20
    assert format_field("thing3", "", TZ) == "未注明"
    assert format_field("thing2", "第一行\n第二行", TZ) == "第一行 第二行"
    assert format_field("phrase4", "科普活动", TZ) == "科普活动"
    assert format_field("phrase4", "Science 科普活动进行中啦", TZ) == "科普活动进"
    assert format_field("character_string5", "编号ABC-123 科协" + "x" * 40, TZ) == ("ABC-123" + "x" * 40)[:32]
    assert format_field("character_string5", "ABC", TZ).isascii()
    assert format_field("number2", "共 1,234.5 人", TZ) == "1234.5"
    assert format_field("time2", at("2031-05-10T14:00"), TZ) == "2031年5月10日 14:00"
    assert format_field("date2", at("2031-05-10T14:00"), TZ) == "2031年5月10日"
    assert format_field("name1", "张三李四王五赵六钱七孙八", TZ) == "张三李四王五赵六钱七"
    assert format_field("keyword1", LONG_TITLE, TZ) == LONG_TITLE[:19] + "…"  # unknown type: treated like thing


def test_template_data_and_text_use_only_the_event_record(lite):
    event_id = setup_event(lite, title=LONG_TITLE, ends_at="2031-05-10T17:00", registration="扫码报名")
    with session_scope(lite) as s:
        view = EventView.of(s.get(Event, event_id))
    data = template_data(view, {"thing1": "title", "time2": "starts_at", "thing3": "location", "phrase4": "kind",
                                "character_string5": "event_id", "thing6": "organiser"}, TZ)
    assert data == {"thing1": {"value": LONG_TITLE[:19] + "…"}, "time2": {"value": "2031年5月10日 14:00"},
                    "thing3": {"value": "成都市科技馆"}, "phrase4": {"value": "科普活动"},
                    "character_string5": {"value": str(event_id)}, "thing6": {"value": "未注明"}}
    text = reminder_text(view, TZ)
    assert text.startswith(f"【活动提醒】{LONG_TITLE}\n时间：2031年5月10日 14:00至17:00\n地点：成都市科技馆")
    assert "报名：扫码报名" in text and "主办" not in text


# -- channels ----------------------------------------------------------------------------------------

def test_template_message_within_limits_and_logged(db_url, api):
    setup_event(db_url, "o1", title=LONG_TITLE)
    outcomes = pusher_for(db_url, api).send_due(NOW)
    assert [o.status for o in outcomes] == ["sent"]
    (call,) = api.calls_to(TEMPLATE)
    assert call.body["touser"] == "o1" and call.body["template_id"] == "tmpl-reminder"
    assert call.body["data"]["thing1"]["value"] == LONG_TITLE[:19] + "…"
    assert call.body["data"]["time2"]["value"] == "2031年5月10日 14:00"
    assert len(call.body["client_msg_id"]) == 32
    (row,) = log_rows(db_url)
    assert (row.status, row.channel, row.attempts, row.errcode, row.openid) == ("sent", "template", 1, None, "o1")
    assert row.sent_at is not None and row.key.startswith(f"{row.event_id}:o1:20310509T010000Z")
    assert api.calls_to(CUSTOM) == []


def test_template_fields_follow_the_staff_setting(lite, api):
    setup_event(lite, "o1")
    with session_scope(lite) as s:
        set_setting(s, "push_template_fields", '{"thing7": "title", "time9": "starts_at", "phrase2": "kind"}')
    pusher_for(lite, api).send_due(NOW)
    assert set(api.calls_to(TEMPLATE)[0].body["data"]) == {"thing7", "time9", "phrase2"}


def test_without_a_template_customer_service_inside_the_48_hour_window_only(lite, api):
    setup_event(lite, "o_recent", "o_silent")
    wrote_recently(lite, "o_recent", NOW - timedelta(hours=30))
    wrote_recently(lite, "o_silent", NOW - timedelta(hours=50))
    outcomes = {o.key.split(":")[1]: o for o in pusher_for(lite, api, template=None).send_due(NOW)}
    assert outcomes["o_recent"].status == "sent" and outcomes["o_recent"].channel == "custom"
    assert outcomes["o_silent"].status == "skipped"
    (call,) = api.calls_to(CUSTOM)
    assert call.body["touser"] == "o_recent" and call.body["text"]["content"].startswith("【活动提醒】科普讲座")
    assert api.calls_to(TEMPLATE) == []
    with session_scope(lite) as s:  # skipped is logged, so it is not owed again
        assert reminders.due_reminders(s, NOW, TZ) == []


def test_a_refused_template_falls_back_to_customer_service_in_the_window(lite, api):
    setup_event(lite, "o_recent", "o_silent")
    wrote_recently(lite, "o_recent", NOW - timedelta(hours=1))
    api.fail_next(TEMPLATE, 47003, 47003)
    outcomes = {o.key.split(":")[1]: o for o in pusher_for(lite, api).send_due(NOW)}
    assert (outcomes["o_recent"].status, outcomes["o_recent"].channel) == ("sent", "custom")
    assert (outcomes["o_silent"].status, outcomes["o_silent"].errcode) == ("failed", 47003)
    assert [c.body["touser"] for c in api.calls_to(CUSTOM)] == ["o_recent"]
    with session_scope(lite) as s:
        assert subscriptions.is_active(s, "o_silent")  # a broken template is not the citizen's doing


# -- errcodes ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("errcode", [43004, 43101, 45015])
def test_unreachable_citizens_are_paused_and_not_retried(lite, api, errcode):
    setup_event(lite, "o_gone", "o_ok")
    wrote_recently(lite, "o_gone", NOW - timedelta(hours=1))  # in the window, and still no fallback
    api.fail_next(TEMPLATE, errcode)
    outcomes = {o.key.split(":")[1]: o for o in pusher_for(lite, api).send_due(NOW)}
    assert (outcomes["o_gone"].status, outcomes["o_gone"].errcode, outcomes["o_gone"].attempts) == (
        "failed", errcode, 1)
    assert outcomes["o_ok"].status == "sent"
    assert len(api.calls_to(TEMPLATE)) == 2 and api.calls_to(CUSTOM) == []
    with session_scope(lite) as s:
        assert not subscriptions.is_active(s, "o_gone")
        assert subscriptions.history(s, "o_gone")[-1]["action"] == f"wechat-{errcode}"
        # the next reminder goes to the reachable citizen only
        assert [r.openid for r in reminders.due_reminders(s, at("2031-05-10T09:00"), TZ)] == []
        assert [r.openid for r in reminders.due_reminders(s, NOW, TZ)] == []
    assert [o.key.split(":")[1] for o in pusher_for(lite, api).send_due(at("2031-05-09T09:30"))] == []


def test_customer_service_45015_pauses_too(lite, api):
    setup_event(lite, "o1")
    wrote_recently(lite, "o1", NOW - timedelta(hours=1))
    api.fail_next(CUSTOM, 45015)
    (outcome,) = pusher_for(lite, api, template=None).send_due(NOW)
    assert (outcome.status, outcome.channel, outcome.errcode) == ("failed", "custom", 45015)
    with session_scope(lite) as s:
        assert not subscriptions.is_active(s, "o1")


def test_transient_errors_are_retried_a_bounded_number_of_times(lite, api):
    setup_event(lite, "o1")
    sleeps: list[float] = []
    api.fail_next(TEMPLATE, -1, -1)  # o1: busy twice, then delivered
    pusher = pusher_for(lite, api, attempts=3, backoff=0.5, sleep=sleeps.append)
    first = pusher.send_due(NOW)
    assert [(o.status, o.attempts) for o in first] == [("sent", 3)]
    assert sleeps == [0.5, 1.0]
    with session_scope(lite) as s:
        subscriptions.subscribe(s, "o2")
    api.fail_next(TEMPLATE, -1, -1, -1)  # o2: busy every time
    outcomes = pusher.send_due(NOW)
    assert [(o.status, o.errcode, o.attempts) for o in outcomes] == [("failed", -1, 3)]
    assert len(api.calls_to(TEMPLATE)) == 3 + 3
    assert [(r.openid, r.status, r.errcode, r.attempts) for r in log_rows(lite)] == [
        ("o1", "sent", None, 3), ("o2", "failed", -1, 3)]
    with session_scope(lite) as s:
        assert subscriptions.is_active(s, "o2")  # busy is not the citizen's doing


def test_no_credentials_no_send_but_logged(lite):
    setup_event(lite, "o1")
    (outcome,) = pusher_for(lite, None).send_due(NOW)
    assert outcome.status == "skipped" and "WECHAT_APPID" in outcome.errmsg
    assert [r.status for r in log_rows(lite)] == ["skipped"]


# -- exactly once ---------------------------------------------------------------------------------

def test_a_reminder_is_never_sent_twice(db_url, api):
    event_id = setup_event(db_url, "o1")
    pusher = pusher_for(db_url, api)
    assert [o.status for o in pusher.run_reminder(event_id, at("2031-05-09T09:00"), NOW)] == ["sent"]
    assert pusher.run_reminder(event_id, at("2031-05-09T09:00"), NOW) == []
    (reminder,) = [reminders.Reminder(event_id, "科普讲座", "o1", at("2031-05-09T09:00"), at("2031-05-10T14:00"),
                                      reminders.push_key(event_id, "o1", at("2031-05-09T09:00")))]
    assert pusher.deliver(reminder, NOW).status == "duplicate"
    assert len(api.calls_to(TEMPLATE)) == 1


def test_two_senders_racing_over_the_same_reminders_send_each_once(db_url, api):
    openids = [f"o{i}" for i in range(12)]
    event_id = setup_event(db_url, *openids)
    # three senders sharing one access token, as processes do through Redis
    from wechatpy.session.memorystorage import MemoryStorage

    from bot.wechat_api import make_client

    storage = MemoryStorage()
    settings = settings_for(db_url, api)
    make_client(settings, storage).fetch_access_token()
    pushers = [Pusher(settings, make_client(settings, storage), rate_per_second=0) for _ in range(3)]
    barrier = threading.Barrier(len(pushers))
    results: list[list] = []

    def work(p: Pusher) -> None:
        barrier.wait()
        results.append(p.run_reminder(event_id, at("2031-05-09T09:00"), NOW))

    threads = [threading.Thread(target=work, args=(p,)) for p in pushers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    sent_to = sorted(c.body["touser"] for c in api.calls_to(TEMPLATE))
    assert sent_to == sorted(openids)
    statuses = sorted(o.status for r in results for o in r)
    assert statuses.count("sent") == len(openids)
    assert all(s == "duplicate" for s in statuses if s != "sent")
    assert sorted(r.status for r in log_rows(db_url)) == ["sent"] * len(openids)


def test_too_late_is_dropped_and_logged_not_sent(db_url, api):
    event_id = setup_event(db_url, "o1", "o2")
    outcomes = pusher_for(db_url, api).run_reminder(event_id, at("2031-05-09T09:00"), at("2031-05-10T14:00:01"))
    assert sorted(o.status for o in outcomes) == ["dropped", "dropped"]
    assert api.calls == []
    rows = log_rows(db_url)
    assert [r.status for r in rows] == ["dropped", "dropped"] and "too late" in rows[0].errmsg


def test_an_unsubscribed_citizen_gets_nothing(lite, api):
    setup_event(lite, "o_stays", "o_leaves")
    with session_scope(lite) as s:
        subscriptions.pause(s, "o_leaves")
    pusher_for(lite, api).send_due(NOW)
    assert [c.body["touser"] for c in api.calls_to(TEMPLATE)] == ["o_stays"]
    assert [r.openid for r in log_rows(lite)] == ["o_stays"]


# -- pacing and the dry run --------------------------------------------------------------------

def test_rate_limiter_spaces_calls():
    clock = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        clock[0] += seconds

    limiter = RateLimiter(4, monotonic=lambda: clock[0], sleep=sleep)
    for _ in range(3):
        limiter.wait()
    assert slept == [0.25, 0.25]
    clock[0] += 10
    limiter.wait()
    assert slept == [0.25, 0.25]


def test_push_due_is_a_dry_run(lite, api, monkeypatch, capsys):
    setup_event(lite, "o1", "o2")
    wrote_recently(lite, "o2", NOW - timedelta(hours=1))
    for key, value in {"DATABASE_URL": lite, "BOT_TZ": TZ, "WECHAT_APPID": api.appid, "WECHAT_SECRET": api.secret,
                       "WECHAT_API_BASE_URL": api.base_url}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("BOT_PUSH_TEMPLATE_ID", raising=False)
    assert cli_main(["push", "due", "--at", "2031-05-09T09:00:05"]) == 0
    out = capsys.readouterr().out
    assert "-> o1  via skip (no template" in out and "-> o2  via custom" in out
    assert "reminder of 2031年5月9日 09:00" in out and "2 reminder(s) due" in out
    assert cli_main(["push", "due", "--at", "2031-05-01T09:00"]) == 0
    assert "0 reminder(s) due" in capsys.readouterr().out
    assert api.calls == [] and log_rows(lite) == []
