"""Event reminders: subscribe and unsubscribe, confirmed in plain words."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions._kb import kb_session
from kb import subscriptions

TOPIC_WORDS = {"竞赛": ("赛", "比赛", "竞赛"), "科普活动": ("科普", "活动", "讲座")}


def topics_of(tracker: Tracker) -> list[str]:
    text = tracker.latest_message.get("text") or ""
    topics = [topic for topic, words in TOPIC_WORDS.items() if any(w in text for w in words)]
    topics += [e["value"] for e in tracker.latest_message.get("entities", []) if e.get("entity") == "region"]
    return topics


class ActionSubscribe(Action):
    def name(self) -> str:
        return "action_subscribe"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        topics = topics_of(tracker)
        with kb_session() as session:
            sub = subscriptions.subscribe(session, tracker.sender_id, topics)
            what = "、".join(sub.topics) if sub.topics else "全部科普活动和竞赛"
        dispatcher.utter_message(text=f"订阅成功！有{what}的新活动时，我会在开始前提醒您。发送“取消订阅”可随时退订。")
        return []


class ActionUnsubscribe(Action):
    def name(self) -> str:
        return "action_unsubscribe"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        with kb_session() as session:
            was_active = subscriptions.pause(session, tracker.sender_id)
        if was_active:
            dispatcher.utter_message(text="已取消订阅，之后不会再给您发活动提醒。想恢复时发送“订阅活动提醒”即可。")
        else:
            dispatcher.utter_message(text="您目前没有订阅活动提醒，不会收到推送。")
        return []
