"""The message log and the unanswered queue: what citizens said and what they got."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kb.models import Message, Unanswered


def log_exchange(session: Session, *, openid: str, msg_type: str, text: str, reply: str | None,
                 intent: str | None, answered: bool | None, latency_ms: int | None,
                 msg_id: str | None = None) -> None:
    """One incoming message and, when there was one, the reply to it."""
    now = datetime.now(timezone.utc)
    session.add(Message(openid=openid, direction="in", msg_type=msg_type, msg_id=msg_id, text=text,
                        intent=intent, answered=answered, latency_ms=latency_ms, created_at=now))
    if reply is not None:
        session.add(Message(openid=openid, direction="out", msg_type="text", msg_id=msg_id, text=reply,
                            intent=intent, answered=answered, latency_ms=latency_ms,
                            created_at=now + timedelta(microseconds=1)))


def messages_of(session: Session, openid: str, limit: int = 500) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Message).where(Message.openid == openid).order_by(Message.created_at, Message.id).limit(limit)
    ).scalars()
    return [
        {"direction": m.direction, "type": m.msg_type, "text": m.text, "intent": m.intent,
         "answered": m.answered, "latency_ms": m.latency_ms, "msg_id": m.msg_id,
         "at": m.created_at.isoformat() if m.created_at else None}
        for m in rows
    ]


def unanswered(session: Session, limit: int = 200, include_handled: bool = False) -> list[dict[str, Any]]:
    stmt = select(Unanswered).order_by(Unanswered.created_at.desc(), Unanswered.id.desc()).limit(limit)
    if not include_handled:
        stmt = stmt.where(Unanswered.handled.is_(False))
    return [
        {"id": u.id, "text": u.text, "user": u.openid, "intent": u.intent, "best_score": u.best_score,
         "handled": u.handled, "at": u.created_at.isoformat() if u.created_at else None}
        for u in session.execute(stmt).scalars()
    ]


def purge_messages(session: Session, older_than_days: int) -> int:
    """Retention: drop log entries older than the configured number of days."""
    cutoff = datetime.now(timezone.utc) - timedelta(days=older_than_days)
    return session.execute(delete(Message).where(Message.created_at < cutoff)).rowcount or 0
