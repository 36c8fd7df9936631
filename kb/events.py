"""Events staff announce (科普活动, 竞赛, 会议): validated, recorded in the edit history.

The API, the CLI and the staff console call these, so a rule holds everywhere.
They only write the `events` table; the one scheduler process notices the
change (it watches the knowledge version) and moves the reminder jobs itself,
so no web worker ever runs a scheduler.

Times: every date-time is stored in UTC. SQLite drops the UTC offset of a
`DateTime(timezone=True)` value, so an offset kept in the database would be
silently lost there; reading back, a naive value is UTC. A date-time given
without an offset ("2025-05-01T14:00") is read in BOT_TZ, the zone staff live in.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.db import bump_kb_version
from kb.knowledge import Invalid
from kb.models import Edit, Event, as_dict

EVENT_KINDS = ("科普活动", "竞赛", "会议")
DEFAULT_TZ = "Asia/Shanghai"
TEXT_LIMITS = {"title": 500, "location": 500, "region": 100, "organiser": 500}
EDITABLE = ("title", "kind", "starts_at", "ends_at", "location", "region", "organiser", "description",
            "registration", "remind_at")


def as_utc(value: datetime | None) -> datetime | None:
    """A stored date-time as an aware UTC value (SQLite hands them back naive)."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def parse_when(value: Any, name: str, tz: str = DEFAULT_TZ) -> datetime | None:
    """An ISO 8601 string as aware UTC; no offset means BOT_TZ. Empty: None."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise Invalid(f"{name} is not an ISO 8601 date-time: {value!r}") from None
    else:
        raise Invalid(f"{name} must be an ISO 8601 string")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=ZoneInfo(tz))
    return dt.astimezone(timezone.utc)


def event_dict(ev: Event) -> dict[str, Any]:
    """An event as JSON-able data; date-times in ISO 8601 with their UTC offset."""
    data = as_dict(ev)
    for name in ("starts_at", "ends_at", "created_at"):
        value = as_utc(getattr(ev, name))
        data[name] = value.isoformat() if value else None
    data["remind_at"] = list(ev.remind_at or [])
    data["cancelled"] = not ev.enabled
    return data


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string")
    value = value.strip()
    limit = TEXT_LIMITS.get(name)
    if limit and len(value) > limit:
        raise Invalid(f"{name} is longer than {limit} characters")
    return value


def _validated(data: dict[str, Any], tz: str) -> dict[str, Any]:
    """The full set of editable fields, checked together (start before end, reminders before start)."""
    title = _text(data, "title")
    if not title:
        raise Invalid("title is required")
    kind = data.get("kind") or "科普活动"
    if kind not in EVENT_KINDS:
        raise Invalid(f"kind must be one of {', '.join(EVENT_KINDS)}")
    starts = parse_when(data.get("starts_at"), "starts_at", tz)
    ends = parse_when(data.get("ends_at"), "ends_at", tz)
    if starts and ends and ends < starts:
        raise Invalid("ends_at is before starts_at")
    remind = data.get("remind_at") or []
    if not isinstance(remind, list):
        raise Invalid("remind_at must be a list of ISO 8601 date-times")
    times = sorted({parse_when(r, "remind_at", tz) for r in remind})  # type: ignore[type-var]
    if any(t is None for t in times):
        raise Invalid("remind_at must not contain empty values")
    if times and not starts:
        raise Invalid("remind_at needs starts_at: a reminder is for an event with a start time")
    if starts and any(t >= starts for t in times):  # type: ignore[operator]
        raise Invalid("every remind_at must be before starts_at")
    return dict(title=title, kind=kind, starts_at=starts, ends_at=ends, location=_text(data, "location"),
                region=_text(data, "region"), organiser=_text(data, "organiser"),
                description=_text(data, "description"), registration=_text(data, "registration"),
                remind_at=[t.isoformat() for t in times])  # type: ignore[union-attr]


def create_event(session: Session, data: dict[str, Any], actor: str = "staff",
                 tz: str = DEFAULT_TZ) -> dict[str, Any]:
    """Add an event; `remind_at` (ISO 8601 list) overrides the default reminder times."""
    ev = Event(**_validated(data, tz))
    session.add(ev)
    session.flush()
    session.add(Edit(table_name="events", row_id=ev.id, action="create", actor=actor, after=event_dict(ev)))
    bump_kb_version(session)
    return event_dict(ev)


def get_event(session: Session, event_id: int) -> dict[str, Any] | None:
    """One event (cancelled ones too), or None."""
    ev = session.get(Event, event_id)
    return event_dict(ev) if ev is not None else None


def _existing(session: Session, event_id: int) -> Event:
    ev = session.get(Event, event_id)
    if ev is None:
        raise LookupError(f"no event {event_id}")
    return ev


def update_event(session: Session, event_id: int, changes: dict[str, Any], actor: str = "staff",
                 tz: str = DEFAULT_TZ) -> dict[str, Any]:
    """Change some fields (the others stay); moving `starts_at` or `remind_at` moves the reminders.

    Raises LookupError when there is no such event, Invalid for bad values.
    """
    ev = _existing(session, event_id)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise Invalid(f"unknown or read-only fields: {', '.join(unknown)}")
    before = event_dict(ev)
    merged = {name: before[name] for name in EDITABLE}
    merged.update(changes)
    if "starts_at" in changes and "remind_at" not in changes and merged["remind_at"] and merged["starts_at"]:
        # Explicit reminders that would now fall after the new start cannot stay.
        start = parse_when(merged["starts_at"], "starts_at", tz)
        merged["remind_at"] = [r for r in merged["remind_at"] if start and parse_when(r, "remind_at", tz) < start]
    values = _validated(merged, tz)
    for name, value in values.items():
        setattr(ev, name, value)
    session.flush()
    after = event_dict(ev)
    session.add(Edit(table_name="events", row_id=ev.id, action="update", actor=actor, before=before, after=after))
    bump_kb_version(session)
    return after


def cancel_event(session: Session, event_id: int, actor: str = "staff") -> dict[str, Any]:
    """Cancel (never delete: the push log and the history keep pointing at it); its reminders go.

    Raises LookupError when there is no such event. Cancelling twice is harmless.
    """
    ev = _existing(session, event_id)
    if not ev.enabled:
        return event_dict(ev)
    before = event_dict(ev)
    ev.enabled = False
    session.flush()
    after = event_dict(ev)
    session.add(Edit(table_name="events", row_id=ev.id, action="cancel", actor=actor, before=before, after=after))
    bump_kb_version(session)
    return after


def list_events(session: Session, upcoming_only: bool = False, now: datetime | None = None,
                include_cancelled: bool = False) -> list[dict[str, Any]]:
    """Events, latest start first; `upcoming_only`: those that have not started yet."""
    stmt = select(Event).order_by(Event.starts_at.desc().nullslast(), Event.id)
    if not include_cancelled:
        stmt = stmt.where(Event.enabled.is_(True))
    if upcoming_only:
        stmt = stmt.where(Event.starts_at >= (now or datetime.now(timezone.utc)).astimezone(timezone.utc))
    return [event_dict(e) for e in session.execute(stmt).scalars()]
