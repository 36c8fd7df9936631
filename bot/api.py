"""The staff API (`/api/*`, bearer token): ask, import, Q&A, events, logs.

Bad input gets a 4xx with a reason in JSON; nothing here answers with a traceback.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import json
from typing import Any, Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kb import accounts, conversations, knowledge
from kb import events as kb_events
from kb.db import session_scope

Endpoint = Callable[[Request], Awaitable[JSONResponse]]
MAX_TEXT = 500


class BadRequest(Exception):
    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


READ_METHODS = ("GET", "HEAD")


def _personal(database_url: str, token: str) -> tuple[str, str] | None:
    """(username, role) of the account a personal API token ("kx_...") belongs to."""
    with session_scope(database_url) as session:
        user = accounts.user_for_api_token(session, token)
        return (user.username, user.role) if user else None


async def _caller(request: Request) -> tuple[str, str] | None:
    """(actor, role): BOT_API_TOKEN acts as "api" with every right; a personal token as its account."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    expected = request.app.state.settings.api_token
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        return "api", "admin"
    if token.startswith(accounts.TOKEN_PREFIX + "_"):
        return await run_in_threadpool(_personal, request.app.state.settings.database_url, token)
    return None


def protected(fn: Endpoint | None = None, *, read: str = "viewer", write: str = "editor"):  # noqa: ANN201
    """Bearer token check (constant time), the caller's role, and uniform 4xx errors.

    GET needs `read`, any other method `write` (viewer < editor < admin). The caller
    is in `request.state.actor` for the edit history.
    """
    def decorate(fn: Endpoint) -> Endpoint:
        @functools.wraps(fn)
        async def wrapper(request: Request) -> JSONResponse:
            caller = await _caller(request)
            if caller is None:
                return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401,
                                    headers={"WWW-Authenticate": "Bearer"})
            request.state.actor, request.state.role = caller
            needed = read if request.method in READ_METHODS else write
            if not accounts.at_least(caller[1], needed):
                return JSONResponse({"error": f"this needs the {needed} role; this token is {caller[1]}"},
                                    status_code=403)
            try:
                return await fn(request)
            except BadRequest as exc:
                return JSONResponse({"error": exc.reason}, status_code=exc.status)
            except knowledge.NotFound as exc:
                return JSONResponse({"error": str(exc)}, status_code=404)
            except (knowledge.Invalid, accounts.AccountError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=422)
        return wrapper
    return decorate(fn) if fn is not None else decorate


def actor(request: Request) -> str:
    return getattr(request.state, "actor", "api")


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


@protected(write="viewer")
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
    """GET: the reports (search, filters, sort, pages: see `list_params`); POST: import one."""
    if request.method == "GET":
        return await table_list(request, "documents")
    data = await json_body(request)
    fields = dict(
        title=text_field(data, "title", limit=500), text=text_field(data, "text"),
        source=text_field(data, "source", required=False, limit=500),
        region=text_field(data, "region", required=False, limit=100),
        published_at=text_field(data, "published_at", required=False, limit=30),
    )

    def write() -> dict[str, Any]:
        with session_scope(db(request)) as session:
            return knowledge.import_text(session, actor=actor(request), **fields)
    return JSONResponse(await run_in_threadpool(write), status_code=201)


@protected
async def faqs(request: Request) -> JSONResponse:
    """GET: the Q&A pairs (as any list); POST: a new one, used at once."""
    if request.method == "GET":
        return await table_list(request, "faqs")
    data = await json_body(request)
    question = text_field(data, "question", limit=MAX_TEXT)
    answer = text_field(data, "answer", limit=2000)
    alts = data.get("alt_questions") or []
    if not isinstance(alts, list) or not all(isinstance(a, str) for a in alts):
        raise BadRequest("'alt_questions' must be a list of strings")

    def write() -> dict[str, Any]:
        with session_scope(db(request)) as session:
            return knowledge.create_faq(session, question=question, answer=answer,
                                        alt_questions=alts, actor=actor(request))
    return JSONResponse(await run_in_threadpool(write), status_code=201)


def _event_id(request: Request) -> int:
    try:
        return int(request.path_params["event_id"])
    except (KeyError, ValueError):
        raise BadRequest("event id must be a number", status=404) from None


@protected
async def events(request: Request) -> JSONResponse:
    """GET: the events (`?upcoming=1` only those not started, `?cancelled=1` with cancelled ones);
    POST: a new event. The scheduler picks up the change and moves the reminders."""
    tz = request.app.state.settings.tz
    if request.method == "GET":
        upcoming = request.query_params.get("upcoming", "") in ("1", "true", "yes")
        cancelled = request.query_params.get("cancelled", "") in ("1", "true", "yes")

        def read() -> list[dict[str, Any]]:
            with session_scope(db(request)) as session:
                return kb_events.list_events(session, upcoming_only=upcoming, include_cancelled=cancelled)
        return JSONResponse({"events": await run_in_threadpool(read)})
    data = await json_body(request)

    def write() -> dict[str, Any]:
        with session_scope(db(request)) as session:
            return kb_events.create_event(session, data, actor=actor(request), tz=tz)
    return JSONResponse(await run_in_threadpool(write), status_code=201)


@protected
async def event(request: Request) -> JSONResponse:
    """GET one event; PUT changes some of its fields (moving it moves its reminders);
    DELETE cancels it (kept for the push log and the history; its reminders are removed)."""
    event_id = _event_id(request)
    tz = request.app.state.settings.tz
    data = await json_body(request) if request.method == "PUT" else {}

    def work() -> dict[str, Any] | None:
        with session_scope(db(request)) as session:
            if request.method == "GET":
                return kb_events.get_event(session, event_id)
            try:
                if request.method == "PUT":
                    return kb_events.update_event(session, event_id, data, actor=actor(request), tz=tz)
                return kb_events.cancel_event(session, event_id, actor=actor(request))
            except LookupError:
                return None
    result = await run_in_threadpool(work)
    if result is None:
        raise BadRequest(f"no event {event_id}", status=404)
    return JSONResponse(result)


# -- the staff operations of the console, for scripts: lists, rows, settings, tools -----------
# Lists take ?q= (search), ?sort=col or -col, ?page=, ?per_page= and exact filters by column
# name (see kb.knowledge.LISTS); answers are {"items", "total", "page", "pages", ...}.

async def in_session(fn: Callable[..., Any], request: Request, *args: Any, **kwargs: Any) -> Any:
    def work() -> Any:
        with session_scope(db(request)) as session:
            return fn(session, *args, **kwargs)
    return await run_in_threadpool(work)


def list_params(request: Request, table: str) -> dict[str, Any]:
    params = dict(request.query_params)
    spec = knowledge.LISTS[table]
    try:
        page, per_page = int(params.get("page") or 1), int(params.get("per_page") or 25)
    except ValueError:
        raise BadRequest("page and per_page must be numbers") from None
    return {"q": params.get("q", ""), "sort": params.get("sort", ""), "page": page, "per_page": per_page,
            "filters": {k: v for k, v in params.items() if k in spec.filters}}


async def table_list(request: Request, table: str) -> JSONResponse:
    page = await in_session(knowledge.list_rows, request, table, **list_params(request, table))
    return JSONResponse(page.as_json())


def _row_id(request: Request) -> int:
    try:
        return int(request.path_params["row_id"])
    except (KeyError, ValueError):
        raise BadRequest("id must be a number", status=404) from None


def table_endpoints(table: str) -> tuple[Endpoint, Endpoint]:
    """The list (GET) and the row (GET, PATCH, DELETE) endpoints of one knowledge table."""
    @protected
    async def listing(request: Request) -> JSONResponse:
        if request.method == "GET":
            return await table_list(request, table)
        data = await json_body(request)  # POST: only synonyms are created this way
        row = await in_session(lambda s: knowledge.create_synonym(
            s, word=data.get("word") or "", canonical=data.get("canonical") or "", kind=data.get("kind") or "",
            actor=actor(request)), request)
        return JSONResponse(row, status_code=201)

    @protected
    async def row(request: Request) -> JSONResponse:
        row_id = _row_id(request)
        if request.method == "GET":
            getter = knowledge.document_detail if table == "documents" else (
                lambda s, i: knowledge.get_row(s, table, i))
            return JSONResponse(await in_session(getter, request, row_id))
        if request.method == "DELETE":
            deleted = await in_session(knowledge.delete_row, request, table, row_id, actor=actor(request))
            return JSONResponse({"deleted": {k: v for k, v in deleted.items() if k != "text"}})
        data = await json_body(request)

        def patch(session: Any) -> dict[str, Any]:
            changes = dict(data)
            result = None
            if table == "documents" and "status" in changes:
                status = changes.pop("status")
                if status not in ("active", "disabled"):
                    raise knowledge.Invalid("status must be active or disabled")
                result = knowledge.set_enabled(session, table, row_id, status == "active", actor=actor(request))
            if changes or result is None:
                result = knowledge.update_row(session, table, row_id, changes, actor=actor(request))
            return result
        return JSONResponse(await in_session(patch, request))
    return listing, row


@protected
async def edits(request: Request) -> JSONResponse:
    """The edit history: who changed what, when, before and after (?table_name=&row_id=&actor=)."""
    return await table_list(request, "edits")


@protected(write="admin")
async def settings_api(request: Request) -> JSONResponse:
    """GET: the staff settings ("" = built-in default); PUT {key: value}: change them (admins)."""
    if request.method == "PUT":
        data = await json_body(request)
        if isinstance(data.get("menu"), str) and data["menu"].strip():
            from bot import menu

            try:  # WeChat's limits and a key the bot answers for every click button
                menu.validate(json.loads(data["menu"]))
            except ValueError as exc:
                raise BadRequest(f"menu: {exc}", status=422) from None
        return JSONResponse(await in_session(knowledge.update_settings, request, data, actor=actor(request)))
    return JSONResponse(await in_session(knowledge.read_settings, request))


@protected(write="viewer")
async def hit_test(request: Request) -> JSONResponse:
    """{"text": question} -> intent, entities, ranked candidates and the exact reply; changes nothing."""
    from bot.admin import hittest

    data = await json_body(request)
    text = text_field(data, "text", limit=MAX_TEXT)
    state = request.app.state
    result = await hittest.hit_test(text, database_url=state.settings.database_url,
                                    rasa_url=state.settings.rasa_url, http=state.http)
    return JSONResponse(result.as_json())


@protected(write="viewer")
async def hit_test_batch(request: Request) -> JSONResponse:
    """{"rows": [{"question", "expected"}]} or {"csv": "question,expected\n..."} -> accuracy and each row."""
    from bot.admin import hittest

    data = await json_body(request)
    if isinstance(data.get("csv"), str):
        try:
            rows = hittest.parse_csv(data["csv"].encode("utf-8"))
        except ValueError as exc:
            raise BadRequest(str(exc), status=422) from None
    else:
        raw = data.get("rows")
        if not isinstance(raw, list) or not raw or not all(
                isinstance(r, dict) and isinstance(r.get("question"), str) and r["question"].strip() for r in raw):
            raise BadRequest("'rows' must be a non-empty list of {\"question\": str, \"expected\": str}", status=422)
        if len(raw) > hittest.MAX_BATCH:
            raise BadRequest(f"at most {hittest.MAX_BATCH} rows", status=422)
        rows = [(r["question"].strip()[:MAX_TEXT], str(r.get("expected") or "")) for r in raw]
    state = request.app.state
    return JSONResponse(await hittest.batch(rows, database_url=state.settings.database_url,
                                            rasa_url=state.settings.rasa_url, http=state.http))


@protected
async def unanswered_groups(request: Request) -> JSONResponse:
    """The unanswered queue grouped by similarity (?order=newest|count, ?handled=1 to include handled)."""
    from kb import unanswered as kb_unanswered

    order = "count" if request.query_params.get("order") == "count" else "newest"
    handled = request.query_params.get("handled") in ("1", "true")
    groups = await in_session(lambda s: [g.as_json() for g in kb_unanswered.groups(
        s, include_handled=handled, order=order)], request)
    return JSONResponse({"groups": groups})


def _ids(data: dict[str, Any]) -> list[int]:
    ids = data.get("ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
        raise BadRequest("'ids' must be a non-empty list of numbers", status=422)
    return ids


@protected
async def unanswered_handled(request: Request) -> JSONResponse:
    """{"ids": [...], "handled": true|false}: mark questions handled (or open again)."""
    from kb import unanswered as kb_unanswered

    data = await json_body(request)
    ids = _ids(data)
    handled = data.get("handled", True)
    if not isinstance(handled, bool):
        raise BadRequest("'handled' must be true or false", status=422)
    n = await in_session(kb_unanswered.mark_handled, request, ids, actor=actor(request), handled=handled)
    return JSONResponse({"changed": n})


@protected
async def unanswered_faq(request: Request) -> JSONResponse:
    """{"ids", "question", "answer", "alt_questions"?}: a Q&A pair from a group; the group is handled."""
    from kb import unanswered as kb_unanswered

    data = await json_body(request)
    ids = _ids(data)
    alts = data.get("alt_questions") or []
    if not isinstance(alts, list) or not all(isinstance(a, str) for a in alts):
        raise BadRequest("'alt_questions' must be a list of strings")
    faq = await in_session(kb_unanswered.answer_as_faq, request, ids, question=text_field(data, "question", limit=MAX_TEXT),
                           answer=text_field(data, "answer", limit=2000), alt_questions=alts, actor=actor(request))
    return JSONResponse(faq, status_code=201)


@protected
async def stats(request: Request) -> JSONResponse:
    """The dashboard's figures (?days=14): messages per day, answered rate, top intents and gaps."""
    from kb import dashboard

    try:
        days = min(max(int(request.query_params.get("days") or 14), 1), 90)
    except ValueError:
        raise BadRequest("days must be a number") from None
    tz = request.app.state.settings.tz
    return JSONResponse(await in_session(lambda s: dashboard.stats(s, days=days, tz=tz), request))


@protected(read="admin", write="admin")
async def users(request: Request) -> JSONResponse:
    """GET: the staff accounts; POST {"username", "password", "role"}: a new one (admins)."""
    if request.method == "GET":
        return JSONResponse({"users": await in_session(accounts.list_users, request)})
    data = await json_body(request)
    user = await in_session(lambda s: accounts.user_dict(accounts.create_user(
        s, text_field(data, "username", limit=50), str(data.get("password") or ""),
        str(data.get("role") or "viewer"), actor=actor(request))), request)
    return JSONResponse(user, status_code=201)


@protected(read="admin", write="admin")
async def user(request: Request) -> JSONResponse:
    """PATCH {"role"?, "active"?, "password"?}: change an account (admins)."""
    user_id = _row_id(request)
    data = await json_body(request)
    unknown = sorted(set(data) - {"role", "active", "password"})
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}", status=422)
    if "active" in data and not isinstance(data["active"], bool):
        raise BadRequest("'active' must be true or false", status=422)

    def change(session: Any) -> dict[str, Any]:
        if "password" in data:
            accounts.set_password(session, user_id, str(data["password"] or ""), actor=actor(request))
        u = accounts.update_user(session, user_id, role=data.get("role"), active=data.get("active"),
                                 actor=actor(request))
        return accounts.user_dict(u)
    return JSONResponse(await in_session(change, request))


def _mask(openid: str) -> str:
    return openid if len(openid) <= 8 else f"{openid[:4]}…{openid[-4:]}"


@protected
async def subscribers(request: Request) -> JSONResponse:
    """Subscription counts and subscribers (?active=1|0), openids masked."""
    from kb import reminders

    active = {"1": True, "0": False}.get(request.query_params.get("active", ""))

    def read(session: Any) -> dict[str, Any]:
        subs = reminders.list_subscribers(session, active=active, limit=1000)
        for sub in subs:
            sub["openid"] = _mask(sub["openid"])
        return {"summary": reminders.subscribers_summary(session), "subscribers": subs}
    return JSONResponse(await in_session(read, request))


@protected
async def pushes(request: Request) -> JSONResponse:
    """The push log, newest first (?status=&event_id=), with delivery results; openids masked."""
    from kb import reminders

    params = request.query_params
    try:
        event_id = int(params["event_id"]) if params.get("event_id") else None
        limit = int(params.get("limit") or 100)
    except ValueError:
        raise BadRequest("event_id and limit must be numbers") from None

    def read(session: Any) -> dict[str, Any]:
        rows = reminders.push_log(session, limit=limit, event_id=event_id, status=params.get("status") or None)
        for row in rows:
            row["openid"] = _mask(row["openid"])
        return {"pushes": rows, "counts": reminders.push_counts(session, event_id)}
    return JSONResponse(await in_session(read, request))


@protected
async def event_test(request: Request) -> JSONResponse:
    """{"openid"}: send this event's reminder to one citizen now (a staff member's own openid)."""
    from datetime import datetime, timezone

    from bot.push import Pusher
    from kb.models import Event
    from kb.reminders import Reminder

    event_id = _event_id(request)
    openid = text_field(await json_body(request), "openid", limit=100)
    now = datetime.now(timezone.utc)

    def make(session: Any) -> Reminder | None:
        ev = session.get(Event, event_id)
        if ev is None:
            return None
        return Reminder(ev.id, ev.title, openid, now, kb_events.as_utc(ev.starts_at) or now,
                        f"test:{ev.id}:{openid}:{now:%Y%m%dT%H%M%S%f}")
    reminder = await in_session(make, request)
    if reminder is None:
        raise BadRequest(f"no event {event_id}", status=404)
    settings = request.app.state.settings
    outcome = await run_in_threadpool(Pusher(settings, attempts=1, rate_per_second=0).deliver, reminder, now)
    return JSONResponse({"status": outcome.status, "channel": outcome.channel, "errcode": outcome.errcode,
                         "errmsg": outcome.errmsg, "key": outcome.key})


_staff_routes = []
for _table in ("documents", "passages", "facts", "faqs", "synonyms"):
    _listing, _row = table_endpoints(_table)
    if _table in ("passages", "facts"):
        _staff_routes.append(Route(f"/api/{_table}", _listing, methods=["GET"]))
    elif _table == "synonyms":
        _staff_routes.append(Route(f"/api/{_table}", _listing, methods=["GET", "POST"]))
    _staff_routes.append(Route(f"/api/{_table}/{{row_id}}", _row, methods=["GET", "PATCH", "DELETE"]))


routes = [
    Route("/api/ask", ask, methods=["POST"]),
    Route("/api/messages", messages, methods=["GET"]),
    Route("/api/unanswered", unanswered, methods=["GET"]),
    Route("/api/documents", documents, methods=["GET", "POST"]),
    Route("/api/faqs", faqs, methods=["GET", "POST"]),
    Route("/api/events", events, methods=["GET", "POST"]),
    Route("/api/events/{event_id}", event, methods=["GET", "PUT", "DELETE"]),
    Route("/api/events/{event_id}/test", event_test, methods=["POST"]),
    *_staff_routes,
    Route("/api/edits", edits, methods=["GET"]),
    Route("/api/settings", settings_api, methods=["GET", "PUT"]),
    Route("/api/hittest", hit_test, methods=["POST"]),
    Route("/api/hittest/batch", hit_test_batch, methods=["POST"]),
    Route("/api/unanswered/groups", unanswered_groups, methods=["GET"]),
    Route("/api/unanswered/handled", unanswered_handled, methods=["POST"]),
    Route("/api/unanswered/faq", unanswered_faq, methods=["POST"]),
    Route("/api/stats", stats, methods=["GET"]),
    Route("/api/users", users, methods=["GET", "POST"]),
    Route("/api/users/{row_id}", user, methods=["PATCH"]),
    Route("/api/subscribers", subscribers, methods=["GET"]),
    Route("/api/pushes", pushes, methods=["GET"]),
]
