"""The walking skeleton, end to end: signed WeChat XML in, a cited Chinese answer out.

Runs the real stack (trained Rasa model, action server, bot web server, a
knowledge base built from the shipped reports) on free ports.
"""
from __future__ import annotations

import random

import httpx
import pytest

from tests.wechat_wire import plain_params, reply_fields, sign, text_xml


def post_text(stack, content: str, user: str = "o_e2e", msg_id: int | None = None) -> httpx.Response:
    xml = text_xml(content, user=user, msg_id=msg_id or random.randrange(10**15, 10**16))
    return httpx.post(f"{stack.bot_url}/wechat", params=plain_params(stack.token), content=xml.encode(),
                      headers={"Content-Type": "text/xml"}, timeout=10)


def test_signed_text_message_gets_a_cited_answer(stack):
    resp = post_text(stack, "绵阳五年来办了多少场学术交流活动", user="o_mianyang")
    assert resp.status_code == 200
    fields = reply_fields(resp.text)
    assert fields["ToUserName"] == "o_mianyang"
    assert fields["FromUserName"] == "gh_kexie"
    assert fields["MsgType"] == "text"
    assert "50余场" in fields["Content"]
    assert "来源：《牢记使命 砥砺前行——绵阳市科协七大以来工作回眸》" in fields["Content"]
    assert "2021年6月" in fields["Content"]


def test_handshake_echoes_echostr(stack):
    params = plain_params(stack.token)
    params["echostr"] = "5837369028415473042"
    resp = httpx.get(f"{stack.bot_url}/wechat", params=params, timeout=5)
    assert resp.status_code == 200
    assert resp.text == "5837369028415473042"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_forged_signature_is_refused(stack, method):
    params = plain_params(stack.token)
    params["signature"] = sign("not-the-token", params["timestamp"], params["nonce"])
    params["echostr"] = "123"
    resp = httpx.request(method, f"{stack.bot_url}/wechat", params=params,
                         content=text_xml("你好").encode() if method == "POST" else None, timeout=5)
    assert resp.status_code == 403
    assert "signature" in resp.text
    assert "Traceback" not in resp.text


def test_healthz_reports_every_part_ready(stack):
    resp = httpx.get(f"{stack.bot_url}/healthz", timeout=5)
    assert resp.status_code == 200
    assert resp.json()["checks"] == {"database": True, "rasa": True, "actions": True, "knowledge": True}


def test_api_ask_returns_the_same_answer_as_json(stack):
    data = stack.ask("通江县推送了多少条科普信息", user="o_api")
    assert set(data) >= {"reply", "intent", "entities", "answered", "sources"}
    assert data["intent"]["name"] == "ask_statistics"
    assert 0.0 < data["intent"]["confidence"] <= 1.0
    assert data["answered"] is True
    assert "10万余条" in data["reply"]
    assert any(s["title"].startswith("四川科协报") and s["date"] for s in data["sources"])
    assert any(e["entity"] == "region" and e["value"] == "通江" for e in data["entities"])


def test_api_needs_the_bearer_token(stack):
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        resp = httpx.post(f"{stack.bot_url}/api/ask", json={"text": "你好"}, headers=headers, timeout=5)
        assert resp.status_code == 401


def test_api_ask_rejects_bad_input(stack):
    auth = {"Authorization": f"Bearer {stack.api_token}"}
    assert httpx.post(f"{stack.bot_url}/api/ask", content=b"not json", headers=auth).status_code == 400
    assert httpx.post(f"{stack.bot_url}/api/ask", json={"user": "x"}, headers=auth).status_code == 400


@pytest.mark.parametrize("text, intent, must_contain", [
    ("你好", "greet", "我能回答"),
    ("拜拜", "goodbye", "再见"),
    ("谢谢你", "thank", "不客气"),
    ("你是机器人吗", "bot_challenge", "自动回复"),
    ("我要找人工客服", "human_handoff", "工作人员"),
    ("今天天气怎么样", "out_of_scope", "帮不上"),
    ("订阅科普活动提醒", "subscribe", "已为您订阅"),
    ("取消订阅", "unsubscribe", "订阅"),
])
def test_each_conversation_intent_has_a_sensible_reply(stack, text, intent, must_contain):
    data = stack.ask(text, user=f"o_intent_{intent}")
    assert data["intent"]["name"] == intent
    assert must_contain in data["reply"]


@pytest.mark.parametrize("text, intent", [
    ("这周末有什么科普活动", "ask_event"),
    ("青少年科技创新大赛怎么报名", "ask_competition"),
    ("科普中国APP是什么", "ask_platform"),
])
def test_knowledge_intents_answer_from_the_knowledge_base_or_say_so(stack, text, intent):
    data = stack.ask(text, user=f"o_kb_{intent}")
    assert data["intent"]["name"] == intent
    if data["answered"]:
        assert "来源：《" in data["reply"] and data["sources"]
    else:
        assert "知识库" in data["reply"] and not data["sources"]


def test_a_figure_question_is_answered_with_the_reports_figure_and_source(stack):
    data = stack.ask("成都有多少家高校科协", user="o_kb_figure")
    assert data["intent"]["name"] == "ask_statistics"
    assert data["answered"] is True
    assert "19家" in data["reply"] and "来源：《成都市科学技术协会八大以来工作回眸》" in data["reply"]
    assert data["sources"][0]["title"] == "成都市科学技术协会八大以来工作回眸"


def test_unanswerable_question_is_logged_for_staff(stack):
    question = "2030年青少年科技创新大赛的报名费是多少钱"
    data = stack.ask(question, user="o_unanswered")
    assert data["answered"] is False
    resp = httpx.get(f"{stack.bot_url}/api/unanswered",
                     headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=5)
    assert question in [q["text"] for q in resp.json()["questions"]]


def test_message_log_keeps_question_and_reply(stack):
    post_text(stack, "科普中国APP是什么", user="o_logged")
    resp = httpx.get(f"{stack.bot_url}/api/messages", params={"user": "o_logged"},
                     headers={"Authorization": f"Bearer {stack.api_token}"}, timeout=5)
    messages = resp.json()["messages"]
    assert [m["direction"] for m in messages] == ["in", "out"]
    assert messages[0]["text"] == "科普中国APP是什么"
    assert messages[1]["intent"] == "ask_platform"


def test_rasa_channel_returns_the_reply_and_what_rasa_understood(stack):
    """bot/rasa_channel.py: one request per turn gives the messages and the parse result,
    and the parse it hands to Rasa is the one the conversation records."""
    url = f"{stack.rasa_url}/webhooks/kexie/webhook"
    resp = httpx.post(url, json={"sender": "o_channel", "message": "成都有多少家高校科协"}, timeout=15)
    assert resp.status_code == 200
    body = resp.json()
    assert any("19家" in m.get("text", "") for m in body["messages"])
    assert [m["custom"]["answered"] for m in body["messages"] if "custom" in m] == [True]
    assert body["parse"]["intent"]["name"] == "ask_statistics" and body["parse"]["intent"]["confidence"] > 0.5
    assert {"entity": "region", "value": "成都"}.items() <= body["parse"]["entities"][0].items()
    tracker = httpx.get(f"{stack.rasa_url}/conversations/o_channel/tracker", timeout=10).json()
    assert tracker["latest_message"]["intent"] == body["parse"]["intent"]
    assert [e["event"] for e in tracker["events"]].count("user") == 1  # parsed once, recorded once
    for bad in ({"message": "你好"}, {"sender": "o_channel"}, {"sender": "", "message": "你好"}):
        assert httpx.post(url, json=bad, timeout=10).status_code == 400
