"""The one place actions get their settings and a database session from."""
from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

from sqlalchemy.orm import Session

from bot.config import Settings, load_settings
from kb.db import session_scope


@lru_cache(maxsize=1)
def settings() -> Settings:
    """Read once, when the action server first needs it."""
    return load_settings(generate_secrets=False)


def database_url() -> str:
    return settings().database_url


@contextmanager
def kb_session() -> Iterator[Session]:
    with session_scope(database_url()) as session:
        yield session


def warm_up_in_background() -> None:
    """Build the search index and load jieba while the action server starts, not on the first
    question; then rebuild it (and the names the actions read) soon after staff change the
    knowledge base (KB_REFRESH_SECONDS), not on the first question after the change."""
    from kb.answer import keep_warm_in_background, warm_up_in_background as start
    from kb.dialogue_support import cached_names

    start(database_url(), "actions")
    if settings().kb_refresh > 0:
        keep_warm_in_background(database_url(), "actions", settings().kb_refresh, also=(cached_names,))
