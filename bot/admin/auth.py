"""Who is using the console: signed session cookies, CSRF tokens, roles, login throttling.

The session cookie (Starlette's SessionMiddleware, itsdangerous-signed) holds
only the account id, a stamp of its password hash, the log-in time and the
CSRF token. Every request reloads the account, so a disabled account or a
changed password ends its sessions at once. Sessions end after IDLE_SECONDS
without a request and ABSOLUTE_SECONDS after log-in, whatever happens.
"""
from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from functools import wraps
from typing import Any, Awaitable, Callable
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from bot.config import Settings, persistent_secret
from kb import accounts
from kb.db import session_scope

SESSION_COOKIE = "kexie_console"
IDLE_SECONDS = 2 * 3600
ABSOLUTE_SECONDS = 12 * 3600
SECRET_FILE = "console_secret"


def secret_key(settings: Settings) -> str:
    """BOT_SECRET_KEY when set (several web servers must share it), else a key generated once into var/."""
    return settings.secret_key or persistent_secret(SECRET_FILE)


@dataclass(frozen=True)
class Staff:
    id: int
    username: str
    role: str

    def can(self, role: str) -> bool:
        return accounts.at_least(self.role, role)


class LoginLimiter:
    """At most `per_user` failed log-ins per (address, name) and `per_ip` per address in `window` s."""

    def __init__(self, per_user: int = 5, per_ip: int = 20, window: float = 300.0) -> None:
        self.per_user, self.per_ip, self.window = per_user, per_ip, window
        self._fails: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        q = self._fails[key]
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def retry_after(self, ip: str, username: str) -> int:
        """Seconds until this address may try this name again; 0 when it may now."""
        now = time.monotonic()
        with self._lock:
            waits = []
            for key, limit in (((ip, username.lower()), self.per_user), ((ip, ""), self.per_ip)):
                q = self._recent(key, now)
                if len(q) >= limit:
                    waits.append(q[-limit] + self.window - now)
            return int(max(waits)) + 1 if waits else 0

    def failed(self, ip: str, username: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._fails[(ip, username.lower())].append(now)
            self._fails[(ip, "")].append(now)

    def succeeded(self, ip: str, username: str) -> None:
        with self._lock:
            self._fails.pop((ip, username.lower()), None)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "-"


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(24)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, submitted: Any) -> bool:
    expected = request.session.get("csrf")
    return bool(expected) and isinstance(submitted, str) and hmac.compare_digest(submitted, expected)


def log_in(request: Request, user: Any) -> None:
    request.session.clear()
    now = int(time.time())
    request.session.update({"uid": user.id, "stamp": accounts.stamp(user), "login_at": now, "seen": now,
                            "csrf": secrets.token_urlsafe(24)})


def log_out(request: Request) -> None:
    request.session.clear()


def _load_staff(database_url: str, uid: int, stamp: str) -> Staff | None:
    with session_scope(database_url) as session:
        user = accounts.get_user(session, uid)
        if user is None or not user.active or not hmac.compare_digest(accounts.stamp(user), stamp):
            return None
        return Staff(user.id, user.username, user.role)


async def current_staff(request: Request) -> Staff | None:
    data = request.session
    uid, stamp = data.get("uid"), data.get("stamp")
    if not isinstance(uid, int) or not isinstance(stamp, str):
        return None
    now = int(time.time())
    if now - int(data.get("login_at") or 0) > ABSOLUTE_SECONDS or now - int(data.get("seen") or 0) > IDLE_SECONDS:
        data.clear()
        return None
    staff = await run_in_threadpool(_load_staff, request.app.state.settings.database_url, uid, stamp)
    if staff is None:
        data.clear()
        return None
    if now - int(data.get("seen") or 0) > 60:  # refresh the idle clock, at most once a minute
        data["seen"] = now
    return staff


Handler = Callable[[Request], Awaitable[Response]]


def page(role: str = "viewer") -> Callable[[Handler], Handler]:
    """A console page: logged in, at least `role`; a POST must carry the session's CSRF token.

    The parsed form is in `request.state.form` (uploads allowed), the account in `request.state.staff`.
    """
    def decorate(fn: Handler) -> Handler:
        @wraps(fn)
        async def wrapper(request: Request) -> Response:
            from bot.admin.render import error_page

            staff = await current_staff(request)
            if staff is None:
                if request.method == "GET":
                    nxt = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                    return RedirectResponse(f"/admin/login?next={quote(nxt)}", status_code=303)
                return error_page(request, 401, "请先登录", "登录已过期，请重新登录后再提交。")
            request.state.staff = staff
            if request.method == "POST":
                try:
                    form = await request.form(max_files=5, max_fields=200, max_part_size=10 * 1024 * 1024)
                except Exception:
                    return error_page(request, 400, "表单无法读取", "提交的内容格式不对或太大，请重试。")
                request.state.form = form
                if not check_csrf(request, form.get("csrf")):
                    return error_page(request, 403, "表单已过期", "页面已过期（安全校验失败），请刷新页面后重新提交。")
            if not staff.can(role):
                return error_page(request, 403, "没有权限",
                                  f"此操作需要“{accounts.ROLE_LABELS[role]}”或更高权限，"
                                  f"您的账号是“{accounts.ROLE_LABELS.get(staff.role, staff.role)}”。")
            return await fn(request)
        return wrapper
    return decorate
