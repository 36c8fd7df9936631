"""Citizens' reminder subscriptions, with every change in the edit history.

A subscription belongs to one openid and has optional topics: event kinds
(科普活动, 竞赛, 会议) and regions ("成都"). No topics means every event. Kinds and
regions narrow separately: ["竞赛", "成都"] is competitions in 成都; an event
without a region is not "somewhere else", so region filters let it through.

Created by the `subscribe` intent (actions/subscribe.py) and the menu keys
below, paused by the `unsubscribe` intent, by the unfollow event and by the
sender when WeChat says the citizen can no longer be reached (43004 ...).
The reason of a pause is the `action` of its `edits` row.
"""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.models import Edit, Subscriber, as_dict

KINDS = ("科普活动", "竞赛", "会议")

# Click keys of the account's custom menu (set them as the `key` of CLICK buttons).
MENU_SUBSCRIBE: dict[str, list[str]] = {
    "SUBSCRIBE_ALL": [],
    "SUBSCRIBE_EVENTS": ["科普活动"],
    "SUBSCRIBE_COMPETITIONS": ["竞赛"],
    "SUBSCRIBE_MEETINGS": ["会议"],
}
MENU_UNSUBSCRIBE = "UNSUBSCRIBE"


def describe(topics: Iterable[str] | None) -> str:
    """What a subscription follows, in words: ["成都", "竞赛"] -> "成都的竞赛"; [] -> "全部科普活动、竞赛和会议"."""
    topics = list(topics or [])
    kinds = [t for t in topics if t in KINDS]
    places = [t for t in topics if t not in KINDS]
    what = "、".join(kinds) if kinds else ("活动" if places else "全部科普活动、竞赛和会议")
    return f"{'、'.join(places)}的{what}" if places else what


def _get(session: Session, openid: str) -> Subscriber | None:
    return session.execute(select(Subscriber).where(Subscriber.openid == openid)).scalars().first()


def _clean(topics: Iterable[str] | None) -> list[str]:
    return sorted({t.strip() for t in (topics or []) if isinstance(t, str) and t.strip()})


def subscribe(session: Session, openid: str, topics: list[str] | None = None) -> Subscriber:
    """Start (or resume) reminders; topics are added to what the citizen already follows."""
    sub = _get(session, openid)
    before = as_dict(sub) if sub else None
    if sub is None:
        sub = Subscriber(openid=openid, topics=_clean(topics), active=True)
        session.add(sub)
    else:
        sub.active = True
        sub.topics = _clean(list(sub.topics or []) + list(topics or []))
    session.flush()
    session.add(Edit(table_name="subscribers", row_id=sub.id, action="subscribe", actor=openid,
                     before=before, after=as_dict(sub)))
    return sub


def pause(session: Session, openid: str, reason: str = "unsubscribe") -> bool:
    """Stop reminders; True when there was an active subscription.

    `reason` (≤ 20 characters) is kept as the edit's action: "unsubscribe",
    "unfollowed", "wechat-43004", ...
    """
    sub = _get(session, openid)
    if sub is None or not sub.active:
        return False
    before = as_dict(sub)
    sub.active = False
    session.flush()
    session.add(Edit(table_name="subscribers", row_id=sub.id, action=reason[:20], actor=openid,
                     before=before, after=as_dict(sub)))
    return True


def is_active(session: Session, openid: str) -> bool:
    sub = _get(session, openid)
    return bool(sub and sub.active)


def get(session: Session, openid: str) -> Subscriber | None:
    """The subscription of one citizen, active or paused, or None."""
    return _get(session, openid)


def apply_menu_key(session: Session, openid: str, key: str) -> str | None:
    """A CLICK on a subscription menu button: "subscribed", "paused", "not_subscribed",
    or None when the key is not one of ours (the caller answers it some other way)."""
    if key in MENU_SUBSCRIBE:
        subscribe(session, openid, MENU_SUBSCRIBE[key])
        return "subscribed"
    if key == MENU_UNSUBSCRIBE:
        return "paused" if pause(session, openid, reason="menu") else "not_subscribed"
    return None


def _region_match(wanted: str, event_region: str, location: str) -> bool:
    short = wanted.rstrip("市省区县州")
    return bool(short) and (short in event_region or short in location
                            or (bool(event_region) and event_region.rstrip("市省区县州") in wanted))


def matches(topics: Iterable[str] | None, kind: str, region: str = "", location: str = "") -> bool:
    """Does an event (kind, region, location) fall under these topics? See the module docstring."""
    topics = _clean(topics)
    kinds = [t for t in topics if t in KINDS]
    regions = [t for t in topics if t not in KINDS]
    if kinds and kind not in kinds:
        return False
    if regions and region and not any(_region_match(r, region, location) for r in regions):
        return False
    return True


def active_subscribers(session: Session) -> list[Subscriber]:
    return list(session.execute(select(Subscriber).where(Subscriber.active.is_(True))
                                .order_by(Subscriber.id)).scalars())


def history(session: Session, openid: str) -> list[dict[str, Any]]:
    """Every change of one citizen's subscription, oldest first: action (the reason), when, topics."""
    sub = _get(session, openid)
    if sub is None:
        return []
    rows = session.execute(select(Edit).where(Edit.table_name == "subscribers", Edit.row_id == sub.id)
                           .order_by(Edit.at, Edit.id)).scalars()
    return [{"action": e.action, "actor": e.actor, "at": e.at.isoformat() if e.at else None,
             "active": (e.after or {}).get("active"), "topics": (e.after or {}).get("topics")} for e in rows]
