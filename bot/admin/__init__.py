"""The staff console at /admin: server-rendered pages in Chinese, usable on a phone.

`mount(settings)` gives the Starlette Mount that bot/app.py adds to its routes;
`bootstrap(settings)` creates the first admin account when there is none.
Sessions live in a signed cookie scoped to /admin, so the WeChat endpoint and
the API never see or need it.
"""
from __future__ import annotations

from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.admin import views_accounts, views_events, views_knowledge, views_tools
from bot.admin.auth import ABSOLUTE_SECONDS, SESSION_COOKIE, LoginLimiter, secret_key
from bot.admin.render import HERE
from bot.config import Settings

MAX_BODY = 12 * 1024 * 1024  # an uploaded report (10 MB) and the form around it

SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
                                 b"script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'"),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """No framing, no foreign scripts, no caching of pages that show citizens' questions."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/admin/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for key, value in SECURITY_HEADERS:
                    if key not in present and not (static and key == b"cache-control"):
                        headers.append((key, value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def mount(settings: Settings) -> Mount:
    limiter = LoginLimiter()
    routes = [
        *views_accounts.routes(limiter),
        *views_tools.routes(),
        *views_knowledge.routes(),
        *views_events.routes(),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="admin-static"),
    ]
    middleware = [
        Middleware(SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=secret_key(settings), session_cookie=SESSION_COOKIE,
                   max_age=ABSOLUTE_SECONDS, path="/admin", same_site="lax",
                   https_only=settings.public_url.startswith("https")),
    ]
    return Mount("/admin", routes=routes, middleware=middleware, max_body_size=MAX_BODY)


def bootstrap(settings: Settings) -> None:
    """The first admin from BOT_ADMIN_USER/BOT_ADMIN_PASSWORD, or with a password generated and printed once."""
    from kb.accounts import ensure_first_admin
    from kb.db import session_scope

    with session_scope(settings.database_url) as session:
        generated = ensure_first_admin(session, settings.admin_user, settings.admin_password)
    if generated:
        print(f"Staff console: first admin account '{settings.admin_user}' created with password "
              f"{generated} (shown once; change it under /admin/account, or `bot admin set-password`).",
              flush=True)
