"""Fixtures and helpers for the staff console's tests (import the fixtures into a test module).

- `admin_kb`: a knowledge base of its own for each test, on SQLite and on PostgreSQL, so
  edits, deletions and new Q&A pairs never leak into other tests' shared databases.
- `console`: the bot's app in-process (Starlette TestClient; Rasa deliberately not
  running) with an admin, an editor and a viewer account, and a `login()` helper.
- `console_stack`: a real assistant of its own (Rasa, action server, bot) on free ports
  and its own database, with a known admin account, for the browser tests.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import (
    TEST_API_TOKEN,
    _create_pg_database,
    _drop_pg_database,
    build_kb,
    free_port,
    start_assistant,
    stop_process,
)

PASSWORDS = {"boss": "boss-password-1", "ed": "editor-password-1", "vic": "viewer-password-1"}
ROLES = {"boss": "admin", "ed": "editor", "vic": "viewer"}
SECRET = "test-console-secret-" + "x" * 20
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture(params=["sqlite", "postgresql"])
def admin_kb(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A freshly built knowledge base for one test, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
        build_kb(url)
        yield url
        return
    name, url = _create_pg_database()
    try:
        build_kb(url)
        yield url
    finally:
        _drop_pg_database(name, url)


@pytest.fixture
def sqlite_kb(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    build_kb(url)
    return url


def make_users(url: str) -> None:
    from kb import accounts
    from kb.db import session_scope

    with session_scope(url) as session:
        for name, password in PASSWORDS.items():
            accounts.create_user(session, name, password, ROLES[name], actor="test")


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m, "page has no CSRF token"
    return m.group(1)


@dataclass
class Console:
    """A browser-like client of the in-process app."""

    client: TestClient
    url: str
    extra: dict[str, Any] = field(default_factory=dict)

    def login(self, username: str, password: str | None = None) -> httpx.Response:
        page = self.client.get("/admin/login")
        return self.client.post("/admin/login", data={
            "username": username, "password": PASSWORDS.get(username, "") if password is None else password,
            "csrf": csrf_of(page.text), "next": "/admin/"})

    def csrf(self, path: str = "/admin/account") -> str:
        return csrf_of(self.client.get(path).text)

    def post(self, path: str, data: dict[str, Any] | None = None, files: Any = None,
             csrf_from: str = "/admin/account") -> httpx.Response:
        payload = {"csrf": self.csrf(csrf_from), **(data or {})}
        return self.client.post(path, data=payload, files=files)

    def flashes(self, html: str) -> list[str]:
        return re.findall(r'<div class="flash [a-z]+" role="status">([^<]*)</div>', html)


def app_for(url: str, **env: str):  # noqa: ANN201
    from bot.app import create_app
    from bot.config import load_settings

    settings = load_settings({"DATABASE_URL": url, "BOT_API_TOKEN": TEST_API_TOKEN,
                              "RASA_PORT": str(free_port()), "ACTIONS_PORT": str(free_port()),
                              "BOT_ADMIN_USER": "boss", "BOT_ADMIN_PASSWORD": PASSWORDS["boss"],
                              "BOT_SECRET_KEY": SECRET, **env},
                             generate_secrets=False)
    return create_app(settings)


@pytest.fixture
def console(sqlite_kb: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Console]:
    """The app with boss (admin), ed (editor) and vic (viewer); nobody logged in yet."""
    make_users(sqlite_kb)
    with TestClient(app_for(sqlite_kb), follow_redirects=True) as client:
        yield Console(client, sqlite_kb)


# -- a real assistant of the console's own ------------------------------------------------------

@dataclass
class ConsoleStack:
    bot_url: str
    rasa_url: str
    database_url: str
    admin: str
    password: str
    work: Path
    procs: dict = field(default_factory=dict)

    def ask(self, text: str, user: str) -> dict:
        resp = httpx.post(f"{self.bot_url}/api/ask", json={"text": text, "user": user},
                          headers={"Authorization": f"Bearer {TEST_API_TOKEN}"}, timeout=20)
        resp.raise_for_status()
        return resp.json()

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.bot_url}{path}", timeout=30,
                             headers={"Authorization": f"Bearer {TEST_API_TOKEN}"}, **kwargs)


@pytest.fixture(scope="session")
def console_stack(rasa_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleStack]:
    """Rasa, the action server and the bot, as real processes on their own database.

    Not the shared `stack`: these tests import reports and add Q&A pairs, which must not
    change what other tests' questions get. The first admin comes from BOT_ADMIN_USER /
    BOT_ADMIN_PASSWORD, as on a real deployment.
    """
    work = tmp_path_factory.mktemp("console-stack")
    admin, password = "chief", "chief-" + secrets.token_urlsafe(8)
    urls, procs = start_assistant(work, rasa_model, BOT_ADMIN_USER=admin, BOT_ADMIN_PASSWORD=password,
                                  BOT_SECRET_KEY=SECRET)
    s = ConsoleStack(urls["bot"], urls["rasa"], urls["database"], admin, password, work, procs)
    try:
        yield s
    finally:
        for proc in procs.values():
            stop_process(proc)
