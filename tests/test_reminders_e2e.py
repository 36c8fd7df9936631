"""Subscribing and unsubscribing by chat (real Rasa, real actions) decides who gets a reminder.

Runs against the shared `stack`; it touches only its own citizen and its own
event (deliveries go to that citizen only), so other tests' data is left alone.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from bot.config import load_settings
from bot.push import Pusher
from kb import events, reminders, subscriptions
from kb.db import session_scope
from kb.models import Event
from tests.fake_wechat_api import FakeWeChatAPI

TZ = "Asia/Shanghai"


def owed_to(url: str, event_id: int, openid: str, now: datetime) -> list[reminders.Reminder]:
    with session_scope(url) as s:
        return [r for r in reminders.due_reminders(s, now, TZ, event_id) if r.openid == openid]


def test_chat_subscription_gets_the_reminder_and_unsubscribing_stops_it(stack):
    user = f"o_e2e_{uuid.uuid4().hex[:10]}"
    reply = stack.ask("订阅科普活动提醒", user=user)
    assert reply["intent"]["name"] == "subscribe"
    with session_scope(stack.database_url) as s:
        sub = subscriptions.get(s, user)
        assert sub is not None and sub.active and subscriptions.matches(sub.topics, "科普活动")

    now = datetime.now(timezone.utc)
    starts = now + timedelta(days=5)
    with session_scope(stack.database_url) as s:
        event_id = events.create_event(s, {
            "title": f"科普开放日{user[-4:]}", "kind": "科普活动", "starts_at": starts.isoformat(),
            "remind_at": [(now - timedelta(minutes=1)).isoformat(), (now + timedelta(days=2)).isoformat()]},
            actor="test", tz=TZ)["id"]
        first, second = reminders.reminder_times(s.get(Event, event_id), TZ)

    with FakeWeChatAPI() as api:
        settings = load_settings({"DATABASE_URL": stack.database_url, "BOT_TZ": TZ, "WECHAT_APPID": api.appid,
                                  "WECHAT_SECRET": api.secret, "WECHAT_API_BASE_URL": api.base_url,
                                  "BOT_PUSH_TEMPLATE_ID": "tmpl-reminder"}, generate_secrets=False)
        pusher = Pusher(settings, rate_per_second=0)
        (owed,) = owed_to(stack.database_url, event_id, user, now)
        assert owed.remind_at == first
        assert pusher.deliver(owed, now).status == "sent"
        (call,) = api.calls_to("/cgi-bin/message/template/send")
        assert call.body["touser"] == user

        reply = stack.ask("取消订阅", user=user)
        assert reply["intent"]["name"] == "unsubscribe"
        assert owed_to(stack.database_url, event_id, user, second + timedelta(minutes=1)) == []
        assert len(api.calls) == 2  # the token and the one reminder

    with session_scope(stack.database_url) as s:
        assert [h["action"] for h in subscriptions.history(s, user)] == ["subscribe", "unsubscribe"]
        events.cancel_event(s, event_id, actor="test")  # leave no upcoming event behind for other tests
