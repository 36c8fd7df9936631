"""The one place actions get a database session from."""
from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

from sqlalchemy.orm import Session

from bot.config import load_settings
from kb.db import session_scope


@lru_cache(maxsize=1)
def database_url() -> str:
    return load_settings(generate_secrets=False).database_url


@contextmanager
def kb_session() -> Iterator[Session]:
    with session_scope(database_url()) as session:
        yield session
