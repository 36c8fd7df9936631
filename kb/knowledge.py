"""Staff operations on the knowledge: validated, recorded in the edit history, live at once.

The API, the CLI and the console all call these, so a rule holds everywhere.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.db import bump_kb_version
from kb.ingest import import_document, parse_month
from kb.models import Document, Edit, Event, Faq, as_dict

EVENT_KINDS = ("科普活动", "竞赛", "会议")


class Invalid(ValueError):
    """Input a person must correct; the message says what."""


def import_text(session: Session, *, title: str, text: str, source: str = "", region: str = "",
                published_at: str | None = None, actor: str = "staff", slug: str | None = None) -> dict[str, Any]:
    if not title.strip() or not text.strip():
        raise Invalid("title and text are required")
    try:
        published = parse_month(published_at) if published_at else None
    except ValueError as exc:
        raise Invalid(f"published_at: {exc}") from None
    slug = slug or "staff-" + hashlib.sha1(title.strip().encode("utf-8")).hexdigest()[:16]
    result = import_document(session, slug=slug, title=title.strip(), text=text, source=source or title,
                             region=region, published_at=published, actor=actor)
    return {"id": result.document_id, "version": result.version, "changed": result.changed,
            "passages": result.passages, "facts": result.facts, "events": result.events}


def create_faq(session: Session, *, question: str, answer: str, alt_questions: list[str] | None = None,
               actor: str = "staff") -> dict[str, Any]:
    if not question.strip() or not answer.strip():
        raise Invalid("question and answer are required")
    faq = Faq(question=question.strip(), answer=answer.strip(), created_by=actor,
              alt_questions=[a.strip() for a in (alt_questions or []) if a.strip()])
    session.add(faq)
    session.flush()
    session.add(Edit(table_name="faqs", row_id=faq.id, action="create", actor=actor, after=as_dict(faq)))
    bump_kb_version(session)
    return as_dict(faq)


def _when(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise Invalid(f"{name} must be an ISO 8601 string")
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{name} is not an ISO 8601 date-time: {value!r}") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def event_dict(ev: Event) -> dict[str, Any]:
    data = as_dict(ev)
    data["location"] = ev.location
    return data


def create_event(session: Session, data: dict[str, Any], actor: str = "staff") -> dict[str, Any]:
    title = str(data.get("title") or "").strip()
    if not title:
        raise Invalid("title is required")
    kind = str(data.get("kind") or "科普活动")
    if kind not in EVENT_KINDS:
        raise Invalid(f"kind must be one of {', '.join(EVENT_KINDS)}")
    starts = _when(data.get("starts_at"), "starts_at")
    ends = _when(data.get("ends_at"), "ends_at")
    if starts and ends and ends < starts:
        raise Invalid("ends_at is before starts_at")
    remind = data.get("remind_at") or []
    if not isinstance(remind, list):
        raise Invalid("remind_at must be a list of ISO 8601 date-times")
    remind_iso = [_when(r, "remind_at").isoformat() for r in remind]  # type: ignore[union-attr]
    ev = Event(title=title, kind=kind, starts_at=starts, ends_at=ends,
               location=str(data.get("location") or ""), region=str(data.get("region") or ""),
               organiser=str(data.get("organiser") or ""), description=str(data.get("description") or ""),
               registration=str(data.get("registration") or ""), remind_at=remind_iso)
    session.add(ev)
    session.flush()
    session.add(Edit(table_name="events", row_id=ev.id, action="create", actor=actor, after=as_dict(ev)))
    bump_kb_version(session)
    return event_dict(ev)


def list_events(session: Session, upcoming_only: bool = False) -> list[dict[str, Any]]:
    stmt = select(Event).where(Event.enabled.is_(True)).order_by(Event.starts_at.desc().nullslast(), Event.id)
    if upcoming_only:
        stmt = stmt.where(Event.starts_at >= datetime.now(timezone.utc))
    return [event_dict(e) for e in session.execute(stmt).scalars()]


def active_documents(session: Session) -> list[Document]:
    return list(session.execute(select(Document).where(Document.status == "active")
                                .order_by(Document.id)).scalars())
