"""Rendering console pages: Jinja2 templates, flash messages, list links, error pages."""
from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from bot.admin.auth import csrf_token
from kb.accounts import ROLE_LABELS

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

NAV = [  # (path, label, minimum role)
    ("/admin/", "概览", "viewer"),
    ("/admin/hittest", "命中测试", "viewer"),
    ("/admin/unanswered", "未答问题", "viewer"),
    ("/admin/documents", "报告", "viewer"),
    ("/admin/passages", "段落", "viewer"),
    ("/admin/facts", "数据", "viewer"),
    ("/admin/faqs", "问答", "viewer"),
    ("/admin/synonyms", "同义词", "viewer"),
    ("/admin/events", "活动", "viewer"),
    ("/admin/subscribers", "订阅与推送", "viewer"),
    ("/admin/history", "修改记录", "viewer"),
    ("/admin/settings", "设置", "viewer"),
    ("/admin/users", "账号", "admin"),
]

TABLE_LABELS = {"documents": "报告", "passages": "段落", "facts": "数据", "faqs": "问答", "synonyms": "同义词",
                "events": "活动", "settings": "设置", "staff_users": "账号", "unanswered": "未答问题",
                "subscribers": "订阅", "push_log": "推送"}
ACTION_LABELS = {"create": "新建", "update": "修改", "delete": "删除", "import": "导入", "disable": "停用",
                 "enable": "启用", "handled": "标记已处理", "reopen": "重新打开", "password": "改密码",
                 "api_token": "生成 API 令牌", "subscribe": "订阅", "unsubscribe": "退订", "unfollowed": "取消关注",
                 "cancel": "取消"}
INTENT_LABELS = {"greet": "打招呼", "goodbye": "告别", "thank": "感谢", "bot_challenge": "问是不是机器人",
                 "human_handoff": "转人工", "out_of_scope": "超出范围", "subscribe": "订阅提醒", "unsubscribe": "退订",
                 "ask_event": "问活动", "ask_competition": "问竞赛", "ask_platform": "问平台", "ask_statistics": "问数据",
                 "follow_up": "追问", "nlu_fallback": "没听懂，查知识库", "degraded": "Rasa 不可用时直接查知识库"}
STATUS_LABELS = {"active": "使用中", "disabled": "已停用", "superseded": "旧版本"}


def _local(value: Any, tz: str = "Asia/Shanghai", fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=ZoneInfo("UTC"))
        return value.astimezone(ZoneInfo(tz)).strftime(fmt)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _pretty(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


templates.env.filters["local"] = _local
templates.env.filters["pretty"] = _pretty
templates.env.globals.update(ROLE_LABELS=ROLE_LABELS, TABLE_LABELS=TABLE_LABELS, ACTION_LABELS=ACTION_LABELS,
                             STATUS_LABELS=STATUS_LABELS, INTENT_LABELS=INTENT_LABELS)


def flash(request: Request, message: str, kind: str = "ok") -> None:
    """A message shown once on the next page (after a redirect)."""
    messages = list(request.session.get("flash") or [])
    messages.append([kind, message])
    request.session["flash"] = messages[-5:]


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def list_url(request: Request, **changes: Any) -> str:
    """The current list's URL with some query parameters changed (page, sort, filters)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = str(value)
    if "page" not in changes and any(k != "page" for k in changes):
        params.pop("page", None)  # a new filter or sort starts at page 1
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


def sort_link(request: Request, column: str, current: str) -> tuple[str, str]:
    """URL that sorts by `column` (toggling direction) and the arrow to show now."""
    if current == column:
        return list_url(request, sort=f"-{column}"), " ↑"
    if current == f"-{column}":
        return list_url(request, sort=column), " ↓"
    return list_url(request, sort=column), ""


def render(request: Request, name: str, status_code: int = 200, headers: dict[str, str] | None = None,
           **context: Any) -> HTMLResponse:
    staff = getattr(request.state, "staff", None)
    settings = request.app.state.settings
    context.update(
        staff=staff,
        csrf=csrf_token(request) if "session" in request.scope else "",
        nav=[(p, label) for p, label, role in NAV if staff is not None and staff.can(role)],
        path=request.url.path,
        flashes=request.session.pop("flash", []) if "session" in request.scope else [],
        tz=settings.tz,
        list_url=lambda **kw: list_url(request, **kw),
        sort_link=lambda col, cur: sort_link(request, col, cur),
    )
    return templates.TemplateResponse(request, name, context, status_code=status_code, headers=headers)


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    return render(request, "error.html", status_code=status, title=title, message=message)
