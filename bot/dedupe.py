"""WeChat retries: the same message is worked on once, and its answer kept for the retries.

WeChat sends a message up to three times when the first attempt is slow. A
retry may arrive while the first attempt still runs: it waits for the same
task instead of asking Rasa again; a retry after the task finished gets the
kept result.
"""
from __future__ import annotations

import asyncio
import time
from typing import Awaitable, Callable, Generic, TypeVar

T = TypeVar("T")

KEEP_SECONDS = 60.0  # WeChat's three attempts span about 15 s


def message_key(msg) -> str:  # noqa: ANN001 - a wechatpy message
    """MsgId for messages; sender + time + event + key for events, which have no MsgId."""
    msg_id = getattr(msg, "id", 0) or 0
    if msg_id:
        return f"msg:{msg_id}"
    event = getattr(msg, "event", "") or ""
    key = getattr(msg, "key", "") or ""
    return f"evt:{msg.source}:{getattr(msg, 'create_time', '')}:{event}:{key}"


class InProcessDedupe(Generic[T]):
    def __init__(self, keep_seconds: float = KEEP_SECONDS) -> None:
        self.keep = keep_seconds
        self._tasks: dict[str, tuple[float, asyncio.Task[T]]] = {}

    def _expire(self) -> None:
        now = time.monotonic()
        for key in [k for k, (t, _) in self._tasks.items() if now - t > self.keep]:
            del self._tasks[key]

    def task_for(self, key: str, work: Callable[[], Awaitable[T]]) -> tuple[asyncio.Task[T], bool]:
        """The task for this message, started now or earlier; and whether it is new."""
        self._expire()
        entry = self._tasks.get(key)
        if entry is not None:
            return entry[1], False
        task = asyncio.ensure_future(work())
        self._tasks[key] = (time.monotonic(), task)
        return task, True
