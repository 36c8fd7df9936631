"""What the WeChat tests run the bot against: a fake Rasa, and the bot's app on loopback.

- `FakeRasa`: a tiny HTTP server speaking the two Rasa endpoints the bot
  uses (/webhooks/kexie/webhook of bot/rasa_channel.py, /status). It
  counts the questions it is asked, can be slow (`delay`), and answers
  `reply_for(text)`; so a test can say "three retries, one Rasa call".
- `BotServer`: the bot's real Starlette app (bot.app.create_app) under
  uvicorn in a thread on a free port, so real sockets, real timeouts and
  real client hang-ups reach it (httpx's ASGITransport has none of those).
- `bot_env()`: the environment for a `bot serve` subprocess.
"""
from __future__ import annotations

import asyncio
import os
import random
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.wechat_wire import free_port


class _ThreadServer:
    def __init__(self, app, port: int | None = None) -> None:  # noqa: ANN001
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", ws="none",
                                lifespan="on", timeout_graceful_shutdown=5)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self):  # noqa: ANN201
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)

    def __enter__(self):  # noqa: ANN204
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class FakeRasa(_ThreadServer):
    def __init__(self, delay: float = 0.0, reply_for: Callable[[str], str] | None = None) -> None:
        self.delay = delay
        self.reply_for = reply_for or (lambda text: f"答复：{text}")
        self.questions: list[tuple[str, str]] = []  # (sender, text), one per webhook call
        self.lock = threading.Lock()
        super().__init__(Starlette(routes=[
            Route("/webhooks/kexie/webhook", self._webhook, methods=["POST"]),
            Route("/status", self._status, methods=["GET"]),
        ]))

    def asked(self, text: str | None = None) -> int:
        with self.lock:
            return sum(1 for _, t in self.questions if text is None or t == text)

    async def _webhook(self, request: Request) -> JSONResponse:
        data = await request.json()
        with self.lock:
            self.questions.append((data["sender"], data["message"]))
        if self.delay:
            await asyncio.sleep(self.delay)
        return JSONResponse({
            "messages": [{"recipient_id": data["sender"], "text": self.reply_for(data["message"]),
                          "custom": {"answered": True, "sources": []}}],
            "parse": {"text": data["message"], "intent": {"name": "ask_event", "confidence": 0.93},
                      "entities": []}})

    async def _status(self, request: Request) -> JSONResponse:
        return JSONResponse({"model_file": "models/fake.tar.gz"})


class BotServer(_ThreadServer):
    def __init__(self, settings, port: int | None = None) -> None:  # noqa: ANN001
        from bot.app import create_app

        self.settings = settings
        super().__init__(create_app(settings), port)

    @property
    def wechat_url(self) -> str:
        return f"{self.url}/wechat"


def wait_serving(url: str, proc, log: Path, timeout: float = 60) -> None:  # noqa: ANN001
    """Until a `bot serve` subprocess answers HTTP and has built its knowledge-base index
    (healthz also needs Rasa and actions, which these tests fake or leave out: only its
    `knowledge` check is waited for, so a tight reply budget is not spent on the warm-up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"bot serve exited:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=5).json()["checks"].get("knowledge", True):
                return
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    raise RuntimeError("bot serve did not start")


def bot_env(database_url: str, rasa_url: str, port: int, **extra: str) -> dict[str, str]:
    """Environment for `bot serve` pointed at fakes (no real Rasa, no WeChat)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "BOT_", "REDIS_", "RASA_"))}
    env.update(DATABASE_URL=database_url, RASA_URL=rasa_url, ACTIONS_URL=rasa_url, BOT_HOST="127.0.0.1",
               BOT_PORT=str(port), BOT_API_TOKEN="test-api-token", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


# -- fixtures (import them into a test module to use them) ---------------------------------------

TOKEN = "test-token"
API_TOKEN = "test-api-token"
APPID = "wx_test_appid"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OLD_AES_KEY = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"


def new_msg_id() -> int:
    return random.randrange(10**15, 10**16)


def new_user() -> str:
    return "o_" + uuid.uuid4().hex[:16]


@pytest.fixture(scope="module")
def wechat_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty, migrated database for the message log, subscriptions and events."""
    from kb.db import migrate

    url = f"sqlite:///{tmp_path_factory.mktemp('wechat') / 'bot.sqlite3'}"
    migrate(url)
    return url


def settings_for(database_url: str, rasa_url: str, **env: str):  # noqa: ANN201
    from bot.config import load_settings

    base = {"DATABASE_URL": database_url, "RASA_URL": rasa_url, "ACTIONS_URL": rasa_url,
            "WECHAT_TOKEN": TOKEN, "BOT_API_TOKEN": API_TOKEN}
    base.update(env)
    return load_settings(base, generate_secrets=False)


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    with FakeRasa() as rasa:
        yield rasa


def logged(database_url: str, openid: str) -> list[dict]:
    """The message log of one citizen, oldest first, as /api/messages returns it."""
    from kb.conversations import messages_of
    from kb.db import session_scope

    with session_scope(database_url) as session:
        return messages_of(session, openid)
