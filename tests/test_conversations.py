"""Whole conversations through the real assistant: the trained Rasa model, the action
server and the knowledge base built from the shipped reports (the `stack` fixture).

Each test talks as its own citizen (a fresh openid), so conversations do not
mix. What the previous question became is read from the Rasa tracker's
`last_question` slot: that is what a follow-up is about.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select

from kb import subscriptions
from kb.answer import answer as kb_answer
from kb.answer import handoff_text
from kb.db import session_scope, set_setting
from kb.models import Subscriber, Unanswered

from tests.conftest import Stack


def citizen() -> str:
    return f"conv-{uuid.uuid4().hex[:12]}"


def slots(stack: Stack, user: str) -> dict:
    resp = httpx.get(f"{stack.rasa_url}/conversations/{user}/tracker", params={"include_events": "NONE"}, timeout=10)
    resp.raise_for_status()
    return resp.json()["slots"]


def entities(turn: dict) -> set[tuple[str, str]]:
    return {(e["entity"], e["value"]) for e in turn["entities"]}


def titles(turn: dict) -> str:
    return " ".join(s.get("title", "") for s in turn["sources"])


def test_a_follow_up_naming_another_city_reuses_the_question(stack: Stack) -> None:
    user = citizen()
    first = stack.ask("绵阳有多少家院士工作站", user=user)
    assert first["intent"]["name"] == "ask_statistics"
    assert ("region", "绵阳") in entities(first)
    assert first["answered"] and "绵阳" in titles(first)

    second = stack.ask("那成都呢", user=user)
    assert second["intent"]["name"] == "follow_up"
    assert entities(second) == {("region", "成都")}
    assert slots(stack, user)["last_question"] == "成都有多少家院士工作站"
    assert second["answered"] and "成都" in titles(second)
    assert second["reply"] != first["reply"]

    third = stack.ask("蓉城呢", user=user)  # a synonym: the reports say 成都
    assert ("region", "成都") in entities(third)
    assert slots(stack, user)["last_question"] == "成都有多少家院士工作站"


def test_a_follow_up_naming_another_edition_reuses_the_question(stack: Stack) -> None:
    user = citizen()
    first = stack.ask("第二届科创会遴选了多少个科创项目", user=user)
    assert first["intent"]["name"] == "ask_statistics"
    assert ("event", "天府科技云服务大会") in entities(first)
    assert first["answered"] and "5740" in first["reply"]

    second = stack.ask("那第三届呢", user=user)
    assert second["intent"]["name"] == "follow_up"
    assert ("time", "第三届") in entities(second)
    assert slots(stack, user)["last_question"] == "第三届科创会遴选了多少个科创项目"
    assert "5740" not in second["reply"]


def test_a_follow_up_naming_a_relative_year_asks_for_that_year(stack: Stack) -> None:
    user = citizen()
    stack.ask("2020年济宁全国科普日开展了多少场活动", user=user)
    turn = stack.ask("那去年呢", user=user)
    last_year = datetime.now(ZoneInfo("Asia/Shanghai")).year - 1
    assert turn["intent"]["name"] == "follow_up"
    assert ("time", "去年") in entities(turn)
    assert slots(stack, user)["last_question"] == f"{last_year}年济宁全国科普日开展了多少场活动"


def test_a_figure_that_differs_by_city_gets_which_city_then_the_answer(stack: Stack) -> None:
    user = citizen()
    ask = stack.ask("公民具备科学素质的比例是多少", user=user)
    assert ask["intent"]["name"] == "ask_statistics"
    assert "哪里" in ask["reply"] and "成都" in ask["reply"] and "绵阳" in ask["reply"]
    assert not ask["sources"]  # a question back, no figure yet

    answer = stack.ask("成都", user=user)
    assert slots(stack, user)["last_question"] == "成都公民具备科学素质的比例是多少"
    assert answer["answered"] and "成都" in answer["reply"] + titles(answer)
    assert re.search(r"\d+(\.\d+)?%", answer["reply"])


def test_a_place_the_reports_do_not_cover_is_not_answered_with_another_place(stack: Stack) -> None:
    user = citizen()
    stack.ask("绵阳有多少家院士工作站", user=user)
    turn = stack.ask("那攀枝花呢", user=user)
    assert ("region", "攀枝花") in entities(turn)
    assert not turn["answered"]
    assert "3家" not in turn["reply"] or "攀枝花" in turn["reply"]  # never 绵阳's figure passed off as 攀枝花's
    with session_scope(stack.database_url) as session:
        asked = session.execute(select(Unanswered.text).where(Unanswered.openid == user)).scalars().all()
    assert "攀枝花有多少家院士工作站" in asked


# Messages unlike any training example. Which of them the model is unsure about depends on
# the training run, so each test takes those that /model/parse sends to nlu_fallback (and
# fails when there are none: the FallbackClassifier would then catch nothing of this kind).
BARE_REPORT_NAMES = ("涪江流域", "农技协", "枳壳", "反邪教", "保姆式服务", "智慧科普传播员", "两新组织", "院士恳谈会")
MUMBLES = ("呃", "这个那个", "额额额", "囧囧", "咳咳", "嗯嗯 那个东西 呃", "啊这", "这个嘛")


def unsure(stack: Stack, texts: tuple[str, ...]) -> list[str]:
    out = []
    for text in texts:
        resp = httpx.post(f"{stack.rasa_url}/model/parse", json={"text": text}, timeout=10)
        resp.raise_for_status()
        if resp.json()["intent"]["name"] == "nlu_fallback":
            out.append(text)
    return out


def test_an_unsure_intent_falls_back_to_the_knowledge_base(stack: Stack) -> None:
    """A bare name from the reports: the NLU is unsure, and the reply is the knowledge base's own."""
    texts = unsure(stack, BARE_REPORT_NAMES)
    assert texts, "no bare report name falls back"
    answered = 0
    for text in texts:
        turn = stack.ask(text, user=citizen())
        with session_scope(stack.database_url) as session:
            expected = kb_answer(session, text, record_unanswered=False)
        assert turn["intent"]["name"] == "nlu_fallback"
        assert (turn["reply"], turn["answered"]) == (expected.reply, expected.answered), text
        answered += turn["answered"] and bool(turn["sources"])
    assert answered, texts  # at least one name the reports answer


def test_an_unsure_intent_with_no_answer_says_so_and_queues_the_question(stack: Stack) -> None:
    """Searched, not "I don't understand"; the question lands in the staff's unanswered queue."""
    texts = unsure(stack, MUMBLES)
    assert texts, "no mumble falls back"
    for text in texts:
        user = citizen()
        turn = stack.ask(text, user=user)
        assert turn["intent"]["name"] == "nlu_fallback"
        assert not turn["answered"] and not turn["sources"]
        assert "知识库" in turn["reply"] and "不懂" not in turn["reply"] and "不理解" not in turn["reply"]
        with session_scope(stack.database_url) as session:
            queued = session.execute(select(Unanswered.text, Unanswered.intent)
                                     .where(Unanswered.openid == user)).all()
        assert [tuple(row) for row in queued] == [(text, "nlu_fallback")]


def test_subscribe_then_unsubscribe_changes_the_subscription(stack: Stack) -> None:
    user = citizen()
    turn = stack.ask("成都有科普讲座的话提醒我一下", user=user)
    assert turn["intent"]["name"] == "subscribe"
    assert "已为您订阅成都的科普活动提醒" in turn["reply"]
    with session_scope(stack.database_url) as session:
        assert subscriptions.is_active(session, user)
        topics = session.execute(select(Subscriber.topics).where(Subscriber.openid == user)).scalar_one()
    assert set(topics) == {"成都", "科普活动"}

    turn = stack.ask("以后有比赛也通知我", user=user)
    assert turn["intent"]["name"] == "subscribe"
    assert "竞赛" in turn["reply"] and "科普活动" in turn["reply"]

    turn = stack.ask("不想收到推送了 取消订阅吧", user=user)
    assert turn["intent"]["name"] == "unsubscribe"
    assert "取消" in turn["reply"]
    with session_scope(stack.database_url) as session:
        assert not subscriptions.is_active(session, user)

    again = stack.ask("退订", user=user)
    assert again["intent"]["name"] == "unsubscribe" and "没有订阅" in again["reply"]


def test_handoff_gives_the_contact_staff_configured(stack: Stack) -> None:
    with session_scope(stack.database_url) as session:
        before = handoff_text(session)
    assert stack.ask("转人工", user=citizen())["reply"] == before

    configured = "工作日9:00-17:00请留言，科普部工作人员会在一个工作日内回复您。"
    with session_scope(stack.database_url) as session:
        set_setting(session, "handoff_text", configured)
    try:
        turn = stack.ask("我想跟工作人员说话", user=citizen())
        assert turn["intent"]["name"] == "human_handoff"
        assert turn["reply"] == configured
    finally:
        with session_scope(stack.database_url) as session:
            set_setting(session, "handoff_text", before)


def test_small_talk_and_out_of_scope_get_their_own_replies(stack: Stack) -> None:
    user = citizen()
    assert stack.ask("你好", user=user)["intent"]["name"] == "greet"
    oos = stack.ask("明天会下雨吗", user=user)
    assert oos["intent"]["name"] == "out_of_scope" and "帮不上" in oos["reply"]
    assert stack.ask("谢谢", user=user)["intent"]["name"] == "thank"
    bot = stack.ask("你是机器人吗", user=user)
    assert bot["intent"]["name"] == "bot_challenge" and "程序" in bot["reply"]


def test_our_city_is_the_city_of_the_district_the_citizen_lives_in(stack: Stack) -> None:
    user = citizen()
    turn = stack.ask("我在温江 想问下咱们市新建了多少家高校科协", user=user)
    assert turn["answered"], turn["reply"]
    assert "19家" in turn["reply"] and "温江" not in turn["reply"]  # 成都's figure, not "no data for 温江"
    assert slots(stack, user)["last_question"].startswith("想问下成都")
