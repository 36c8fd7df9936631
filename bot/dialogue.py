"""One turn of conversation with Rasa, for one citizen (one openid = one Rasa conversation).

The bot speaks to Rasa over HTTP: the REST channel runs the dialogue (rules,
custom actions, the knowledge base) and returns the messages; the tracker gives
the intent and entities of that turn. The actions attach a small JSON payload
(`answered`, `sources`) to what they say, which this module folds into one reply.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

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


class RasaError(Exception):
    """Rasa or its action server did not give a usable answer."""


class RasaClient:
    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def converse(self, sender: str, text: str) -> Turn:
        try:
            resp = await self.http.post("/webhooks/rest/webhook", json={"sender": sender, "message": text})
            resp.raise_for_status()
            messages = resp.json()
            tracker = await self.http.get(f"/conversations/{quote(sender, safe='')}/tracker",
                                          params={"include_events": "NONE"})
            tracker.raise_for_status()
            latest = tracker.json().get("latest_message") or {}
        except (httpx.HTTPError, ValueError) as exc:
            raise RasaError(str(exc)) from exc
        return fold(messages, latest)

    async def ready(self) -> bool:
        try:
            resp = await self.http.get("/status", timeout=2.0)
            return resp.status_code == 200 and bool(resp.json().get("model_file"))
        except (httpx.HTTPError, ValueError):
            return False


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
