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
    """Build the search index and load jieba while the action server starts, not on the first question."""
    import logging
    import threading

    from kb.answer import warm_up

    def run() -> None:
        try:
            seconds = warm_up(database_url())
            logging.getLogger("actions").info("knowledge base index ready in %.1f s", seconds)
        except Exception as exc:  # no database yet (a test importing the actions): the first question builds it
            logging.getLogger("actions").warning("knowledge base warm-up skipped: %s", exc)

    threading.Thread(target=run, name="kb-warm-up", daemon=True).start()
