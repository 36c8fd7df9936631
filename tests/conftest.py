"""Shared fixtures: real databases, a real trained Rasa model, the real stack on free ports.

- `sqlite_url` / `pg_url`: a knowledge base built from the shipped corpus, in a
  temporary SQLite file or a throwaway database on the machine's PostgreSQL.
- `kb_url`: the same test, once on each (the knowledge-base suite uses it).
- `fresh_pg_url`: an empty throwaway PostgreSQL database (migrations from empty).
- `stack`: Rasa server, action server and bot web server as real processes,
  started once per session on free ports against a temporary database.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text

from bot.localstack import free_port, start_process, stop_process  # noqa: F401  (used by test modules too)

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TEST_TOKEN = "test-token"
TEST_API_TOKEN = "test-api-token"



def build_kb(url: str) -> None:
    from kb.db import migrate, session_scope
    from kb.ingest import build_corpus

    migrate(url)
    with session_scope(url) as session:
        build_corpus(session)


def _create_pg_database() -> tuple[str, str]:
    name = f"kexie_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def _drop_pg_database(name: str, url: str) -> None:
    from kb.db import get_engine

    get_engine(url).dispose()
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def fresh_pg_url() -> Iterator[str]:
    name, url = _create_pg_database()
    try:
        yield url
    finally:
        _drop_pg_database(name, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database: once SQLite, once a throwaway PostgreSQL database."""
    from kb.db import migrate

    url = (f"sqlite:///{tmp_path / 'bot.sqlite3'}" if request.param == "sqlite"
           else request.getfixturevalue("fresh_pg_url"))
    migrate(url)
    return url


@pytest.fixture
def lite(tmp_path: Path) -> str:
    """An empty, migrated SQLite database, for tests that need no PostgreSQL run."""
    from kb.db import migrate

    url = f"sqlite:///{tmp_path / 'lite.sqlite3'}"
    migrate(url)
    return url


@pytest.fixture
def api() -> Iterator:
    """A fake WeChat API server on loopback (tests/fake_wechat_api.py)."""
    from tests.fake_wechat_api import FakeWeChatAPI

    with FakeWeChatAPI() as fake:
        yield fake


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'kb.sqlite3'}"
    build_kb(url)
    return url


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    name, url = _create_pg_database()
    build_kb(url)
    try:
        yield url
    finally:
        _drop_pg_database(name, url)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def kb_url(request: pytest.FixtureRequest) -> str:
    """A built knowledge base; tests using it run once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture(scope="session")
def rasa_model(sqlite_url: str) -> Path:
    """The real model for the shipped corpus: trained once, reused while its inputs are unchanged."""
    from bot.training import ensure_model, write_nlu_resources
    from kb.db import session_scope

    with session_scope(sqlite_url) as session:
        write_nlu_resources(session)
    return ensure_model(quiet=True)


@dataclass
class Stack:
    bot_url: str
    rasa_url: str
    actions_url: str
    database_url: str
    token: str = TEST_TOKEN
    api_token: str = TEST_API_TOKEN
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    log_dir: Path | None = None

    def ask(self, text_: str, user: str = "tester") -> dict:
        resp = httpx.post(f"{self.bot_url}/api/ask", json={"text": text_, "user": user},
                          headers={"Authorization": f"Bearer {self.api_token}"}, timeout=15)
        resp.raise_for_status()
        return resp.json()


def wait_healthy(url: str, procs: dict[str, subprocess.Popen], log_dir: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n"
                                   + (log_dir / f"{name}.log").read_text(errors="replace")[-3000:])
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"stack not healthy after {timeout} s; logs in {log_dir}")


def stack_env(database_url: str, rasa_port: int, actions_port: int, bot_port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "BOT_", "REDIS_"))}
    env.update(
        DATABASE_URL=database_url, RASA_PORT=str(rasa_port), ACTIONS_PORT=str(actions_port),
        BOT_PORT=str(bot_port), BOT_HOST="127.0.0.1", WECHAT_TOKEN=TEST_TOKEN, BOT_API_TOKEN=TEST_API_TOKEN,
        ACTIONS_URL=f"http://127.0.0.1:{actions_port}", RASA_TELEMETRY_ENABLED="false",
        TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", PYTHONWARNINGS="ignore::DeprecationWarning",
    )
    env.update(extra)
    return env


def start_assistant(work: Path, rasa_model: Path, **extra_env: str) -> tuple[dict[str, str], dict[str, subprocess.Popen]]:
    """Rasa, the action server and the bot on free ports against a fresh KB in `work`; healthy on return."""
    database_url = f"sqlite:///{work / 'bot.sqlite3'}"
    build_kb(database_url)
    rasa_port, actions_port, bot_port = free_port(), free_port(), free_port()
    env = stack_env(database_url, rasa_port, actions_port, bot_port, **extra_env)
    endpoints = work / "endpoints.yml"
    endpoints.write_text(f'action_endpoint:\n  url: "http://127.0.0.1:{actions_port}/webhook"\n')
    procs = {
        "actions": start_process("actions", [str(BIN / "rasa"), "run", "actions", "--actions", "actions",
                                             "--port", str(actions_port)], env, work),
        "rasa": start_process("rasa", [str(BIN / "kexie-rasa"), "run", "--enable-api", "-i", "127.0.0.1",
                                       "--port", str(rasa_port), "-m", str(rasa_model),
                                       "--endpoints", str(endpoints), "--credentials", "credentials.yml"],
                              env, work),
        "web": start_process("web", [str(BIN / "bot"), "serve"], env, work),
    }
    urls = {"bot": f"http://127.0.0.1:{bot_port}", "rasa": f"http://127.0.0.1:{rasa_port}",
            "actions": f"http://127.0.0.1:{actions_port}", "database": database_url}
    try:
        wait_healthy(urls["bot"], procs, work)
    except BaseException:
        for proc in procs.values():
            stop_process(proc)
        raise
    return urls, procs


@pytest.fixture(scope="session")
def stack(rasa_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real assistant: Rasa with the trained model, the action server, the bot."""
    work = tmp_path_factory.mktemp("stack")
    urls, procs = start_assistant(work, rasa_model)
    s = Stack(bot_url=urls["bot"], rasa_url=urls["rasa"], actions_url=urls["actions"],
              database_url=urls["database"], procs=procs, log_dir=work)
    try:
        yield s
    finally:
        for proc in procs.values():
            stop_process(proc)
