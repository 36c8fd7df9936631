"""Answering a citizen's text: Rasa first, the knowledge base directly when Rasa is down.

Shared by the WeChat endpoint and `/api/ask`, so both give the same answer,
and every exchange lands in the message log the same way.
"""
from __future__ import annotations

import logging
import time

from starlette.concurrency import run_in_threadpool

from bot import texts
from bot.dialogue import RasaClient, RasaError, RasaTookTooLong, Turn
from kb import answer as kb_answer
from kb.conversations import log_exchange
from kb.db import session_scope

log = logging.getLogger("bot.responder")


class Responder:
    def __init__(self, database_url: str, rasa: RasaClient) -> None:
        self.database_url = database_url
        self.rasa = rasa

    async def respond(self, openid: str, text: str, *, msg_type: str = "text",
                      msg_id: str | None = None) -> Turn:
        started = time.perf_counter()
        try:
            turn = await self.rasa.converse(openid, text)
        except RasaTookTooLong as exc:  # Rasa has the message: answering it here too would run it twice
            log.warning("Rasa took too long (%s); asking the citizen to send it again", exc)
            turn = Turn(reply=texts.TOO_SLOW, answered=False, intent={"name": "too_slow", "confidence": 0.0})
        except RasaError as exc:
            log.warning("Rasa unavailable (%s); answering from the knowledge base directly", exc)
            turn = await run_in_threadpool(self._answer_directly, openid, text)
        latency = int((time.perf_counter() - started) * 1000)
        await run_in_threadpool(self._log, openid, msg_type, text, turn, latency, msg_id)
        return turn

    def _answer_directly(self, openid: str, text: str) -> Turn:
        with session_scope(self.database_url) as session:
            result = kb_answer.answer(session, text, openid=openid)
            return Turn(reply=result.reply, answered=result.answered, sources=result.sources,
                        intent={"name": None, "confidence": 0.0}, degraded=True)

    def _log(self, openid: str, msg_type: str, text: str, turn: Turn, latency: int,
             msg_id: str | None) -> None:
        try:
            with session_scope(self.database_url) as session:
                log_exchange(session, openid=openid, msg_type=msg_type, text=text, reply=turn.reply,
                             intent=("degraded" if turn.degraded else turn.intent.get("name")),
                             answered=turn.answered, latency_ms=latency, msg_id=msg_id)
        except Exception:  # the citizen still gets the answer; the log entry is lost, loudly
            log.exception("could not write the message log")

    def log_only(self, openid: str, msg_type: str, text: str, reply: str | None,
                 msg_id: str | None = None, intent: str | None = None, latency_ms: int = 0) -> None:
        """Messages answered without Rasa (images, events, menu clicks, rate-limited ones)."""
        try:
            with session_scope(self.database_url) as session:
                log_exchange(session, openid=openid, msg_type=msg_type, text=text, reply=reply,
                             intent=intent, answered=None, latency_ms=latency_ms, msg_id=msg_id)
        except Exception:
            log.exception("could not write the message log")
