"""Engines, sessions and migrations.

The bot, the action server, the scheduler and the CLI each open the same
database through here. Schema changes go through Alembic only, so an upgrade
of a production PostgreSQL database is the same step as a fresh SQLite file.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from kb.models import Setting

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "sqlite:///var/bot.sqlite3"


def resolve_url(url: str) -> str:
    """Relative SQLite paths are taken from the project root, not the caller's cwd."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        path = Path(parsed.database)
        if not path.is_absolute():
            path = PROJECT_ROOT / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return str(parsed.set(database=str(path)))
    return url


@lru_cache(maxsize=None)
def get_engine(url: str) -> Engine:
    url = resolve_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, future=True, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    # pre_ping: a PostgreSQL restart costs one failed request, not a bot restart.
    return create_engine(url, future=True, pool_pre_ping=True, pool_size=5, max_overflow=10)


@lru_cache(maxsize=None)
def _sessionmaker(url: str) -> sessionmaker:
    return sessionmaker(bind=get_engine(url), future=True, expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    session: Session = _sessionmaker(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def migrate(url: str) -> None:
    """Bring the schema to the newest Alembic revision (creates it when empty)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", resolve_url(url).replace("%", "%%"))
    command.upgrade(cfg, "head")


# -- the knowledge version: every change bumps it, every reader checks it --------

KB_VERSION_KEY = "kb_version"


def kb_version(session: Session) -> int:
    """The knowledge version, read once per database session (one turn, one request): a
    question asks for it several times (index, names, region probes), a round trip each."""
    version = session.info.get(KB_VERSION_KEY)
    if version is None:
        value = session.execute(select(Setting.value).where(Setting.key == KB_VERSION_KEY)).scalar()
        version = session.info[KB_VERSION_KEY] = int(value) if value else 0
    return version


_versioned: dict[tuple[str, str], tuple[int, Any]] = {}
_building: dict[tuple[str, str], threading.Lock] = {}
_building_lock = threading.Lock()


def per_version(session: Session, name: str, build: Callable[[Session], Any]) -> Any:
    """`build(session)`, made once per database and knowledge version, then shared.

    What is derived from the whole knowledge base (the search index, the names it
    knows) is rebuilt when staff change something (`bump_kb_version`) and reused
    otherwise, by every thread of the process. A hit takes no lock; a build holds the
    lock of its own (name, database) only, so two requests that find it stale do not both
    build it, and nobody waits for a build they do not need.
    """
    version = kb_version(session)
    key = _key(session, name)
    hit = _versioned.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]
    with _building_lock:
        lock = _building.setdefault(key, threading.Lock())
    with lock:
        hit = _versioned.get(key)
        if hit is not None and hit[0] == version:
            return hit[1]
        value = build(session)
        _versioned[key] = (version, value)
        return value


def is_current(session: Session, name: str) -> bool:
    """Whether `per_version` holds `name` for this database at its current knowledge version."""
    hit = _versioned.get(_key(session, name))
    return hit is not None and hit[0] == kb_version(session)


def _key(session: Session, name: str) -> tuple[str, str]:
    return name, str(session.get_bind().url)


def _key_url(url: str) -> str:
    return str(make_url(resolve_url(url)))


def is_built(name: str, url: str) -> bool:
    """Whether `per_version` holds `name` for this database (any knowledge version)."""
    return (name, _key_url(url)) in _versioned


def forget(url: str) -> None:
    """Drop what `per_version` built for this database (tests that rolled back a change)."""
    for key in [k for k in _versioned if k[1] == _key_url(url)]:
        _versioned.pop(key, None)


def bump_kb_version(session: Session) -> int:
    """Tell every process (bot workers, action server) that knowledge changed."""
    row = session.get(Setting, KB_VERSION_KEY)
    if row is None:
        row = Setting(key=KB_VERSION_KEY, value="0")
        session.add(row)
    row.value = str(int(row.value or 0) + 1)
    session.flush()
    session.info[KB_VERSION_KEY] = int(row.value)
    return int(row.value)


def get_setting(session: Session, key: str, default: str = "") -> str:
    row = session.get(Setting, key)
    return row.value if row is not None and row.value else default


def set_setting(session: Session, key: str, value: str) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value
