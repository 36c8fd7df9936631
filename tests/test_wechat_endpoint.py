"""POST /wechat over real HTTP: every message type, retries, hostile requests, the message log.

The bot's real app runs under uvicorn on loopback against a fake Rasa (it
counts the questions it gets) and, where customer-service messages matter,
the fake WeChat API.
"""
from __future__ import annotations

import concurrent.futures
import logging
import time

import httpx
import pytest

from bot import texts
from tests import wechat_wire as wire
from tests.fake_wechat_api import FakeWeChatAPI
from tests.wechat_harness import (  # noqa: F401 - fixtures
    AES_KEY,
    API_TOKEN,
    APPID,
    OLD_AES_KEY,
    TOKEN,
    BotServer,
    FakeRasa,
    logged,
    new_msg_id,
    new_user,
    settings_for,
    wechat_db,
)


@pytest.fixture(scope="module")
def rasa():
    with FakeRasa() as fake:
        yield fake


@pytest.fixture
def fresh_rasa(rasa):
    """The module's fake Rasa, back to fast, plain answers after the test."""
    yield rasa
    rasa.delay, rasa.reply_for = 0.0, (lambda text: f"答复：{text}")


@pytest.fixture(scope="module")
def bot(wechat_db, rasa):
    """Plain mode, safe mode accepted (current and previous key), no customer-service rights."""
    settings = settings_for(wechat_db, rasa.url, WECHAT_APPID=APPID, WECHAT_AES_KEY=AES_KEY,
                            WECHAT_AES_KEY_PREVIOUS=OLD_AES_KEY, BOT_RATE_LIMIT="5/60")
    with BotServer(settings) as server:
        yield server


def post(bot, xml: str | bytes, params: dict[str, str] | None = None, **kw) -> httpx.Response:
    body = xml.encode() if isinstance(xml, str) else xml
    return httpx.post(bot.wechat_url, params=params or wire.plain_params(TOKEN), content=body,
                      headers={"Content-Type": "text/xml"}, timeout=kw.pop("timeout", 10), **kw)


def content(resp: httpx.Response) -> str:
    assert resp.status_code == 200, resp.text
    return wire.reply_fields(resp.text)["Content"]


# -- message types ------------------------------------------------------------------------------

def test_text_is_answered_through_rasa_and_logged(bot, rasa, wechat_db):
    user, msg_id = new_user(), new_msg_id()
    resp = post(bot, wire.text_xml("成都有什么科普活动", user=user, msg_id=msg_id))
    fields = wire.reply_fields(resp.text)
    assert (fields["ToUserName"], fields["FromUserName"], fields["MsgType"]) == (user, "gh_kexie", "text")
    assert fields["Content"] == "答复：成都有什么科普活动"
    assert rasa.asked("成都有什么科普活动") == 1
    log = logged(wechat_db, user)
    assert [(m["direction"], m["type"], m["text"]) for m in log] == [
        ("in", "text", "成都有什么科普活动"), ("out", "text", "答复：成都有什么科普活动")]
    assert log[0]["intent"] == "ask_event" and log[0]["answered"] is True
    assert log[0]["msg_id"] == str(msg_id) and log[0]["latency_ms"] >= 0


def test_message_log_over_the_api(bot):
    user = new_user()
    for question in ("第一个问题", "第二个问题"):
        post(bot, wire.text_xml(question, user=user, msg_id=new_msg_id()))
    resp = httpx.get(f"{bot.url}/api/messages", params={"user": user},
                     headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=5)
    assert resp.status_code == 200
    assert [m["text"] for m in resp.json()["messages"]] == ["第一个问题", "答复：第一个问题", "第二个问题", "答复：第二个问题"]
    assert httpx.get(f"{bot.url}/api/messages", params={"user": user}, timeout=5).status_code == 401
    assert httpx.get(f"{bot.url}/api/messages", headers={"Authorization": f"Bearer {API_TOKEN}"},
                     timeout=5).status_code == 400


def test_voice_uses_wechats_recognition(bot, rasa, wechat_db):
    user = new_user()
    assert content(post(bot, wire.voice_xml("天府科技云是什么", user=user, msg_id=new_msg_id()))) == "答复：天府科技云是什么"
    assert rasa.asked("天府科技云是什么") == 1
    assert logged(wechat_db, user)[0]["type"] == "voice"


@pytest.mark.parametrize("recognition", [None, "", "  "])
def test_voice_without_recognition_asks_to_type(bot, rasa, recognition):
    before = rasa.asked()
    assert content(post(bot, wire.voice_xml(recognition, user=new_user(), msg_id=new_msg_id()))) == texts.VOICE_UNRECOGNISED
    assert rasa.asked() == before


@pytest.mark.parametrize("make", [wire.image_xml, wire.location_xml, wire.link_xml, wire.video_xml],
                         ids=["image", "location", "link", "video"])
def test_other_messages_get_a_short_polite_reply(bot, rasa, wechat_db, make):
    user, before = new_user(), rasa.asked()
    reply = content(post(bot, make(user=user, msg_id=new_msg_id())))
    assert reply == texts.NOT_TEXT and "文字" in reply
    assert rasa.asked() == before
    assert [m["direction"] for m in logged(wechat_db, user)] == ["in", "out"]


def test_subscribe_gets_the_welcome_with_a_note_on_reminders(bot, rasa, wechat_db):
    user, before = new_user(), rasa.asked()
    reply = content(post(bot, wire.event_xml("subscribe", user=user)))
    from kb.db import session_scope

    with session_scope(wechat_db) as session:
        assert reply == texts.welcome(session) and "提醒" in reply
    assert rasa.asked() == before
    assert logged(wechat_db, user)[0]["type"] == "event:subscribe"


def test_unsubscribe_pauses_reminders_and_says_nothing(bot, rasa, wechat_db):
    from kb import subscriptions
    from kb.db import session_scope

    user = new_user()
    with session_scope(wechat_db) as session:
        subscriptions.subscribe(session, user, ["竞赛"])
    resp = post(bot, wire.event_xml("unsubscribe", user=user))
    assert (resp.status_code, resp.text) == (200, "success")
    with session_scope(wechat_db) as session:
        assert not subscriptions.is_active(session, user)


@pytest.mark.parametrize("event", ["VIEW", "LOCATION", "TEMPLATESENDJOBFINISH", "subscribe_msg_popup_event", "SCAN"])
def test_events_without_anything_to_say_get_success(bot, rasa, wechat_db, event):
    user, before = new_user(), rasa.asked()
    resp = post(bot, wire.event_xml(event, user=user, key="https://example.org/x"))
    assert (resp.status_code, resp.text) == (200, "success")
    assert rasa.asked() == before
    assert logged(wechat_db, user) == []


def test_menu_click_is_answered_without_nlu(bot, rasa, wechat_db):
    user, before = new_user(), rasa.asked()
    assert content(post(bot, wire.event_xml("CLICK", user=user, key="HOW_TO_SUBSCRIBE"))) == texts.HOW_TO_SUBSCRIBE
    assert content(post(bot, wire.event_xml("CLICK", user=user, key="NO_SUCH_KEY", create_time=1))) == \
        texts.UNKNOWN_MENU_KEY
    assert rasa.asked() == before
    assert logged(wechat_db, user)[0]["intent"] == "menu:HOW_TO_SUBSCRIBE"


def test_overlong_text_is_not_sent_to_rasa(bot, rasa):
    before = rasa.asked()
    assert content(post(bot, wire.text_xml("问" * 600, user=new_user(), msg_id=new_msg_id()))) == texts.TOO_LONG
    assert rasa.asked() == before


# -- replies -----------------------------------------------------------------------------------------

def test_cdata_end_and_markdown_in_an_answer(bot, fresh_rasa):
    fresh_rasa.reply_for = lambda text: "**注意**：a]]>b"
    assert content(post(bot, wire.text_xml("特殊字符", user=new_user(), msg_id=new_msg_id()))) == "注意：a]]>b"


def test_long_answer_is_cut_at_2048_bytes_without_customer_service(bot, fresh_rasa):
    fresh_rasa.reply_for = lambda text: "科协" * 1200  # 7200 bytes
    resp = post(bot, wire.text_xml("长回答", user=new_user(), msg_id=new_msg_id()))
    reply = content(resp)
    assert len(reply.encode("utf-8")) <= 2048
    assert reply.endswith(texts.CUT_SHORT.strip()) and reply.startswith("科协科协")


def test_long_answer_continues_as_customer_service_messages(wechat_db, fresh_rasa):
    with FakeWeChatAPI() as api:
        settings = settings_for(wechat_db, fresh_rasa.url, WECHAT_APPID=api.appid, WECHAT_SECRET=api.secret,
                                WECHAT_API_BASE_URL=api.base_url)
        fresh_rasa.reply_for = lambda text: "\n".join(f"第{i}条：" + "科" * 300 for i in range(1, 6))
        full = fresh_rasa.reply_for("")
        user, msg_id = new_user(), new_msg_id()
        with BotServer(settings) as bot:
            first = content(post(bot, wire.text_xml("长回答", user=user, msg_id=msg_id)))
            retry = content(post(bot, wire.text_xml("长回答", user=user, msg_id=msg_id)))  # same message again
            deadline = time.monotonic() + 10
            while len(api.calls_to("/cgi-bin/message/custom/send")) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(1.0)  # a repeated continuation would have been sent by now
        sent = api.calls_to("/cgi-bin/message/custom/send")
    assert len(first.encode("utf-8")) <= 2048 and first == retry
    assert [c.body["touser"] for c in sent] == [user, user]  # 4.6 KB: one passive reply, two continuations
    rest = [c.body["text"]["content"] for c in sent]
    assert all(len(piece.encode("utf-8")) <= 2048 for piece in rest)
    assert "\n".join([first, *rest]) == full


def test_safe_mode_reply_is_encrypted_under_the_requests_key(bot):
    for key in (AES_KEY, OLD_AES_KEY):
        user = new_user()
        params, body = wire.encrypted(TOKEN, key, APPID, wire.text_xml("加密", user=user, msg_id=new_msg_id()))
        resp = post(bot, body, params)
        assert resp.status_code == 200, resp.text
        fields = wire.reply_fields(wire.open_reply(TOKEN, key, APPID, resp.text))
        assert (fields["Content"], fields["ToUserName"]) == ("答复：加密", user)


def test_compatible_mode_reply(bot):
    params, body = wire.encrypted(TOKEN, AES_KEY, APPID, wire.text_xml("兼容", user=new_user(), msg_id=new_msg_id()), compatible=True)
    resp = post(bot, body, params)
    assert wire.reply_fields(wire.open_reply(TOKEN, AES_KEY, APPID, resp.text))["Content"] == "答复：兼容"


# -- retries ------------------------------------------------------------------------------------------

def test_three_retries_in_a_row_are_answered_once(bot, rasa, wechat_db):
    user, msg_id = new_user(), new_msg_id()
    xml = wire.text_xml("重复的问题", user=user, msg_id=msg_id)
    replies = [content(post(bot, xml)) for _ in range(3)]
    assert replies == ["答复：重复的问题"] * 3
    assert rasa.asked("重复的问题") == 1
    assert [m["direction"] for m in logged(wechat_db, user)] == ["in", "out"]


def test_three_retries_at_the_same_moment_are_answered_once(bot, fresh_rasa, wechat_db):
    fresh_rasa.delay = 1.0
    user, msg_id = new_user(), new_msg_id()
    xml = wire.text_xml("同时到达", user=user, msg_id=msg_id)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda _: content(post(bot, xml)), range(3)))
    assert replies == ["答复：同时到达"] * 3
    assert fresh_rasa.asked("同时到达") == 1
    assert [m["direction"] for m in logged(wechat_db, user)] == ["in", "out"]


def test_event_retries_are_deduped_by_sender_time_event_and_key(bot, wechat_db):
    user = new_user()
    xml = wire.event_xml("CLICK", user=user, key="WHAT_TO_ASK", create_time=1700000000)
    assert [content(post(bot, xml)) for _ in range(3)] == [texts.WHAT_TO_ASK] * 3
    assert len(logged(wechat_db, user)) == 2
    other_time = wire.event_xml("CLICK", user=user, key="WHAT_TO_ASK", create_time=1700000001)
    content(post(bot, other_time))
    assert len(logged(wechat_db, user)) == 4


# -- rate limit ----------------------------------------------------------------------------------------

def test_rate_limit_answers_politely_without_rasa(bot, rasa, wechat_db):
    user = new_user()
    replies = [content(post(bot, wire.text_xml(f"第{i}问", user=user, msg_id=new_msg_id()))) for i in range(7)]
    assert replies[:5] == [f"答复：第{i}问" for i in range(5)]
    assert replies[5:] == [texts.RATE_LIMITED] * 2
    assert rasa.asked("第5问") == 0 and rasa.asked("第6问") == 0
    assert content(post(bot, wire.text_xml("别人的问题", user=new_user(), msg_id=new_msg_id()))) == "答复：别人的问题"
    limited = [m for m in logged(wechat_db, user) if m["intent"] == "rate_limited"]
    assert [m["text"] for m in limited if m["direction"] == "in"] == ["第5问", "第6问"]


# -- hostile and broken requests --------------------------------------------------------------------

def bad_requests(tmp_path) -> list[tuple[str, dict[str, str], bytes, int]]:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    ok = wire.plain_params(TOKEN)
    forged = dict(ok, signature=wire.sign("wrong-token", ok["timestamp"], ok["nonce"]))
    wrong_key_params, wrong_key_body = wire.encrypted(TOKEN, "A" * 43, APPID, wire.text_xml("x"))
    other_app_params, other_app_body = wire.encrypted(TOKEN, AES_KEY, "wx_other", wire.text_xml("x"))
    return [
        ("no signature", {}, wire.text_xml("x").encode(), 400),
        ("forged signature", forged, wire.text_xml("x").encode(), 403),
        ("empty body", ok, b"", 400),
        ("malformed XML", ok, b"<xml><Content>", 400),
        ("missing fields", ok, b"<xml><MsgType>text</MsgType></xml>", 400),
        ("billion laughs", ok, wire.billion_laughs().encode(), 400),
        ("external entity", ok, wire.external_entity(str(secret)).encode(), 400),
        ("too large", ok, b"<xml>" + b"a" * (70 * 1024) + b"</xml>", 413),
        ("wrong key", wrong_key_params, wrong_key_body.encode(), 400),
        ("other AppID", other_app_params, other_app_body.encode(), 403),
        ("not UTF-8", ok, wire.text_xml("x").encode().replace(b"x]]", b"\xff\xfe]]"), 400),
    ]


def test_bad_requests_get_a_short_4xx_never_a_500(bot, rasa, tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="bot.wechat")
    before = rasa.asked()
    for name, params, body, status in bad_requests(tmp_path):
        resp = httpx.post(bot.wechat_url, params=params, content=body, timeout=10)
        assert resp.status_code == status, (name, resp.status_code, resp.text)
        assert len(resp.text) < 80 and "Traceback" not in resp.text and "TOP-SECRET" not in resp.text, name
    assert rasa.asked() == before
    assert caplog.text.count("rejected WeChat message") == len(bad_requests(tmp_path))


def test_oversized_body_is_refused_without_being_read(bot):
    """A declared length past the cap is refused before the body is read."""
    def endless():
        yield b"<xml>"
        for _ in range(200):
            yield b"a" * 1024
    resp = httpx.post(bot.wechat_url, params=wire.plain_params(TOKEN), content=endless(), timeout=10)
    assert resp.status_code == 413


def test_handshake(bot):
    params = wire.plain_params(TOKEN)
    assert httpx.get(bot.wechat_url, params=dict(params, echostr="abc123"), timeout=5).text == "abc123"
    forged = dict(params, signature="0" * 40, echostr="abc123")
    resp = httpx.get(bot.wechat_url, params=forged, timeout=5)
    assert resp.status_code == 403 and "abc123" not in resp.text


def test_subscription_buttons_act_at_once(bot, rasa, wechat_db):
    from kb import subscriptions
    from kb.db import session_scope

    user, before = new_user(), rasa.asked()
    click = lambda key, t: content(post(bot, wire.event_xml("CLICK", user=user, key=key, create_time=t)))  # noqa: E731
    assert click("UNSUBSCRIBE", 1) == texts.NOT_SUBSCRIBED
    assert click("SUBSCRIBE_COMPETITIONS", 2) == texts.SUBSCRIBED_BY_MENU.format(topics="竞赛")
    with session_scope(wechat_db) as session:
        assert subscriptions.is_active(session, user) and subscriptions.get(session, user).topics == ["竞赛"]
    assert click("UNSUBSCRIBE", 3) == texts.UNSUBSCRIBED_BY_MENU
    with session_scope(wechat_db) as session:
        assert not subscriptions.is_active(session, user)
    assert rasa.asked() == before
