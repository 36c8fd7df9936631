"""Sending event reminders through WeChat: template messages, customer-service fallback.

A reminder goes out as a template message (BOT_PUSH_TEMPLATE_ID) when one is
configured, else — or when the template is refused for a reason that is not
the citizen's — as a customer-service text, which WeChat allows only within
48 hours of the citizen's last message (the message log tells).

Exactly once: the push-log row is committed *before* the API call
(kb.reminders.claim); a second scheduler, a re-run job or `bot push` finds the
key taken and sends nothing. Sends are paced (`rate_per_second`); transient
failures (WeChat's -1 "system busy", connection errors, HTTP 5xx) are retried a
bounded number of times, with `client_msg_id` on template messages so WeChat
itself drops a repeat of a send whose answer was lost. 43004 (not following),
43101 (refused) and 45015 (unreachable) pause the subscription with that reason
and are never retried.

Template fields: WeChat checks each value against the type its key starts with
(`thing3` is a thing). The limits enforced here: thing ≤ 20 characters,
phrase ≤ 5 Chinese characters only, character_string/number/letter ≤ 32 without
Chinese, name ≤ 10, phone_number ≤ 17, time/date as "2025年5月1日 14:00".
Which event field fills which key is the setting `push_template_fields`
(JSON, staff-editable), by default DEFAULT_TEMPLATE_FIELDS.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

import requests
from wechatpy.exceptions import WeChatClientException

from bot.config import Settings
from bot.wechat_api import AccountClient, make_client, meaning
from kb import reminders, subscriptions
from kb.db import get_setting, session_scope
from kb.events import as_utc
from kb.models import Event
from kb.reminders import Reminder

log = logging.getLogger("bot.push")

USER_GONE = {43004: "wechat-43004", 43101: "wechat-43101", 45015: "wechat-45015"}
TRANSIENT = {-1}  # "system busy, try again": WeChat did not take the message
TEMPLATE_FIELDS_SETTING = "push_template_fields"
DEFAULT_TEMPLATE_FIELDS = {"thing1": "title", "time2": "starts_at", "thing3": "location"}
UNSUBSCRIBE_HINT = "回复取消订阅可退订"
NOT_STATED = "未注明"
MAX_TEXT = 600  # characters of a customer-service reminder (WeChat's limit is 2048 bytes)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# -- what a reminder says ------------------------------------------------------------------------

@dataclass(frozen=True)
class EventView:
    """The event fields a reminder shows, read once (the row may change while we send)."""

    id: int
    title: str
    kind: str
    starts_at: datetime
    ends_at: datetime | None
    location: str
    region: str
    organiser: str
    registration: str
    date_text: str

    @classmethod
    def of(cls, ev: Event) -> "EventView":
        return cls(ev.id, ev.title, ev.kind, as_utc(ev.starts_at), as_utc(ev.ends_at),  # type: ignore[arg-type]
                   ev.location or "", ev.region or "", ev.organiser or "", ev.registration or "",
                   ev.date_text or "")


def format_time(value: datetime, tz: str, with_time: bool = True) -> str:
    """WeChat's time/date format: 2025年5月1日 14:00 (24-hour clock, in BOT_TZ)."""
    local = value.astimezone(ZoneInfo(tz))
    day = f"{local.year}年{local.month}月{local.day}日"
    return f"{day} {local:%H:%M}" if with_time else day


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_KEY = re.compile(r"^([a-z_]+?)(\d*)$")


def field_type(key: str) -> str:
    """`thing3` -> thing, `character_string2` -> character_string; old-style keys -> "" (unknown)."""
    m = _KEY.match(key)
    return m.group(1) if m else ""


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def format_field(key: str, value: Any, tz: str) -> str:
    """A value fitted to the limits of the field type named by `key` (see the module docstring)."""
    kind = field_type(key)
    if isinstance(value, datetime):
        return format_time(value, tz, with_time=kind != "date")
    text = re.sub(r"\s+", " ", str(value or "")).strip()
    if kind == "phrase":
        return "".join(_CJK.findall(text))[:5] or "提醒"
    if kind in ("character_string", "number", "letter", "symbol"):
        ascii_only = "".join(ch for ch in text if ord(ch) < 128 and not ch.isspace())
        if kind == "number":
            ascii_only = "".join(ch for ch in ascii_only if ch.isdigit() or ch == ".")
        elif kind == "letter":
            ascii_only = "".join(ch for ch in ascii_only if ch.isalpha())
        return ascii_only[: 5 if kind == "symbol" else 32]
    if kind == "phone_number":
        return "".join(ch for ch in text if ch.isdigit() or ch in "+-()")[:17]
    if kind == "name":
        return text[:10]
    return _cut(text, 20) or NOT_STATED  # thing, and conservatively anything unknown


def template_fields(settings_json: str) -> dict[str, str]:
    """The key -> event field mapping: the staff setting when it is valid JSON, else the default."""
    if settings_json:
        try:
            data = json.loads(settings_json)
            if isinstance(data, dict) and data and all(isinstance(k, str) and isinstance(v, str)
                                                       for k, v in data.items()):
                return data
        except ValueError:
            pass
        log.warning("setting %s is not a JSON object of strings; using the default", TEMPLATE_FIELDS_SETTING)
    return dict(DEFAULT_TEMPLATE_FIELDS)


def _source(ev: EventView, name: str) -> Any:
    if name == "unsubscribe_hint":
        return UNSUBSCRIBE_HINT
    if name == "event_id":
        return str(ev.id)
    return getattr(ev, name, "") if name in EventView.__dataclass_fields__ else ""


def template_data(ev: EventView, fields: dict[str, str], tz: str) -> dict[str, dict[str, str]]:
    """The `data` of a template message: every value within its field's limits."""
    return {key: {"value": format_field(key, _source(ev, source), tz)} for key, source in fields.items()}


def reminder_text(ev: EventView, tz: str) -> str:
    """The customer-service version: only what the event record says."""
    when = format_time(ev.starts_at, tz)
    if ev.ends_at:
        same_day = ev.ends_at.astimezone(ZoneInfo(tz)).date() == ev.starts_at.astimezone(ZoneInfo(tz)).date()
        when += f"至{ev.ends_at.astimezone(ZoneInfo(tz)):%H:%M}" if same_day else f"至{format_time(ev.ends_at, tz)}"
    lines = [f"【活动提醒】{ev.title}", f"时间：{when}"]
    if ev.location:
        lines.append(f"地点：{ev.location}")
    if ev.organiser:
        lines.append(f"主办：{ev.organiser}")
    if ev.registration:
        lines.append(f"报名：{_cut(ev.registration, 200)}")
    lines.append("回复“取消订阅”即可不再接收活动提醒。")
    return _cut("\n".join(lines), MAX_TEXT)


# -- pacing ----------------------------------------------------------------------------------

class RateLimiter:
    """At most `per_second` API calls a second from this process (a minimum gap between calls)."""

    def __init__(self, per_second: float, *, monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.gap = 1.0 / per_second if per_second > 0 else 0.0
        self.monotonic, self.sleep = monotonic, sleep
        self.next_at = 0.0
        self.lock = threading.Lock()

    def wait(self) -> None:
        with self.lock:
            now = self.monotonic()
            if now < self.next_at:
                self.sleep(self.next_at - now)
                now = self.next_at
            self.next_at = now + self.gap


# -- sending ---------------------------------------------------------------------------------

@dataclass
class Outcome:
    key: str
    status: str  # sent|failed|skipped|dropped|duplicate|(planned: template|custom|skip in a dry run)
    channel: str = ""
    errcode: int | None = None
    errmsg: str = ""
    attempts: int = 0


class _Failure(Exception):
    def __init__(self, errcode: int | None, errmsg: str, transient: bool) -> None:
        super().__init__(errmsg)
        self.errcode, self.errmsg, self.transient = errcode, errmsg, transient


class Pusher:
    """Sends reminders for one deployment; the scheduler holds one, `bot push due` plans with one."""

    def __init__(self, settings: Settings, client: AccountClient | None = None, *, rate_per_second: float = 10.0,
                 attempts: int = 3, backoff: float = 1.0, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.url = settings.database_url
        self.tz = settings.tz
        self._client = client
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.sleep = sleep
        self.clock = clock
        self.limiter = RateLimiter(rate_per_second, sleep=sleep)

    @property
    def client(self) -> AccountClient | None:
        if self._client is None:
            self._client = make_client(self.settings)
        return self._client

    # -- the scheduler's entry points ----------------------------------------------------------
    def run_reminder(self, event_id: int, remind_at: datetime, now: datetime | None = None) -> list[Outcome]:
        """The job of one (event, reminder time): send what is owed, or log it dropped when too late."""
        now = now or self.clock()
        with session_scope(self.url) as session:
            plan = reminders.plan(session, event_id, remind_at, now, self.tz)
        if plan.action == "drop":
            return [self.drop(r, now) for r in plan.reminders]
        if plan.action != "send":
            log.info("reminder %s@%s: %s, nothing to send", event_id, remind_at.isoformat(), plan.action)
            return []
        return [self.deliver(r, now) for r in plan.reminders]

    def send_due(self, now: datetime | None = None) -> list[Outcome]:
        """Send everything owed at `now` (what `bot push due` lists)."""
        now = now or self.clock()
        with session_scope(self.url) as session:
            owed = reminders.due_reminders(session, now, self.tz)
        return [self.deliver(r, now) for r in owed]

    def preview(self, now: datetime | None = None) -> list[tuple[Reminder, str]]:
        """Dry run: each owed reminder and the channel it would take now (template, custom, or skip)."""
        now = now or self.clock()
        out = []
        with session_scope(self.url) as session:
            for r in reminders.due_reminders(session, now, self.tz):
                if self.client is None:
                    channel = "skip (WECHAT_APPID/WECHAT_SECRET not set)"
                elif self.settings.push_template_id:
                    channel = "template"
                elif reminders.in_window(session, r.openid, now):
                    channel = "custom"
                else:
                    channel = "skip (no template, no message from the citizen within 48 h)"
                out.append((r, channel))
        return out

    # -- one reminder ---------------------------------------------------------------------------
    def drop(self, r: Reminder, now: datetime) -> Outcome:
        msg = (f"too late: the event started at {r.starts_at.isoformat()}, "
               f"the reminder was due at {r.remind_at.isoformat()}")
        with session_scope(self.url) as session:
            log_id = reminders.claim(session, r, status="dropped", errmsg=msg)
        if log_id is None:
            return Outcome(r.key, "duplicate")
        log.warning("push %s dropped: %s", log_id, msg)
        return Outcome(r.key, "dropped", errmsg=msg)

    def deliver(self, r: Reminder, now: datetime | None = None) -> Outcome:
        """Claim the push-log row (committed), then send, then record the result."""
        now = now or self.clock()
        with session_scope(self.url) as session:
            log_id = reminders.claim(session, r)
            if log_id is None:
                return Outcome(r.key, "duplicate")
            ev = session.get(Event, r.event_id)
            view = EventView.of(ev) if ev is not None else None
            window = reminders.in_window(session, r.openid, now)
            fields = template_fields(get_setting(session, TEMPLATE_FIELDS_SETTING))
        if view is None:
            outcome = Outcome(r.key, "failed", errmsg="the event no longer exists")
        else:
            outcome = self._send(r, view, window, fields)
        pause_reason = USER_GONE.get(outcome.errcode or 0) if outcome.status == "failed" else None
        with session_scope(self.url) as session:
            reminders.finish(session, log_id, status=outcome.status, channel=outcome.channel,
                             errcode=outcome.errcode, errmsg=outcome.errmsg, attempts=outcome.attempts,
                             sent_at=self.clock() if outcome.status == "sent" else None)
            if pause_reason:
                subscriptions.pause(session, r.openid, reason=pause_reason)
        log.info("push %s (event %s): %s%s%s", log_id, r.event_id, outcome.status,
                 f" via {outcome.channel}" if outcome.channel else "",
                 f", errcode {outcome.errcode} ({meaning(outcome.errcode)})" if outcome.errcode else "")
        return outcome

    def _send(self, r: Reminder, ev: EventView, window: bool, fields: dict[str, str]) -> Outcome:
        client = self.client
        if client is None:
            return Outcome(r.key, "skipped", errmsg="WECHAT_APPID/WECHAT_SECRET not set")
        template_id = self.settings.push_template_id
        attempts = 0
        if template_id:
            payload = {"touser": r.openid, "template_id": template_id, "data": template_data(ev, fields, self.tz),
                       "client_msg_id": hashlib.sha1(r.key.encode("utf-8")).hexdigest()[:32]}
            failure, tries = self._call(lambda: client.call(client.post, "message/template/send", data=payload),
                                        retry_timeouts=True)
            attempts += tries
            if failure is None:
                return Outcome(r.key, "sent", "template", attempts=attempts)
            if failure.errcode in USER_GONE or failure.transient or not window:
                return Outcome(r.key, "failed", "template", failure.errcode, failure.errmsg, attempts)
            log.warning("template message refused (%s: %s); falling back to a customer-service message",
                        failure.errcode, failure.errmsg)
        elif not window:
            return Outcome(r.key, "skipped", errmsg="no template configured and no message from the citizen "
                                                    "in the last 48 hours")
        text = reminder_text(ev, self.tz)
        # A read timeout may hide a delivered message and custom messages have no client_msg_id: no retry then.
        failure, tries = self._call(lambda: client.call(client.message.send_text, r.openid, text),
                                    retry_timeouts=False)
        attempts += tries
        if failure is None:
            return Outcome(r.key, "sent", "custom", attempts=attempts)
        return Outcome(r.key, "failed", "custom", failure.errcode, failure.errmsg, attempts)

    def _call(self, fn: Callable[[], Any], *, retry_timeouts: bool) -> tuple[_Failure | None, int]:
        """Run one send with pacing and bounded retries; (None, tries) on success."""
        failure: _Failure | None = None
        for attempt in range(1, self.attempts + 1):
            self.limiter.wait()
            try:
                fn()
                return None, attempt
            except WeChatClientException as exc:
                code = exc.errcode
                if code is None:  # HTTP error status from WeChat's side
                    status = getattr(getattr(exc, "response", None), "status_code", 0) or 0
                    failure = _Failure(None, f"HTTP {status}", transient=status >= 500)
                else:
                    failure = _Failure(int(code), str(exc.errmsg or ""), transient=int(code) in TRANSIENT)
            except requests.ConnectionError as exc:  # includes ConnectTimeout: nothing reached WeChat
                failure = _Failure(None, f"connection error: {type(exc).__name__}", transient=True)
            except requests.Timeout as exc:
                failure = _Failure(None, f"timeout: {type(exc).__name__}", transient=retry_timeouts)
            if not failure.transient or attempt == self.attempts:
                return failure, attempt
            self.sleep(self.backoff * 2 ** (attempt - 1))
        return failure, self.attempts
