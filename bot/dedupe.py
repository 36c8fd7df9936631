"""WeChat retries: the same message is worked on once, and its answer kept for the retries.

WeChat waits 5 s for an answer, then sends the same message again, three
attempts in all; attempts can also arrive at the same moment, on different
bot processes. So, per message key:

- every arrival is counted (`attempt`: 1, 2, 3), and the first one *claims*
  the work; only the claimant asks Rasa;
- the finished reply is stored, and every arrival waits for it within its
  own budget (a retry after a slow first attempt gets the answer at once);
- the last attempt, when it had to give up waiting, *hands the reply off* to
  customer-service delivery, and `once()` makes sure each delivery happens
  exactly once, whichever process finishes first.

In-process by default; through Redis when REDIS_URL is set, so several bot
processes (several uvicorn workers) agree: a claim is a `SET NX`, the reply
a key that a waiting process polls. If Redis fails mid-flight, the process
falls back to its own memory for that message and says so in the log.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from bot.protocol import Incoming

log = logging.getLogger("bot.dedupe")

KEEP_SECONDS = 300.0  # three attempts span ~15 s; a slow answer may still be handed off later
POLL_SECONDS = 0.05


def message_key(msg: Incoming) -> str:
    """MsgId for messages; sender + time + event + key for events, which have no MsgId."""
    if msg.msg_id:
        return f"msg:{msg.msg_id}"
    if msg.is_event:
        return f"evt:{msg.source}:{msg.create_time}:{msg.event}:{msg.event_key}"
    return f"msg:{msg.source}:{msg.create_time}:{msg.kind}"


@dataclass(frozen=True)
class Reply:
    """What the work produced: a text, or None when there is nothing to say ("success")."""

    text: str | None

    def dumps(self) -> str:
        return json.dumps({"text": self.text}, ensure_ascii=False)

    @classmethod
    def loads(cls, raw: str | bytes) -> "Reply":
        return cls(json.loads(raw).get("text"))


@dataclass(frozen=True)
class Arrival:
    attempt: int  # 1 for the first arrival of this message, 2 and 3 for WeChat's retries
    owner: bool  # this arrival claimed the work


@dataclass
class _Entry:
    created: float = field(default_factory=time.monotonic)
    attempts: int = 0
    reply: Reply | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)
    handed_off: bool = False
    once: set[str] = field(default_factory=set)


class InProcessDedupe:
    """One process: a dict of entries, an asyncio.Event per message."""

    def __init__(self, keep_seconds: float = KEEP_SECONDS) -> None:
        self.keep = keep_seconds
        self._entries: dict[str, _Entry] = {}
        self._swept = time.monotonic()

    def _entry(self, key: str) -> _Entry:
        now = time.monotonic()
        if now - self._swept > 10.0:  # forget messages WeChat will not retry any more
            self._swept = now
            for k in [k for k, e in self._entries.items() if now - e.created > self.keep]:
                del self._entries[k]
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry()
        return entry

    async def arrive(self, key: str) -> Arrival:
        entry = self._entry(key)
        entry.attempts += 1
        return Arrival(entry.attempts, entry.attempts == 1)

    async def store(self, key: str, reply: Reply) -> None:
        entry = self._entry(key)
        entry.reply = reply
        entry.done.set()

    async def peek(self, key: str) -> Reply | None:
        entry = self._entries.get(key)
        return entry.reply if entry else None

    async def wait(self, key: str, timeout: float) -> Reply | None:
        entry = self._entry(key)
        if entry.reply is None and timeout > 0:
            try:
                await asyncio.wait_for(entry.done.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        return entry.reply

    async def hand_off(self, key: str) -> None:
        self._entry(key).handed_off = True

    async def handed_off(self, key: str) -> bool:
        entry = self._entries.get(key)
        return bool(entry and entry.handed_off)

    async def once(self, key: str, what: str) -> bool:
        entry = self._entry(key)
        if what in entry.once:
            return False
        entry.once.add(what)
        return True

    async def aclose(self) -> None:
        self._entries.clear()


class RedisDedupe:
    """Several processes: claims, counts and replies in Redis under one key prefix."""

    def __init__(self, url: str, prefix: str = "kexie", keep_seconds: float = KEEP_SECONDS) -> None:
        import redis.asyncio as aioredis

        self.redis = aioredis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self.prefix = f"{prefix}:wx"
        self.ttl = int(keep_seconds)
        self.fallback = InProcessDedupe(keep_seconds)

    def _k(self, key: str, part: str) -> str:
        return f"{self.prefix}:{key}:{part}"

    def _fail(self, what: str, exc: Exception) -> None:
        log.warning("Redis unavailable for %s (%s); this process decides on its own", what, exc)

    async def arrive(self, key: str) -> Arrival:
        from redis.exceptions import RedisError

        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(self._k(key, "n"))
                pipe.expire(self._k(key, "n"), self.ttl)
                pipe.set(self._k(key, "claim"), str(time.time()), nx=True, ex=self.ttl)
                attempt, _, claimed = await pipe.execute()
            return Arrival(int(attempt), bool(claimed))
        except RedisError as exc:
            self._fail("a retry check", exc)
            return await self.fallback.arrive(key)

    async def store(self, key: str, reply: Reply) -> None:
        from redis.exceptions import RedisError

        await self.fallback.store(key, reply)  # this process's waiters need not poll
        try:
            await self.redis.set(self._k(key, "reply"), reply.dumps(), ex=self.ttl)
        except RedisError as exc:
            self._fail("storing a reply", exc)

    async def peek(self, key: str) -> Reply | None:
        from redis.exceptions import RedisError

        local = await self.fallback.peek(key)
        if local is not None:
            return local
        try:
            raw = await self.redis.get(self._k(key, "reply"))
        except RedisError as exc:
            self._fail("reading a reply", exc)
            return None
        return Reply.loads(raw) if raw is not None else None

    async def wait(self, key: str, timeout: float) -> Reply | None:
        """The reply, as soon as there is one, or None at `timeout`.

        A reply made by this process (the usual case: the attempt that claimed the
        message) wakes the wait at once through the in-process event; one made by
        another process is seen in Redis, which is polled every POLL_SECONDS.
        """
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            reply = await self.peek(key)
            left = deadline - time.monotonic()
            if reply is not None or left <= 0:
                return reply
            reply = await self.fallback.wait(key, min(POLL_SECONDS, left))
            if reply is not None:
                return reply

    async def hand_off(self, key: str) -> None:
        from redis.exceptions import RedisError

        await self.fallback.hand_off(key)
        try:
            await self.redis.set(self._k(key, "handoff"), "1", ex=self.ttl)
        except RedisError as exc:
            self._fail("a hand-off", exc)

    async def handed_off(self, key: str) -> bool:
        from redis.exceptions import RedisError

        if await self.fallback.handed_off(key):
            return True
        try:
            return bool(await self.redis.exists(self._k(key, "handoff")))
        except RedisError as exc:
            self._fail("a hand-off check", exc)
            return False

    async def once(self, key: str, what: str) -> bool:
        from redis.exceptions import RedisError

        try:
            return bool(await self.redis.set(self._k(key, f"once:{what}"), "1", nx=True, ex=self.ttl))
        except RedisError as exc:
            self._fail("a delivery guard", exc)
            return await self.fallback.once(key, what)

    async def aclose(self) -> None:
        await self.redis.close()
        await self.fallback.aclose()


def make_dedupe(settings: Any) -> InProcessDedupe | RedisDedupe:
    if settings.redis_url:
        return RedisDedupe(settings.redis_url, prefix=getattr(settings, "redis_prefix", "kexie"))
    return InProcessDedupe()
