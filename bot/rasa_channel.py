"""The Rasa input channel the bot talks to: Rasa's REST channel, plus what Rasa understood.

Rasa's REST channel (`/webhooks/rest/webhook`) answers a message with the bot's
messages only. The bot also needs the turn's intent and entities (for the
message log, `/api/ask`, the staff console), which used to cost a second
request per message (`GET /conversations/<id>/tracker`: the tracker read from
the tracker store again and serialised).

This channel (`/webhooks/kexie/webhook`, registered in credentials.yml) parses
the message with the model first, hands the parse result to Rasa with the
message (`UserMessage.parse_data`, which Rasa then uses instead of parsing
again), and answers `{"messages": [...], "parse": {...}}` in one response. The
dialogue itself is Rasa's own: rules, slots, custom actions, tracker store
and lock store, exactly as for the REST channel.

It runs inside the Rasa server process (Rasa imports it by module path).
"""
from __future__ import annotations

import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

log = logging.getLogger(__name__)

PARSE_KEYS = ("text", "intent", "entities", "intent_ranking")


class ParseReportingInput(RestInput):
    """POST {"sender", "message", "metadata"?} -> {"messages": [...], "parse": {...}}."""

    @classmethod
    def name(cls) -> str:
        return "kexie"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("kexie_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else {}
            sender, text = body.get("sender"), body.get("message")
            if not isinstance(sender, str) or not sender or not isinstance(text, str):
                return response.json({"error": "need a non-empty 'sender' and a 'message' string"}, status=400)
            agent = request.app.ctx.agent
            if agent is None or not agent.is_ready():
                return response.json({"error": "no model loaded"}, status=503)
            parse = await agent.parse_message(text)
            collector = CollectingOutputChannel()
            message = UserMessage(text, collector, sender, parse_data=parse, input_channel=self.name(),
                                  metadata=body.get("metadata"))
            try:
                await on_new_message(message)
            except CancelledError:
                log.error("Rasa timed out on a message of %s", sender)
            except Exception:  # as the REST channel: the bot sees no messages and answers without Rasa
                log.exception("Rasa failed on a message of %s", sender)
            return response.json({"messages": collector.messages,
                                  "parse": {k: parse.get(k) for k in PARSE_KEYS}})

        return webhook
