"""Citizens' reminder subscriptions, with every change in the edit history."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.models import Edit, Subscriber, as_dict


def _get(session: Session, openid: str) -> Subscriber | None:
    return session.execute(select(Subscriber).where(Subscriber.openid == openid)).scalars().first()


def subscribe(session: Session, openid: str, topics: list[str] | None = None) -> Subscriber:
    """Start (or resume) reminders; topics are added to what the citizen already follows."""
    sub = _get(session, openid)
    before = as_dict(sub) if sub else None
    if sub is None:
        sub = Subscriber(openid=openid, topics=sorted(set(topics or [])), active=True)
        session.add(sub)
    else:
        sub.active = True
        sub.topics = sorted(set(sub.topics or []) | set(topics or []))
    session.flush()
    session.add(Edit(table_name="subscribers", row_id=sub.id, action="subscribe", actor=openid,
                     before=before, after=as_dict(sub)))
    return sub


def pause(session: Session, openid: str, reason: str = "unsubscribe") -> bool:
    """Stop reminders; True when there was an active subscription."""
    sub = _get(session, openid)
    if sub is None or not sub.active:
        return False
    before = as_dict(sub)
    sub.active = False
    session.flush()
    session.add(Edit(table_name="subscribers", row_id=sub.id, action=reason, actor=openid,
                     before=before, after=as_dict(sub)))
    return True


def is_active(session: Session, openid: str) -> bool:
    sub = _get(session, openid)
    return bool(sub and sub.active)
