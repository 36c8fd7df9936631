"""Per-citizen rate limit: a window per openid, in-process or in Redis.

A person typing sends a few messages a minute; a script replaying a user's
session, or a stuck client, sends hundreds. Past the limit the bot answers
politely from memory instead of asking Rasa, so one openid cannot take the
assistant away from everyone else. WeChat's retries of one message are not
counted (the caller checks only the first arrival of a message).
"""
from __future__ import annotations

import logging
import time
from typing import Any

log = logging.getLogger("bot.ratelimit")


def parse_limit(value: str | None, default: tuple[int, int] = (20, 60)) -> tuple[int, int]:
    """"20/60" -> 20 messages per 60 seconds; "0" turns the limit off."""
    if value is None or not value.strip():
        return default
    count, _, window = value.strip().partition("/")
    try:
        return int(count), int(window or default[1])
    except ValueError:
        raise ValueError(f"BOT_RATE_LIMIT must look like 20/60, not {value!r}") from None


class InProcessRateLimiter:
    """A window per openid that starts with its first message (not at the top of the minute)."""

    def __init__(self, limit: int, window: int) -> None:
        self.limit, self.window = limit, max(1, window)
        self._windows: dict[str, tuple[float, int]] = {}  # openid -> (window start, count)

    async def allow(self, user: str) -> bool:
        if self.limit <= 0:
            return True
        now = time.monotonic()
        if len(self._windows) > 10000:
            self._windows = {u: w for u, w in self._windows.items() if now - w[0] < self.window}
        start, count = self._windows.get(user, (now, 0))
        if now - start >= self.window:
            start, count = now, 0
        self._windows[user] = (start, count + 1)
        return count + 1 <= self.limit

    async def aclose(self) -> None:
        self._windows.clear()


class RedisRateLimiter:
    """The same window shared by every bot process."""

    def __init__(self, url: str, limit: int, window: int, prefix: str = "kexie") -> None:
        import redis.asyncio as aioredis

        self.redis = aioredis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self.limit, self.window = limit, max(1, window)
        self.prefix = f"{prefix}:rl"
        self.fallback = InProcessRateLimiter(limit, window)

    async def allow(self, user: str) -> bool:
        from redis.exceptions import RedisError

        if self.limit <= 0:
            return True
        key = f"{self.prefix}:{user}"
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(key, 0, ex=self.window, nx=True)  # the window starts with the first message
                pipe.incr(key)  # INCR keeps the key's expiry
                _, n = await pipe.execute()
        except RedisError as exc:
            log.warning("Redis unavailable for the rate limit (%s); counting in this process", exc)
            return await self.fallback.allow(user)
        return int(n) <= self.limit

    async def aclose(self) -> None:
        await self.redis.close()


def make_limiter(settings: Any) -> InProcessRateLimiter | RedisRateLimiter:
    limit, window = settings.rate_limit, settings.rate_window
    if settings.redis_url:
        return RedisRateLimiter(settings.redis_url, limit, window, prefix=settings.redis_prefix)
    return InProcessRateLimiter(limit, window)
