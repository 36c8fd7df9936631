"""The bot's web server: the WeChat endpoint, health, and the staff API."""
from __future__ import annotations

import contextlib
import logging
import threading
from typing import AsyncIterator

import httpx
from sqlalchemy import text as sql
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot import admin, api
from bot.config import Settings, get_settings
from bot.dedupe import make_dedupe
from bot.dialogue import RasaClient
from bot.ratelimit import make_limiter
from bot.responder import Responder
from bot.wechat import WeChatEndpoint
from bot.wechat import drain as drain_wechat
from bot.wechat_api import make_client
from kb import answer as kb_answer
from kb import db as kb_db
from kb.db import get_engine

log = logging.getLogger("bot.app")


async def healthz(request: Request) -> JSONResponse:
    """200 when the database, Rasa and the action server answer and the knowledge-base index
    is built (the first second after a start); 503 with what is not ready."""
    state = request.app.state
    checks: dict[str, bool] = {}

    def db_ok() -> bool:
        try:
            with get_engine(state.settings.database_url).connect() as conn:
                conn.execute(sql("SELECT 1"))
            return True
        except Exception:
            return False

    checks["database"] = await run_in_threadpool(db_ok)
    checks["rasa"] = await state.rasa.ready()
    try:
        resp = await state.http.get(f"{state.settings.actions_url}/health", timeout=2.0)
        checks["actions"] = resp.status_code == 200
    except httpx.HTTPError:
        checks["actions"] = False
    checks["knowledge"] = kb_db.is_built("index", state.settings.database_url)
    if not checks["knowledge"] and not state.kb_warm_up.is_alive():  # the start's warm-up failed: again
        state.kb_warm_up = kb_answer.warm_up_in_background(state.settings.database_url, "bot")
    ok = all(checks.values())
    body = {"status": "ok" if ok else "unavailable", "checks": checks,
            "not_ready": [k for k, v in checks.items() if not v]}
    return JSONResponse(body, status_code=200 if ok else 503)


async def database_unavailable(request: Request, exc: Exception) -> Response:
    """PostgreSQL restarting: a polite 503 now, and the pool reconnects on the next request."""
    log.error("database unavailable: %s", type(exc).__name__)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": "数据库暂时不可用，请稍后再试"}, status_code=503)
    return PlainTextResponse("service temporarily unavailable", status_code=503)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s", request.url.path)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": "服务器暂时出错，请稍后再试"}, status_code=500)
    return PlainTextResponse("internal error", status_code=500)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.http = httpx.AsyncClient(timeout=5.0)
        app.state.rasa = RasaClient(settings.rasa_urls)
        app.state.responder = Responder(settings.database_url, app.state.rasa)
        # WeChat: retries deduped and rate limit counted in Redis when REDIS_URL is set (several
        # processes agree), in-process otherwise; the API client only with WECHAT_APPID/SECRET.
        app.state.dedupe = make_dedupe(settings)
        app.state.limiter = make_limiter(settings)
        app.state.wechat_client = make_client(settings)
        app.state.wechat_tasks = set()
        # the knowledge base answers when Rasa cannot: its index is built now, not on that question
        app.state.kb_warm_up = kb_answer.warm_up_in_background(settings.database_url, "bot")
        # ... and rebuilt soon after staff change it (console, CLI, another server), not on a citizen's question
        app.state.kb_keep_warm_stop = threading.Event()
        if settings.kb_refresh > 0:
            kb_answer.keep_warm_in_background(settings.database_url, "bot", settings.kb_refresh,
                                              stop=app.state.kb_keep_warm_stop)
        try:  # the staff console's first admin (BOT_ADMIN_USER / BOT_ADMIN_PASSWORD) when none exists
            await run_in_threadpool(admin.bootstrap, settings)
        except SQLAlchemyError as exc:
            log.error("could not check the staff accounts (%s); is the database migrated?", type(exc).__name__)
        try:
            yield
        finally:
            app.state.kb_keep_warm_stop.set()
            await drain_wechat(app.state)
            await app.state.dedupe.aclose()
            await app.state.limiter.aclose()
            await app.state.rasa.aclose()
            await app.state.http.aclose()

    holder: dict[str, WeChatEndpoint] = {}

    def endpoint(request: Request) -> WeChatEndpoint:
        if "ep" not in holder:
            holder["ep"] = WeChatEndpoint(request.app.state)
        return holder["ep"]

    async def wechat_get(request: Request):  # noqa: ANN202
        return await endpoint(request).verify(request)

    async def wechat_post(request: Request):  # noqa: ANN202
        return await endpoint(request).receive(request)

    routes = [
        Route("/wechat", wechat_get, methods=["GET"]),
        Route("/wechat", wechat_post, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        *api.routes,
        admin.mount(settings),
    ]
    return Starlette(routes=routes, lifespan=lifespan,
                     exception_handlers={SQLAlchemyError: database_unavailable, 500: server_error})
