"""Event reminders: subscribe and unsubscribe, confirmed in plain words.

A subscription's topics are event kinds (科普活动, 竞赛, 会议) and places, as
kb.subscriptions understands them; the confirmation says exactly what the
citizen now follows.
"""
from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions._kb import kb_session
from kb import subscriptions

# kind -> what in a message (or in an event's name) says it
KIND_WORDS = {
    "竞赛": re.compile(r"赛|杯"),
    "会议": re.compile(r"会议|大会|年会|论坛|科创会"),
    "科普活动": re.compile(r"科普|讲座|展览|科技周|活动周|夏令营|研学"),
}


# Subscribing someone who wrote "取消" (or the reverse) changes the database against their
# words; the classifier can confuse the two, so the actions check the words themselves.
STOP_WORDS = re.compile(
    r"取消|退订|退掉|退了|退出|能退|退吗|关闭|关掉|关了|关上|不要再|不要了|不要推|不要发|不用|不需要|不再|不订|"
    r"别再|别给|别推|别发|别提醒|别通知|不想再|不想收|不想要|不想订|停止|停掉|停了|停一下|暂停|撤销|撤了|删掉|删了|删除|"
    r"\bTD\b|unsub", re.IGNORECASE)
START_WORDS = re.compile(r"开通|打开|开启|开一下|开个|订上|订一个|帮我订|提醒我|通知我|告诉我|推给我", re.IGNORECASE)


def wants_to_stop(text: str) -> bool:
    return bool(STOP_WORDS.search(text))


def wants_to_start(text: str) -> bool:
    return not wants_to_stop(text) and bool(START_WORDS.search(text))


def kinds_in(text: str) -> list[str]:
    """The kinds a text names. "活动" alone names none: it means every kind."""
    return [kind for kind, words in KIND_WORDS.items() if words.search(text)]


def topics_of(tracker: Tracker) -> list[str]:
    """Kinds from the words and the event names of the message, places from its region entities."""
    text = tracker.latest_message.get("text") or ""
    entities = tracker.latest_message.get("entities", [])
    events = [str(e["value"]) for e in entities if e.get("entity") == "event"]
    text_without_events = text
    for e in entities:
        if e.get("entity") == "event":
            text_without_events = text_without_events.replace(text[e["start"]:e["end"]], " ")
    kinds = kinds_in(text_without_events)
    for event in events:  # 大禹杯 -> 竞赛, 全国科普日 -> 科普活动, 天府科技云服务大会 -> 会议
        kind = (kinds_in(event) or ["科普活动"])[0]
        if kind not in kinds:
            kinds.append(kind)
    regions = [str(e["value"]) for e in entities if e.get("entity") == "region"]
    return list(dict.fromkeys(kinds + regions))


def subscribed_reply(topics: list[str]) -> str:
    return (f"好的，已为您订阅{subscriptions.describe(topics)}提醒。有新的安排时，我会在开始前通知您。"
            "想退订时回复“取消订阅”就行。")


def subscribe(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    with kb_session() as session:
        sub = subscriptions.subscribe(session, tracker.sender_id, topics_of(tracker))
        topics = list(sub.topics or [])
    dispatcher.utter_message(text=subscribed_reply(topics), json_message={"answered": True, "sources": []})
    return []


def unsubscribe(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    with kb_session() as session:
        was_active = subscriptions.pause(session, tracker.sender_id)
    if was_active:
        text = "已为您取消全部活动提醒，之后不会再给您推送。想恢复时回复“订阅活动提醒”就行。"
    else:
        text = "您目前没有订阅活动提醒，不会收到推送。想订阅时回复“订阅活动提醒”就行。"
    dispatcher.utter_message(text=text, json_message={"answered": True, "sources": []})
    return []


class ActionSubscribe(Action):
    def name(self) -> str:
        return "action_subscribe"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        if wants_to_stop(tracker.latest_message.get("text") or ""):
            return unsubscribe(dispatcher, tracker)
        return subscribe(dispatcher, tracker)


class ActionUnsubscribe(Action):
    def name(self) -> str:
        return "action_unsubscribe"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        if wants_to_start(tracker.latest_message.get("text") or ""):
            return subscribe(dispatcher, tracker)
        return unsubscribe(dispatcher, tracker)
