"""A fake WeChat API server on loopback, for tests that send messages or fetch tokens.

It speaks the few endpoints the bot uses (token, customer-service message,
template message, menu), records every call, and can be told to fail the
next calls with a given errcode, as WeChat does (40001, 45015, ...).

    with FakeWeChatAPI() as api:
        settings = load_settings({... "WECHAT_API_BASE_URL": api.base_url ...})
        ...
        assert api.calls_to("/cgi-bin/message/custom/send")
"""
from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conftest import free_port


@dataclass
class Call:
    path: str
    params: dict[str, str]
    body: dict[str, Any] | None
    at: float = field(default_factory=time.time)


class FakeWeChatAPI:
    def __init__(self, appid: str = "wx_test_appid", secret: str = "test-secret") -> None:
        self.appid, self.secret = appid, secret
        self.calls: list[Call] = []
        self.tokens: list[str] = []
        self.failures: dict[str, deque[int]] = {}
        self.lock = threading.Lock()
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}/"
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # -- what a test controls and reads -------------------------------------------------
    def fail_next(self, path: str, *errcodes: int) -> None:
        """The next calls to `path` answer these errcodes, one per call, in order."""
        with self.lock:
            self.failures.setdefault(path, deque()).extend(errcodes)

    def calls_to(self, path: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.path == path]

    @property
    def current_token(self) -> str | None:
        return self.tokens[-1] if self.tokens else None

    # -- the fake endpoints ----------------------------------------------------------------
    async def _token(self, request: Request) -> JSONResponse:
        p = dict(request.query_params)
        with self.lock:
            self.calls.append(Call("/cgi-bin/token", p, None))
            if p.get("appid") != self.appid or p.get("secret") != self.secret:
                return JSONResponse({"errcode": 40125, "errmsg": "invalid appsecret"})
            token = "TOKEN_" + secrets.token_hex(8)
            self.tokens.append(token)  # a new token invalidates the old ones
        return JSONResponse({"access_token": token, "expires_in": 7200})

    async def _api(self, request: Request) -> JSONResponse:
        path = request.url.path
        p = dict(request.query_params)
        raw = await request.body()
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except ValueError:
            return JSONResponse({"errcode": 47001, "errmsg": "data format error"})
        with self.lock:
            self.calls.append(Call(path, p, body))
            if p.get("access_token") != self.current_token:
                return JSONResponse({"errcode": 40001, "errmsg": "invalid credential"})
            queued = self.failures.get(path)
            if queued:
                code = queued.popleft()
                return JSONResponse({"errcode": code, "errmsg": f"injected {code}"})
        result: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
        if path.endswith("/template/send"):
            result["msgid"] = 200000 + len(self.calls)
        return JSONResponse(result)

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/cgi-bin/token", self._token, methods=["GET"]),
            Route("/cgi-bin/{rest:path}", self._api, methods=["GET", "POST"]),
        ])

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> "FakeWeChatAPI":
        config = uvicorn.Config(self.app(), host="127.0.0.1", port=self.port, log_level="warning", ws="none",
                                lifespan="off")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake WeChat API did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeWeChatAPI":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
