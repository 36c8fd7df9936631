"""Answers from the knowledge base: questions, follow-ups, and low-confidence messages."""
from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions._kb import kb_session
from kb import answer as kb_answer
from kb.extract import REGIONS


def _entity_values(tracker: Tracker, name: str) -> list[str]:
    return [e.get("value") for e in tracker.latest_message.get("entities", []) if e.get("entity") == name]


def _say(dispatcher: CollectingDispatcher, result: kb_answer.Answer) -> None:
    dispatcher.utter_message(text=result.reply, json_message=result.payload())


def answer_and_remember(dispatcher: CollectingDispatcher, tracker: Tracker, question: str,
                        intent: str) -> list[dict[str, Any]]:
    with kb_session() as session:
        result = kb_answer.answer(session, question, openid=tracker.sender_id, intent=intent)
    _say(dispatcher, result)
    events: list[dict[str, Any]] = [SlotSet("last_question", question), SlotSet("last_intent", intent)]
    return events


class ActionAnswer(Action):
    def name(self) -> str:
        return "action_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        return answer_and_remember(dispatcher, tracker, text, intent)


def rewrite_follow_up(previous: str, regions: list[str], times: list[str]) -> str:
    """"绵阳有多少个科普e站" + 成都 -> "成都有多少个科普e站"; a new year replaces the old one."""
    question = previous
    for new in regions:
        old = next((r for r in REGIONS if r in question), None)
        question = question.replace(old, new) if old else f"{new}{question}"
    for new in times:
        old = re.search(r"(20\d{2}年|今年|去年|前年|第[一二三四五六七八九十\d]+届)", question)
        question = question.replace(old.group(0), new) if old else f"{new}{question}"
    return question


class ActionFollowUp(Action):
    def name(self) -> str:
        return "action_follow_up"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        previous = tracker.get_slot("last_question")
        text = tracker.latest_message.get("text") or ""
        regions, times = _entity_values(tracker, "region"), _entity_values(tracker, "time")
        if not previous:
            # nothing to follow up on: treat the message as a question of its own
            return answer_and_remember(dispatcher, tracker, text, "follow_up")
        question = rewrite_follow_up(previous, regions, times) if (regions or times) else f"{previous}{text}"
        return answer_and_remember(dispatcher, tracker, question,
                                   tracker.get_slot("last_intent") or "follow_up")


class ActionFallback(Action):
    """NLU was unsure: the knowledge base may still hold the answer, and says so if not."""

    def name(self) -> str:
        return "action_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        return answer_and_remember(dispatcher, tracker, text, "nlu_fallback")
