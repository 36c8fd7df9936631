"""Answers from the knowledge base: questions, follow-ups, "which city?", low-confidence messages.

Every path ends in `answer_question`: the question (the citizen's text, or
the previous question rewritten by a follow-up), the intent, and the places
the citizen named go to kb/ (kb.dialogue_support around kb.answer), and the
question is remembered in `last_question` so that "那成都呢" or "那去年呢" can
ask it again.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions._kb import kb_session, settings
from kb import answer as kb_answer
from kb import dialogue_support as support
from kb.extract import our_city

# Questions about a figure ("有多少", "几家", "比例") differ by place; the others
# (how to register, when is 全国科普日) do not.
FIGURE_WORDS = re.compile(r"(多少|几[个家场次项人名条所届位篇支座期批]|数量|总数|总量|人数|比例|占比|规模|排名|排第几)")
# What is left of "那成都呢" / "换成2022年再查一下" when the names are taken out.
_FOLLOW_UP_FILLER = re.compile(
    r"(同样的问题|同样|换个地方|换成|换到|换|如果是|如果|要是|再查一下|再查|查一下|查下|再看看|看看|看一下|也看看|"
    r"也说说|说说|情况|怎么样|咋样|如何|怎样|这边|那边|那块|那里|那儿|的数据|数据|也要|有吗|有没有|全省|全市|我们|"
    r"那|呢|的|吧|啊|呀|嘞|咧|哦|么|吗|嘛|了|也|再|呐|捏)"
)
_NOT_WORDS = re.compile(r"[\W_]+")
FOLLOW_UP_KINDS = ("region", "time", "event", "platform")


def entity_values(tracker: Tracker, name: str) -> list[str]:
    out: list[str] = []
    for e in tracker.latest_message.get("entities", []):
        if e.get("entity") == name and e.get("value") and e["value"] not in out:
            out.append(str(e["value"]))
    return out


def is_bare_follow_up(text: str, entities: list[dict[str, Any]]) -> bool:
    """True for "成都", "那去年呢", "换成绵阳看看": a place or a time and filler, nothing of a
    question of its own. (A bare "天府科技云" is a question about the platform, not a follow-up.)"""
    spans = [(e["start"], e["end"]) for e in entities
             if e.get("entity") in ("region", "time") and "start" in e and "end" in e]
    others = [e for e in entities if e.get("entity") not in ("region", "time")]
    if not spans or others:
        return False
    rest = "".join(ch for i, ch in enumerate(text) if not any(s <= i < e for s, e in spans))
    rest = _NOT_WORDS.sub("", _FOLLOW_UP_FILLER.sub("", rest))
    return len(rest) <= 1


def today() -> date:
    return datetime.now(ZoneInfo(settings().tz)).date()


def needs_region(intent: str, question: str, names: support.Names) -> bool:
    """A figure question about no particular event: "注册科技工作者有多少人" differs by place,
    "第二届科创会遴选了多少个项目" is about one event and has one answer."""
    if names.mentions("event", question):
        return False
    return intent == "ask_statistics" or bool(FIGURE_WORDS.search(question))


def _say(dispatcher: CollectingDispatcher, result: kb_answer.Answer) -> None:
    dispatcher.utter_message(text=result.reply, json_message=result.payload())


def answer_question(dispatcher: CollectingDispatcher, tracker: Tracker, question: str, intent: str,
                    regions: list[str] | None = None) -> list[dict[str, Any]]:
    """Answer from the knowledge base, or ask which city when the places' figures differ."""
    resolved = our_city(question)
    if resolved != question:  # "我在郫都，咱们市…": the question is about 成都, not 郫都
        question, regions = resolved.strip(), None
    remember = [SlotSet("last_question", question), SlotSet("last_intent", intent)]
    with kb_session() as session:
        names = support.cached_names(session)
        asked = list(regions or []) or names.regions_in(question)
        if not asked and needs_region(intent, question, names):
            places = support.regions_answering(session, question, names)
            if len(places) >= 2:
                dispatcher.utter_message(text=support.which_region_reply(places),
                                         json_message={"answered": True, "sources": [], "clarify": places})
                return remember
        result = support.answer_for_region(session, question, asked, names, openid=tracker.sender_id,
                                           intent=intent)
    _say(dispatcher, result)
    return remember


def follow_up(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    """The previous question, asked again with the new place, year or name of this message."""
    previous = tracker.get_slot("last_question")
    text = tracker.latest_message.get("text") or ""
    new = {kind: entity_values(tracker, kind) for kind in FOLLOW_UP_KINDS}
    if not any(new.values()):
        # "还有呢", "那个呢": nothing to put into the last question; search what was written
        return answer_question(dispatcher, tracker, text, "follow_up")
    if not previous:
        what = "、".join(v for values in new.values() for v in values)
        dispatcher.utter_message(
            text=f"您想了解{what}的什么呢？比如科普活动、竞赛、天府科技云等平台，或者工作报告里的数据，直接问我就行。",
            json_message={"answered": True, "sources": []})
        return []
    with kb_session() as session:
        names = support.cached_names(session)
    question = support.rewrite_question(previous, names, regions=new["region"], times=new["time"],
                                        events=new["event"], platforms=new["platform"], today=today())
    return answer_question(dispatcher, tracker, question, tracker.get_slot("last_intent") or "follow_up",
                           regions=new["region"])


class ActionAnswer(Action):
    """ask_event, ask_competition, ask_platform, ask_statistics."""

    def name(self) -> str:
        return "action_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        if tracker.get_slot("last_question") and is_bare_follow_up(text, tracker.latest_message.get("entities", [])):
            return follow_up(dispatcher, tracker)  # "成都" after "which city?", read as a question
        intent = (tracker.latest_message.get("intent") or {}).get("name") or ""
        return answer_question(dispatcher, tracker, text, intent, regions=entity_values(tracker, "region"))


class ActionFollowUp(Action):
    def name(self) -> str:
        return "action_follow_up"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        return follow_up(dispatcher, tracker)


class ActionFallback(Action):
    """NLU was unsure: the knowledge base may still hold the answer, and says so if not."""

    def name(self) -> str:
        return "action_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        if tracker.get_slot("last_question") and is_bare_follow_up(text, tracker.latest_message.get("entities", [])):
            return follow_up(dispatcher, tracker)
        return answer_question(dispatcher, tracker, text, "nlu_fallback", regions=entity_values(tracker, "region"))
