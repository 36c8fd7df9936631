"""The staff API (`/api/*`, bearer token): ask, import, Q&A, events, logs.

Bad input gets a 4xx with a reason in JSON; nothing here answers with a traceback.
"""
from __future__ import annotations

import hashlib
import hmac
from typing import Any, Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kb import conversations, knowledge
from kb.db import session_scope

Endpoint = Callable[[Request], Awaitable[JSONResponse]]
MAX_TEXT = 500


class BadRequest(Exception):
    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


def protected(fn: Endpoint) -> Endpoint:
    """Bearer token check (constant time) and uniform 4xx errors."""
    async def wrapper(request: Request) -> JSONResponse:
        expected = request.app.state.settings.api_token
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token or not expected or not hmac.compare_digest(
                token.strip().encode(), expected.encode()):
            return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401,
                                headers={"WWW-Authenticate": "Bearer"})
        try:
            return await fn(request)
        except BadRequest as exc:
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        except knowledge.Invalid as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
    return wrapper


async def json_body(request: Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except Exception:
        raise BadRequest("body must be JSON") from None
    if not isinstance(data, dict):
        raise BadRequest("body must be a JSON object")
    return data


def text_field(data: dict[str, Any], name: str, *, required: bool = True, limit: int | None = None) -> str:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadRequest(f"'{name}' is required")
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be a string")
    if limit and len(value) > limit:
        raise BadRequest(f"'{name}' is longer than {limit} characters")
    return value.strip()


def db(request: Request) -> str:
    return request.app.state.settings.database_url


@protected
async def ask(request: Request) -> JSONResponse:
    data = await json_body(request)
    text = text_field(data, "text", limit=MAX_TEXT)
    user = text_field(data, "user", required=False, limit=100) or "api-" + hashlib.sha1(
        (request.client.host if request.client else "").encode()).hexdigest()[:12]
    turn = await request.app.state.responder.respond(user, text, msg_type="api")
    return JSONResponse(turn.as_json())


@protected
async def messages(request: Request) -> JSONResponse:
    user = request.query_params.get("user")
    if not user:
        raise BadRequest("query parameter 'user' is required")

    def read() -> list[dict[str, Any]]:
        with session_scope(db(request)) as session:
            return conversations.messages_of(session, user)
    return JSONResponse({"user": user, "messages": await run_in_threadpool(read)})


@protected
async def unanswered(request: Request) -> JSONResponse:
    def read() -> list[dict[str, Any]]:
        with session_scope(db(request)) as session:
            return conversations.unanswered(session)
    return JSONResponse({"questions": await run_in_threadpool(read)})


@protected
async def documents(request: Request) -> JSONResponse:
    data = await json_body(request)
    fields = dict(
        title=text_field(data, "title", limit=500), text=text_field(data, "text"),
        source=text_field(data, "source", required=False, limit=500),
        region=text_field(data, "region", required=False, limit=100),
        published_at=text_field(data, "published_at", required=False, limit=30),
    )

    def write() -> dict[str, Any]:
        with session_scope(db(request)) as session:
            return knowledge.import_text(session, actor="api", **fields)
    return JSONResponse(await run_in_threadpool(write), status_code=201)


@protected
async def faqs(request: Request) -> JSONResponse:
    data = await json_body(request)
    question = text_field(data, "question", limit=MAX_TEXT)
    answer = text_field(data, "answer", limit=2000)
    alts = data.get("alt_questions") or []
    if not isinstance(alts, list) or not all(isinstance(a, str) for a in alts):
        raise BadRequest("'alt_questions' must be a list of strings")

    def write() -> dict[str, Any]:
        with session_scope(db(request)) as session:
            return knowledge.create_faq(session, question=question, answer=answer,
                                        alt_questions=alts, actor="api")
    return JSONResponse(await run_in_threadpool(write), status_code=201)


@protected
async def events(request: Request) -> JSONResponse:
    if request.method == "GET":
        def read() -> list[dict[str, Any]]:
            with session_scope(db(request)) as session:
                return knowledge.list_events(session)
        return JSONResponse({"events": await run_in_threadpool(read)})
    data = await json_body(request)

    def write() -> dict[str, Any]:
        with session_scope(db(request)) as session:
            return knowledge.create_event(session, data, actor="api")
    return JSONResponse(await run_in_threadpool(write), status_code=201)


routes = [
    Route("/api/ask", ask, methods=["POST"]),
    Route("/api/messages", messages, methods=["GET"]),
    Route("/api/unanswered", unanswered, methods=["GET"]),
    Route("/api/documents", documents, methods=["POST"]),
    Route("/api/faqs", faqs, methods=["POST"]),
    Route("/api/events", events, methods=["GET", "POST"]),
]
