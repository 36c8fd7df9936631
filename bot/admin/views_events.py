"""Console pages for events and reminders: events, subscribers, the push log, a test reminder.

The rules live in kb.events (validation, history), kb.reminders (who is owed
what, the push log) and bot.push (sending); these pages only call them. The
scheduler notices an event change through the knowledge version and moves
its jobs, so saving here is all staff have to do.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.admin.auth import page
from bot.admin.edit import Outcome, save_edit
from bot.admin.forms import field_error, form_text, in_db, int_param
from bot.admin.render import error_page, flash, redirect, render
from kb import events as kb_events
from kb import knowledge
from kb import reminders as kb_reminders
from kb.models import Event

FIELDS = [  # (name, label, widget, help)
    ("title", "活动名称", "input", ""),
    ("kind", "类别", "select", ""),
    ("starts_at", "开始时间", "datetime", "按 BOT_TZ 时区填写"),
    ("ends_at", "结束时间", "datetime", ""),
    ("location", "地点", "input", ""),
    ("region", "地区", "input", "例如 成都；订阅了该地区的市民会收到提醒"),
    ("organiser", "主办单位", "input", ""),
    ("description", "介绍", "textarea", ""),
    ("registration", "报名方式", "textarea", "只写真实的报名渠道、电话或截止时间"),
    ("remind_at", "提醒时间", "textarea", "每行一个，例如 2025-05-01 09:00；留空则按默认（设置页）提醒"),
]
LABELS = {name: label for name, label, _, _ in FIELDS}
PUSH_STATUS = {"pending": "发送中", "sent": "已送达", "failed": "失败", "skipped": "未发送", "dropped": "已放弃"}


def mask(openid: str) -> str:
    """An openid staff can tell apart but not copy: o6_bmjrPTlm6_2sgVt7hMZOPfL2M -> o6_b…fL2M."""
    return openid if len(openid) <= 8 else f"{openid[:4]}…{openid[-4:]}"


def _local_input(iso: str | None, tz: str) -> str:
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M")


def _form_values(ev: dict[str, Any], tz: str) -> dict[str, str]:
    values = {name: str(ev.get(name) or "") for name in LABELS}
    values["starts_at"] = _local_input(ev.get("starts_at"), tz)
    values["ends_at"] = _local_input(ev.get("ends_at"), tz)
    values["remind_at"] = "\n".join(_local_input(r, tz).replace("T", " ") for r in ev.get("remind_at") or [])
    return values


def _submitted(request: Request) -> tuple[dict[str, str], dict[str, Any]]:
    """The form as typed (to show again) and as kb.events takes it."""
    typed = {name: form_text(request, name) for name in LABELS}
    data: dict[str, Any] = dict(typed)
    data["remind_at"] = [line.strip() for line in typed["remind_at"].splitlines() if line.strip()]
    return typed, data


def _error(exc: Exception) -> tuple[dict[str, str], str]:
    name, message = field_error(str(exc), LABELS)
    return ({name: message}, "") if name else ({}, message)


def _list(session: Any, q: str, show_cancelled: bool, tz: str) -> list[dict[str, Any]]:
    events = kb_events.list_events(session, include_cancelled=show_cancelled)
    if q:
        events = [e for e in events if q in (e.get("title") or "") or q in (e.get("region") or "")
                  or q in (e.get("location") or "")]
    for e in events:
        ev = session.get(Event, e["id"])
        e["reminders"] = [t.isoformat() for t in kb_reminders.reminder_times(ev, tz)]
        e["from_report"] = ev.document_id is not None
    return events


@page("viewer")
async def events_page(request: Request) -> Response:
    tz = request.app.state.settings.tz
    q = (request.query_params.get("q") or "").strip()
    show_cancelled = request.query_params.get("cancelled") == "1"
    events = await in_db(request, _list, q, show_cancelled, tz)
    per_page = 30
    pages = max(1, -(-len(events) // per_page))
    page_no = min(max(1, int_param(request.query_params.get("page"))), pages)
    return render(request, "events.html", events=events[(page_no - 1) * per_page: page_no * per_page],
                  total=len(events), q=q, show_cancelled=show_cancelled, page_no=page_no, pages=pages, title="活动")


@page("editor")
async def event_new(request: Request) -> Response:
    tz = request.app.state.settings.tz
    values = {name: "" for name in LABELS}
    values["kind"] = "科普活动"
    errors: dict[str, str] = {}
    general = ""
    if request.method == "POST":
        values, data = _submitted(request)
        try:
            ev = await in_db(request, kb_events.create_event, data, actor=request.state.staff.username, tz=tz)
        except knowledge.Invalid as exc:
            errors, general = _error(exc)
        else:
            flash(request, "活动已创建，提醒已按时间安排。")
            return redirect(f"/admin/events/{ev['id']}")
    return render(request, "event_form.html", values=values, errors=errors, general=general, fields=FIELDS,
                  kinds=kb_events.EVENT_KINDS, ev=None, title="新建活动", status_code=422 if (errors or general) else 200)


def _detail(session: Any, event_id: int, tz: str) -> dict[str, Any] | None:
    ev = kb_events.get_event(session, event_id)
    if ev is None:
        return None
    row = session.get(Event, event_id)
    ev["reminders"] = [t.isoformat() for t in kb_reminders.reminder_times(row, tz)]
    ev["from_report"] = row.document_id is not None
    ev["remindable"] = kb_reminders.remindable(row)
    ev["push_counts"] = kb_reminders.push_counts(session, event_id)
    ev["pushes"] = kb_reminders.push_log(session, limit=50, event_id=event_id)
    ev["history"] = knowledge.history(session, "events", event_id, limit=20)
    return ev


@page("viewer")
async def event_edit(request: Request) -> Response:
    tz = request.app.state.settings.tz
    event_id = request.path_params["event_id"]
    outcome, values = Outcome(), None
    if request.method == "POST":
        values, data = _submitted(request)
        outcome = await save_edit(
            request, lambda s: kb_events.update_event(s, event_id, data, actor=request.state.staff.username, tz=tz),
            labels=LABELS, what="活动", gone="这个活动不存在。", saved="已保存；提醒时间随之调整。")
        if outcome.response is not None:
            return outcome.response
    errors, general = outcome.errors, outcome.general
    ev = await in_db(request, _detail, event_id, tz)
    if ev is None:
        return error_page(request, 404, "找不到", "这个活动不存在。")
    for p in ev["pushes"]:
        p["openid_masked"] = mask(p["openid"])
    return render(request, "event_form.html", values=values or _form_values(ev, tz), errors=errors, general=general,
                  fields=FIELDS, kinds=kb_events.EVENT_KINDS, ev=ev, push_status=PUSH_STATUS,
                  title=ev["title"], status_code=422 if (errors or general) else 200)


@page("editor")
async def event_cancel(request: Request) -> Response:
    event_id = request.path_params["event_id"]
    if form_text(request, "confirm") != "yes":
        return redirect(f"/admin/events/{event_id}")
    try:
        await in_db(request, kb_events.cancel_event, event_id, actor=request.state.staff.username)
    except LookupError:
        return error_page(request, 404, "找不到", "这个活动不存在。")
    flash(request, "活动已取消，尚未发送的提醒不会再发。")
    return redirect(f"/admin/events/{event_id}")


@page("editor")
async def event_test_push(request: Request) -> Response:
    """Send this event's reminder to one openid now (a staff member's own), through the real sending path."""
    from bot.push import Pusher
    from kb.events import as_utc
    from kb.reminders import Reminder

    settings = request.app.state.settings
    event_id = request.path_params["event_id"]
    openid = form_text(request, "openid").strip()
    if not openid or len(openid) > 100:
        flash(request, "请填写接收测试提醒的 openid（例如您自己的）。", "error")
        return redirect(f"/admin/events/{event_id}")
    now = datetime.now(timezone.utc)

    def make() -> Reminder | None:
        from kb.db import session_scope

        with session_scope(settings.database_url) as session:
            ev = session.get(Event, event_id)
            if ev is None:
                return None
            return Reminder(ev.id, ev.title, openid, now, as_utc(ev.starts_at) or now,
                            f"test:{ev.id}:{openid}:{now:%Y%m%dT%H%M%S%f}")

    reminder = await run_in_threadpool(make)
    if reminder is None:
        return error_page(request, 404, "找不到", "这个活动不存在。")
    outcome = await run_in_threadpool(Pusher(settings, attempts=1, rate_per_second=0).deliver, reminder, now)
    label = PUSH_STATUS.get(outcome.status, outcome.status)
    detail = f"（{outcome.channel}）" if outcome.channel else ""
    if outcome.errcode or outcome.errmsg:
        detail += f" {outcome.errcode or ''} {outcome.errmsg}".rstrip()
    flash(request, f"测试提醒发给 {mask(openid)}：{label}{detail}", "ok" if outcome.status == "sent" else "error")
    return redirect(f"/admin/events/{event_id}")


def _subscribers(session: Any, params: dict[str, str]) -> dict[str, Any]:
    active = {"1": True, "0": False}.get(params.get("active", ""))
    status = params.get("status") or None
    subs = kb_reminders.list_subscribers(session, active=active, limit=200)
    pushes = kb_reminders.push_log(session, limit=100, status=status)
    for s in subs:
        s["openid_masked"] = mask(s.pop("openid"))
    for p in pushes:
        p["openid_masked"] = mask(p.pop("openid"))
    return {"summary": kb_reminders.subscribers_summary(session), "subscribers": subs, "pushes": pushes,
            "counts": kb_reminders.push_counts(session)}


@page("viewer")
async def subscribers_page(request: Request) -> Response:
    params = dict(request.query_params)
    data = await in_db(request, _subscribers, params)
    return render(request, "subscribers.html", **data, active=params.get("active", ""),
                  status=params.get("status", ""), push_status=PUSH_STATUS, title="订阅与推送")


def routes() -> list[Route]:
    return [
        Route("/events", events_page),
        Route("/events/new", event_new, methods=["GET", "POST"]),
        Route("/events/{event_id:int}", event_edit, methods=["GET", "POST"]),
        Route("/events/{event_id:int}/cancel", event_cancel, methods=["POST"]),
        Route("/events/{event_id:int}/test", event_test_push, methods=["POST"]),
        Route("/subscribers", subscribers_page),
    ]
