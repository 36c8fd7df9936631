"""Greeting and hand-over to staff, with the texts staff set in the console."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions._kb import kb_session
from bot import texts
from kb.answer import handoff_text


class ActionGreet(Action):
    def name(self) -> str:
        return "action_greet"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        with kb_session() as session:
            dispatcher.utter_message(text=texts.welcome(session))
        return []


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        with kb_session() as session:
            dispatcher.utter_message(text=handoff_text(session))
        return []
