"""Small helpers shared by the console's views: database calls off the event loop, form values, errors in Chinese."""
from __future__ import annotations

import re
from typing import Any, Callable, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from kb.db import session_scope

T = TypeVar("T")


async def in_db(request: Request, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run fn(session, ...) in one transaction, in a worker thread (the database calls block)."""
    url = request.app.state.settings.database_url

    def run() -> T:
        with session_scope(url) as session:
            return fn(session, *args, **kwargs)
    return await run_in_threadpool(run)


def form_text(request: Request, name: str) -> str:
    value = request.state.form.get(name)
    return value if isinstance(value, str) else ""


def int_param(value: Any, default: int = 1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


_PATTERNS = [
    (re.compile(r"^'?(\w+)'? is required$"), "{label}不能为空"),
    (re.compile(r"^(\w+) is longer than (\d+) characters$"), "{label}不能超过 {1} 个字符"),
    (re.compile(r"^(\w+): not a date: (.*)$"), "{label}不是有效日期（例如 2024-02）"),
    (re.compile(r"^published_at: (.*)$"), "发布日期不是有效日期（例如 2024-02）"),
    (re.compile(r"^title and text are required$"), "标题和正文都不能为空"),
    (re.compile(r"^question and answer are required$"), "问题和回答都不能为空"),
    (re.compile(r"^synonym (.+) already exists$"), "同义词 {0} 已经存在"),
]


def field_error(message: str, labels: dict[str, str]) -> tuple[str | None, str]:
    """The field an error is about (to show it next to that field) and the message in Chinese."""
    for pattern, template in _PATTERNS:
        m = pattern.match(message)
        if m:
            groups = m.groups()
            name = groups[0] if groups and groups[0] in labels else None
            label = labels.get(name or "", "")
            return name, template.format(*groups, label=label)
    m = re.match(r"^(\w+)[: ]", message)
    name = m.group(1) if m and m.group(1) in labels else None
    return name, message
