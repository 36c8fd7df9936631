"""Which reminder goes to whom, and the push log that makes each one happen at most once.

Everything here is a database question with `now` passed in, so the scheduler,
`bot push due` and the staff console agree, and tests control the clock.

The rules:
- An event is *remindable* when it is not cancelled, has a start time, and was
  entered by staff (API, CLI, console) or has explicit `remind_at` times.
  Events extracted from reports are not pushed on their own: their dates are
  read from prose (the year is often inferred), too weak to message citizens on.
- Its reminder times are its `remind_at` times or, by default, 3 days and 1 day
  before its start at 09:00 in BOT_TZ; only times before the start count.
- At `now`, an event that has not started owes each matching active subscriber
  the *latest* reminder time that has passed (earlier ones it missed are folded
  into it: nobody gets two reminders for one event back to back after an outage).
- A reminder is owed until the push log holds its key (event, subscriber,
  reminder time). The row is written before the send, so a crash between the
  two loses that one reminder instead of sending it twice.
- Once the event has started, an owed reminder is *dropped*: logged with status
  "dropped", never sent.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from kb import subscriptions
from kb.db import get_setting
from kb.events import as_utc, parse_when
from kb.models import Edit, Event, Message, PushLog, Subscriber

DEFAULT_DAYS_BEFORE = (3, 1)
DEFAULT_HOUR = 9
WINDOW = timedelta(hours=48)  # customer-service messages are allowed this long after a user's message
USER_MESSAGE_TYPES = ("text", "voice", "image", "location", "link", "video", "shortvideo")
STATUSES = ("pending", "sent", "failed", "skipped", "dropped")


@dataclass(frozen=True)
class Reminder:
    """One reminder owed to one subscriber."""

    event_id: int
    title: str
    openid: str
    remind_at: datetime  # UTC
    starts_at: datetime  # UTC
    key: str

    def as_json(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "title": self.title, "openid": self.openid,
                "remind_at": self.remind_at.isoformat(), "starts_at": self.starts_at.isoformat(), "key": self.key}


def push_key(event_id: int, openid: str, remind_at: datetime) -> str:
    """The push log's unique key: event, subscriber, reminder time (UTC, to the second)."""
    return f"{event_id}:{openid}:{as_utc(remind_at):%Y%m%dT%H%M%SZ}"


def remindable(ev: Event) -> bool:
    return bool(ev.enabled and ev.starts_at is not None and (ev.document_id is None or ev.remind_at))


def default_schedule(ev: Event) -> tuple[tuple[int, ...], time]:
    """Days before and time of day for events without their own remind_at: the staff's
    settings ("reminder_days_before" = "3,1", "reminder_time" = "09:00"), else 3 and 1 days at 09:00."""
    session = object_session(ev)
    days, clock = DEFAULT_DAYS_BEFORE, time(DEFAULT_HOUR)
    if session is None:
        return days, clock
    raw_days = get_setting(session, "reminder_days_before", "")
    raw_clock = get_setting(session, "reminder_time", "")
    try:
        if raw_days.strip():
            days = tuple(int(d) for d in raw_days.replace("，", ",").split(",") if d.strip())
        if raw_clock.strip():
            hour, minute = (int(x) for x in raw_clock.strip().split(":"))
            clock = time(hour, minute)
    except ValueError:  # the settings form validates; a hand-edited value falls back to the defaults
        return DEFAULT_DAYS_BEFORE, time(DEFAULT_HOUR)
    return days, clock


def reminder_times(ev: Event, tz: str) -> list[datetime]:
    """The event's reminder times in UTC, sorted; empty when it is not remindable."""
    if not remindable(ev):
        return []
    starts = as_utc(ev.starts_at)
    assert starts is not None
    if ev.remind_at:
        times = {parse_when(r, "remind_at", tz) for r in ev.remind_at}
    else:
        zone = ZoneInfo(tz)
        day: date = starts.astimezone(zone).date()
        days_before, clock = default_schedule(ev)
        times = {datetime.combine(day - timedelta(days=d), clock, tzinfo=zone).astimezone(timezone.utc)
                 for d in days_before}
    return sorted(t for t in times if t is not None and t < starts)


def _utc(now: datetime) -> datetime:
    return now.astimezone(timezone.utc) if now.tzinfo else now.replace(tzinfo=timezone.utc)


def upcoming_events(session: Session, now: datetime) -> list[Event]:
    """Remindable events that have not started at `now`."""
    stmt = (select(Event).where(Event.enabled.is_(True), Event.starts_at > _utc(now))
            .order_by(Event.starts_at, Event.id))
    return [ev for ev in session.execute(stmt).scalars() if remindable(ev)]


def _logged_keys(session: Session, event_id: int) -> set[str]:
    return set(session.execute(select(PushLog.key).where(PushLog.event_id == event_id)).scalars())


def recipients(session: Session, ev: Event, remind_at: datetime, subscribers: list[Subscriber] | None = None,
               ) -> list[Reminder]:
    """Active subscribers matching the event with no push-log row yet for this reminder time."""
    starts = as_utc(ev.starts_at)
    assert starts is not None
    logged = _logged_keys(session, ev.id)
    subs = subscribers if subscribers is not None else subscriptions.active_subscribers(session)
    out = []
    for sub in subs:
        if not sub.active or not subscriptions.matches(sub.topics, ev.kind, ev.region, ev.location):
            continue
        key = push_key(ev.id, sub.openid, remind_at)
        if key not in logged:
            out.append(Reminder(ev.id, ev.title, sub.openid, as_utc(remind_at), starts, key))  # type: ignore[arg-type]
    return out


def owed_time(ev: Event, now: datetime, tz: str) -> datetime | None:
    """The reminder time an event owes at `now`: the latest one passed, if it has not started."""
    now = _utc(now)
    starts = as_utc(ev.starts_at)
    if starts is None or now >= starts:
        return None
    passed = [t for t in reminder_times(ev, tz) if t <= now]
    return passed[-1] if passed else None


def due_reminders(session: Session, now: datetime, tz: str, event_id: int | None = None) -> list[Reminder]:
    """Everything that should be sent at `now` (what `bot push due` lists), oldest reminder first."""
    subs = subscriptions.active_subscribers(session)
    out: list[Reminder] = []
    for ev in upcoming_events(session, now):
        if event_id is not None and ev.id != event_id:
            continue
        t = owed_time(ev, now, tz)
        if t is not None:
            out.extend(recipients(session, ev, t, subs))
    return sorted(out, key=lambda r: (r.remind_at, r.event_id, r.openid))


@dataclass(frozen=True)
class Plan:
    """What one reminder job (event, reminder time) should do at `now`."""

    action: str  # send|drop|superseded|stale
    reminders: list[Reminder]


def plan(session: Session, event_id: int, remind_at: datetime, now: datetime, tz: str) -> Plan:
    """Decide for the job of one (event, reminder time): send, drop (too late), or nothing."""
    ev = session.get(Event, event_id)
    remind_at = _utc(remind_at)
    if ev is None or remind_at not in reminder_times(ev, tz):
        return Plan("stale", [])  # cancelled, or moved: the job for the new time does the work
    now = _utc(now)
    if now >= as_utc(ev.starts_at):  # type: ignore[operator]
        return Plan("drop", recipients(session, ev, remind_at))
    if owed_time(ev, now, tz) != remind_at:
        return Plan("superseded", [])  # a later reminder time has passed too: its job sends
    return Plan("send", recipients(session, ev, remind_at))


# -- the push log ------------------------------------------------------------------------------

def claim(session: Session, reminder: Reminder, status: str = "pending", errmsg: str = "") -> int | None:
    """Write the reminder's push-log row; None when it already exists (sent, or being sent, elsewhere).

    Call it in a session of its own and commit before sending: the committed row
    is what stops every other process (and a second run of this one) from sending.
    On a conflict the session is rolled back.
    """
    row = PushLog(key=reminder.key, event_id=reminder.event_id, openid=reminder.openid,
                  remind_at=reminder.remind_at, status=status, errmsg=errmsg[:500])
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return None
    return row.id


def finish(session: Session, log_id: int, *, status: str, channel: str = "", errcode: int | None = None,
           errmsg: str = "", attempts: int = 0, sent_at: datetime | None = None) -> None:
    row = session.get(PushLog, log_id)
    if row is None:
        return
    row.status, row.channel, row.errcode, row.errmsg = status, channel, errcode, errmsg[:500]
    row.attempts, row.sent_at = attempts, sent_at


def last_user_message_at(session: Session, openid: str) -> datetime | None:
    """When the citizen last wrote to the account (events and API calls do not open the 48-hour window)."""
    value = session.execute(select(func.max(Message.created_at)).where(
        Message.openid == openid, Message.direction == "in", Message.msg_type.in_(USER_MESSAGE_TYPES))).scalar()
    return as_utc(value)


def in_window(session: Session, openid: str, now: datetime) -> bool:
    last = last_user_message_at(session, openid)
    return last is not None and _utc(now) - last < WINDOW


def _log_json(row: PushLog, titles: dict[int, str]) -> dict[str, Any]:
    def iso(v: datetime | None) -> str | None:
        return as_utc(v).isoformat() if v else None  # type: ignore[union-attr]
    return {"id": row.id, "key": row.key, "event_id": row.event_id, "event_title": titles.get(row.event_id or 0, ""),
            "openid": row.openid, "remind_at": iso(row.remind_at), "channel": row.channel, "status": row.status,
            "errcode": row.errcode, "errmsg": row.errmsg, "attempts": row.attempts,
            "created_at": iso(row.created_at), "sent_at": iso(row.sent_at)}


def push_log(session: Session, limit: int = 100, offset: int = 0, *, event_id: int | None = None,
             openid: str | None = None, status: str | None = None) -> list[dict[str, Any]]:
    """The push log for the console, newest first; filter by event, citizen or status."""
    stmt = select(PushLog).order_by(PushLog.created_at.desc(), PushLog.id.desc())
    if event_id is not None:
        stmt = stmt.where(PushLog.event_id == event_id)
    if openid:
        stmt = stmt.where(PushLog.openid == openid)
    if status:
        stmt = stmt.where(PushLog.status == status)
    rows = list(session.execute(stmt.limit(max(1, min(limit, 1000))).offset(max(0, offset))).scalars())
    ids = {r.event_id for r in rows if r.event_id}
    titles = dict(session.execute(select(Event.id, Event.title).where(Event.id.in_(ids))).all()) if ids else {}
    return [_log_json(r, titles) for r in rows]


def push_counts(session: Session, event_id: int | None = None) -> dict[str, int]:
    """How many push-log rows per status (all statuses present, zeros included)."""
    stmt = select(PushLog.status, func.count()).group_by(PushLog.status)
    if event_id is not None:
        stmt = stmt.where(PushLog.event_id == event_id)
    counts = {s: 0 for s in STATUSES}
    counts.update({status: n for status, n in session.execute(stmt).all()})
    return counts


def _pause_reasons(session: Session, ids: list[int]) -> dict[int, str]:
    """The reason of each subscriber's latest change (the edit's action)."""
    if not ids:
        return {}
    rows = session.execute(select(Edit.row_id, Edit.action).where(
        Edit.table_name == "subscribers", Edit.row_id.in_(ids)).order_by(Edit.at, Edit.id)).all()
    return {row_id: action for row_id, action in rows}


def subscribers_summary(session: Session) -> dict[str, Any]:
    """Counts for the console: active, paused, paused by reason, active per topic ("全部" = no topics)."""
    subs = list(session.execute(select(Subscriber)).scalars())
    reasons = _pause_reasons(session, [s.id for s in subs if not s.active])
    by_reason: dict[str, int] = {}
    by_topic: dict[str, int] = {}
    for s in subs:
        if s.active:
            for topic in (s.topics or ["全部"]):
                by_topic[topic] = by_topic.get(topic, 0) + 1
        else:
            reason = reasons.get(s.id, "")
            by_reason[reason] = by_reason.get(reason, 0) + 1
    active = sum(1 for s in subs if s.active)
    return {"total": len(subs), "active": active, "paused": len(subs) - active,
            "paused_by_reason": by_reason, "active_by_topic": by_topic}


def list_subscribers(session: Session, *, active: bool | None = None, limit: int = 100,
                     offset: int = 0) -> list[dict[str, Any]]:
    """Subscribers for the console, newest first, with the reason of a pause."""
    stmt = select(Subscriber).order_by(Subscriber.created_at.desc(), Subscriber.id.desc())
    if active is not None:
        stmt = stmt.where(Subscriber.active.is_(active))
    subs = list(session.execute(stmt.limit(max(1, min(limit, 1000))).offset(max(0, offset))).scalars())
    reasons = _pause_reasons(session, [s.id for s in subs])
    return [{"id": s.id, "openid": s.openid, "topics": list(s.topics or []), "active": s.active,
             "reason": "" if s.active else reasons.get(s.id, ""),
             "created_at": as_utc(s.created_at).isoformat() if s.created_at else None,  # type: ignore[union-attr]
             "updated_at": as_utc(s.updated_at).isoformat() if s.updated_at else None}  # type: ignore[union-attr]
            for s in subs]
