"""WeChat's 5-second deadline with a slow Rasa: the answer is never lost and never sent twice.

`wire.deliver` behaves as WeChat's servers do: it waits 5 s for an answer,
hangs up and sends the same request again, three attempts in all, and stops
at the first answer it gets. The fake Rasa takes longer than that.
"""
from __future__ import annotations

import time

from bot import texts
from tests import wechat_wire as wire
from tests.wechat_harness import (  # noqa: F401 - fixtures
    TOKEN,
    BotServer,
    FakeRasa,
    logged,
    new_msg_id,
    new_user,
    settings_for,
    wechat_db,
)

CS_SEND = "/cgi-bin/message/custom/send"


def wait_for(predicate, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_rasa_taking_6s_the_retry_gets_the_answer(wechat_db, api):
    """Real timings: attempt 1 gets no answer (so WeChat retries), attempt 2 gets the finished one."""
    with FakeRasa(delay=6.0) as rasa:
        settings = settings_for(wechat_db, rasa.url, WECHAT_APPID=api.appid, WECHAT_SECRET=api.secret,
                                WECHAT_API_BASE_URL=api.base_url)
        user, msg_id = new_user(), new_msg_id()
        with BotServer(settings) as bot:
            delivery = wire.deliver(bot.wechat_url, wire.plain_params(TOKEN),
                                    wire.text_xml("慢问题", user=user, msg_id=msg_id), timeout=5.0)
            time.sleep(1.0)  # a customer-service duplicate would have gone out by now
        asked = rasa.asked("慢问题")
    answered = [a for a in delivery.attempts if a.status is not None]
    assert all(a.elapsed < 5.0 for a in answered), delivery.attempts  # the deadline the issue sets
    assert [a.status for a in delivery.attempts] == [None, 200]
    assert wire.reply_fields(delivery.reply_xml)["Content"] == "答复：慢问题"
    assert asked == 1
    assert api.calls_to(CS_SEND) == []  # delivered once: passively, not also by customer service
    assert [m["direction"] for m in logged(wechat_db, user)] == ["in", "out"]


def test_no_answer_by_the_last_attempt_goes_out_as_a_customer_service_message(wechat_db, api):
    """WeChat's schedule scaled down (1 s per attempt, 0.8 s budget) against a 4 s Rasa."""
    with FakeRasa(delay=4.0) as rasa:
        settings = settings_for(wechat_db, rasa.url, WECHAT_APPID=api.appid, WECHAT_SECRET=api.secret,
                                WECHAT_API_BASE_URL=api.base_url, BOT_REPLY_BUDGET="0.8")
        user, msg_id = new_user(), new_msg_id()
        with BotServer(settings) as bot:
            delivery = wire.deliver(bot.wechat_url, wire.plain_params(TOKEN),
                                    wire.text_xml("很慢的问题", user=user, msg_id=msg_id), timeout=1.0)
            assert wait_for(lambda: len(api.calls_to(CS_SEND)) >= 1)
            time.sleep(1.0)  # a second send would have happened by now
        asked = rasa.asked("很慢的问题")
    assert [a.status for a in delivery.attempts] == [None, None, 200]
    last = delivery.attempts[-1]
    assert last.body == "success" and last.elapsed < 1.0
    sent = api.calls_to(CS_SEND)
    assert [(c.body["touser"], c.body["text"]["content"]) for c in sent] == [(user, "答复：很慢的问题")]
    assert asked == 1


def test_without_customer_service_rights_the_last_attempt_apologises(wechat_db):
    with FakeRasa(delay=4.0) as rasa:
        settings = settings_for(wechat_db, rasa.url, BOT_REPLY_BUDGET="0.8")
        user = new_user()
        with BotServer(settings) as bot:
            delivery = wire.deliver(bot.wechat_url, wire.plain_params(TOKEN),
                                    wire.text_xml("没有客服权限", user=user, msg_id=new_msg_id()), timeout=1.0)
        assert rasa.asked("没有客服权限") == 1
    assert [a.status for a in delivery.attempts] == [None, None, 200]
    assert wire.reply_fields(delivery.reply_xml)["Content"] == texts.TOO_SLOW


def test_a_fast_answer_is_a_passive_reply_on_the_first_attempt(wechat_db, api):
    with FakeRasa(delay=0.2) as rasa:
        settings = settings_for(wechat_db, rasa.url, WECHAT_APPID=api.appid, WECHAT_SECRET=api.secret,
                                WECHAT_API_BASE_URL=api.base_url)
        with BotServer(settings) as bot:
            delivery = wire.deliver(bot.wechat_url, wire.plain_params(TOKEN),
                                    wire.text_xml("快问题", user=new_user(), msg_id=new_msg_id()))
    assert [a.status for a in delivery.attempts] == [200]
    assert wire.reply_fields(delivery.reply_xml)["Content"] == "答复：快问题"
    assert api.calls_to(CS_SEND) == []
