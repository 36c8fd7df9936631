"""One turn of conversation with Rasa, for one citizen (one openid = one Rasa conversation).

The bot speaks to Rasa over HTTP, one request per turn: the channel of
bot/rasa_channel.py (`/webhooks/kexie/webhook`) runs the dialogue (rules,
custom actions, the knowledge base) and returns the messages together with
the intent and entities Rasa understood. The actions attach a small JSON
payload (`answered`, `sources`) to what they say, which this module folds into
one reply.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Turn:
    reply: str
    intent: dict[str, Any] = field(default_factory=lambda: {"name": None, "confidence": 0.0})
    entities: list[dict[str, Any]] = field(default_factory=list)
    answered: bool = True
    sources: list[dict[str, Any]] = field(default_factory=list)
    degraded: bool = False  # answered without Rasa

    def as_json(self) -> dict[str, Any]:
        return {"reply": self.reply, "intent": self.intent, "entities": self.entities,
                "answered": self.answered, "sources": self.sources}


WEBHOOK = "/webhooks/kexie/webhook"  # bot/rasa_channel.py, registered in credentials.yml


class RasaError(Exception):
    """Rasa or its action server did not give a usable answer: the knowledge base answers instead."""


class RasaTookTooLong(RasaError):
    """A replica took the message and did not answer in time. It may still act on it
    (a subscription, the unanswered queue), so neither another replica nor the knowledge
    base may handle the same message again: the citizen is asked to send it later."""


class RasaClient:
    """Rasa over HTTP, spread over one or more replicas.

    Replicas share their conversations (SQLTrackerStore + RedisLockStore in
    production), so each turn may go to any of them: turns rotate over the
    replicas, and a replica that cannot be reached (nothing was sent) is skipped for the
    next one; a replica that took the message keeps it (`RasaTookTooLong`).
    """

    def __init__(self, base_urls: str | list[str] | tuple[str, ...], timeout: float = 10.0) -> None:
        urls = [base_urls] if isinstance(base_urls, str) else list(base_urls)
        self.base_urls = [u.rstrip("/") for u in urls]
        self.clients = [httpx.AsyncClient(base_url=u, timeout=timeout) for u in self.base_urls]
        self._next = 0

    @property
    def base_url(self) -> str:
        return self.base_urls[0]

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()

    def _rotation(self) -> list[httpx.AsyncClient]:
        start = self._next
        self._next = (self._next + 1) % len(self.clients)
        return self.clients[start:] + self.clients[:start]

    async def converse(self, sender: str, text: str) -> Turn:
        last_error: Exception | None = None
        for http in self._rotation():
            try:
                resp = await http.post(WEBHOOK, json={"sender": sender, "message": text})
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                last_error = exc  # nothing was sent: the next replica takes the turn
                continue
            except httpx.TransportError as exc:
                # the replica has the message and may still act on it (subscribe, the unanswered
                # queue): giving it to another replica, or to the knowledge base, would run it twice
                raise RasaTookTooLong(f"{type(exc).__name__} from {http.base_url}") from exc
            try:
                resp.raise_for_status()
                body = resp.json()
                return fold(body["messages"], body.get("parse") or {})
            except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                raise RasaError(str(exc)) from exc
        raise RasaError(f"no Rasa replica answered: {last_error}")

    async def ready(self) -> bool:
        """True when every replica has a model loaded."""
        for http in self.clients:
            try:
                resp = await http.get("/status", timeout=2.0)
                if resp.status_code != 200 or not resp.json().get("model_file"):
                    return False
            except (httpx.HTTPError, ValueError):
                return False
        return True


def fold(messages: list[dict[str, Any]], latest: dict[str, Any]) -> Turn:
    """Rasa's list of bot messages and the turn's parse result -> one reply."""
    texts: list[str] = []
    answered = True
    sources: list[dict[str, Any]] = []
    for msg in messages:
        if msg.get("text"):
            texts.append(msg["text"])
        custom = msg.get("custom")
        if isinstance(custom, dict):
            if custom.get("answered") is False:
                answered = False
            sources.extend(custom.get("sources") or [])
    intent = latest.get("intent") or {}
    entities = [
        {k: e.get(k) for k in ("entity", "value", "start", "end", "extractor") if k in e}
        for e in latest.get("entities") or []
    ]
    if not texts:
        raise RasaError("Rasa returned no text")
    return Turn(
        reply="\n".join(texts),
        intent={"name": intent.get("name"), "confidence": float(intent.get("confidence") or 0.0)},
        entities=entities,
        answered=answered,
        sources=sources,
    )
