"""Log-in, log-out, one's own account, and (for admins) everyone's accounts."""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.admin.auth import LoginLimiter, check_csrf, client_ip, current_staff, log_in, log_out, page
from bot.admin.forms import form_text, in_db
from bot.admin.render import error_page, flash, redirect, render
from kb import accounts


def _safe_next(value: str | None) -> str:
    """Only a path inside the console: never an open redirect to another site."""
    if value and value.startswith("/admin") and not value.startswith("//") and "\\" not in value:
        return value
    return "/admin/"


def login_endpoint(limiter: LoginLimiter):  # noqa: ANN201
    async def login(request: Request) -> Response:
        nxt = _safe_next(request.query_params.get("next"))
        if request.method == "GET":
            if await current_staff(request) is not None:
                return redirect(nxt)
            return render(request, "login.html", next=nxt, error="", username="", title="登录")
        try:
            form = await request.form(max_files=0, max_fields=10)
        except Exception:
            return error_page(request, 400, "表单无法读取", "请刷新页面后重试。")
        username = str(form.get("username") or "").strip()[:100]
        password = str(form.get("password") or "")[:200]
        nxt = _safe_next(str(form.get("next") or ""))
        if not check_csrf(request, form.get("csrf")):
            return render(request, "login.html", next=nxt, username=username, status_code=403,
                          error="页面已过期，请重新输入后登录。", title="登录")
        ip = client_ip(request)
        wait = limiter.retry_after(ip, username)
        if wait:
            return render(request, "login.html", next=nxt, username=username, status_code=429,
                          error=f"登录失败次数过多，请 {wait // 60 + 1} 分钟后再试。", title="登录",
                          headers={"Retry-After": str(wait)})
        user = await in_db(request, _authenticate, username, password)
        if user is None:
            limiter.failed(ip, username)
            return render(request, "login.html", next=nxt, username=username, status_code=401,
                          error="用户名或密码不正确。", title="登录")
        limiter.succeeded(ip, username)
        log_in(request, user)
        return redirect(nxt)
    return login


class _User:
    def __init__(self, id: int, password_hash: str) -> None:  # noqa: A002
        self.id, self.password_hash = id, password_hash


def _authenticate(session: Any, username: str, password: str) -> _User | None:
    user = accounts.authenticate(session, username, password)
    return _User(user.id, user.password_hash) if user else None


def _change_password(session: Any, user_id: int, password: str, actor: str) -> _User:
    user = accounts.set_password(session, user_id, password, actor=actor)
    return _User(user.id, user.password_hash)


async def logout(request: Request) -> Response:
    try:
        form = await request.form(max_files=0, max_fields=5)
    except Exception:
        form = {}
    if check_csrf(request, form.get("csrf")):
        log_out(request)
    return redirect("/admin/login")


@page("viewer")
async def account_page(request: Request) -> Response:
    staff = request.state.staff
    error = ""
    token = None
    if request.method == "POST":
        action = form_text(request, "action")
        if action == "password":
            current, new, again = (form_text(request, k) for k in ("current", "new", "again"))
            if new != again:
                error = "两次输入的新密码不一致。"
            else:
                ok = await in_db(request, lambda s: accounts.authenticate(s, staff.username, current) is not None)
                if not ok:
                    error = "当前密码不正确。"
                else:
                    try:
                        user = await in_db(request, _change_password, staff.id, new, staff.username)
                    except accounts.AccountError as exc:
                        error = str(exc)
                    else:
                        log_in(request, user)  # this session stays, the others end
                        flash(request, "密码已修改；其他设备上的登录已失效，个人 API 令牌已作废。")
                        return redirect("/admin/account")
        elif action == "token":
            token = await in_db(request, accounts.issue_api_token, staff.id, actor=staff.username)
        elif action == "revoke":
            await in_db(request, accounts.revoke_api_token, staff.id, actor=staff.username)
            flash(request, "个人 API 令牌已作废。")
            return redirect("/admin/account")
    has_token = await in_db(request, accounts.has_api_token, staff.id)
    return render(request, "account.html", error=error, token=token, has_token=has_token, title="我的账号",
                  status_code=422 if error else 200)


@page("admin")
async def users_page(request: Request) -> Response:
    staff = request.state.staff
    error = ""
    values = {"username": "", "role": "editor"}
    if request.method == "POST":
        action = form_text(request, "action")
        try:
            if action == "create":
                values = {"username": form_text(request, "username"), "role": form_text(request, "role")}
                await in_db(request, lambda s: accounts.create_user(
                    s, values["username"], form_text(request, "password"), values["role"], actor=staff.username))
                flash(request, f"已创建账号 {values['username']}。")
                return redirect("/admin/users")
            user_id = int(form_text(request, "user_id") or 0)
            if action == "update":
                active = form_text(request, "active") == "1"
                await in_db(request, lambda s: accounts.update_user(
                    s, user_id, role=form_text(request, "role"), active=active, actor=staff.username))
                flash(request, "账号已更新。")
            elif action == "password":
                await in_db(request, accounts.set_password, user_id, form_text(request, "password"),
                            actor=staff.username)
                flash(request, "密码已重置，该账号的登录和 API 令牌已失效。")
            return redirect("/admin/users")
        except accounts.AccountError as exc:
            error = str(exc)
        except ValueError:
            error = "参数不正确。"
    users = await in_db(request, accounts.list_users)
    return render(request, "users.html", users=users, error=error, values=values, roles=accounts.ROLES,
                  title="账号", status_code=422 if error else 200)


def routes(limiter: LoginLimiter) -> list[Route]:
    return [
        Route("/login", login_endpoint(limiter), methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/account", account_page, methods=["GET", "POST"]),
        Route("/users", users_page, methods=["GET", "POST"]),
    ]
