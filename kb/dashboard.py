"""The figures of the console's dashboard, from the message log and the unanswered queue.

Days are counted in the association's time zone (BOT_TZ), not UTC, so that
"today" on the chart is the day staff and citizens live in.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb import unanswered
from kb.models import Message


def stats(session: Session, *, days: int = 14, tz: str = "Asia/Shanghai",
          now: datetime | None = None) -> dict[str, Any]:
    """Messages per day, answered rate, top intents, top unanswered gaps, over the last `days` days."""
    zone = ZoneInfo(tz)
    now = now or datetime.now(timezone.utc)
    today = now.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=zone).astimezone(timezone.utc)
    per_day: dict[date, dict[str, int]] = {
        first + timedelta(days=i): {"messages": 0, "answered": 0, "unanswered": 0} for i in range(days)
    }
    intents: Counter = Counter()
    users: set[str] = set()
    rows = session.execute(
        select(Message.created_at, Message.answered, Message.intent, Message.openid)
        .where(Message.direction == "in", Message.created_at >= since)
    )
    for created_at, answered, intent, openid in rows:
        if created_at.tzinfo is None:  # SQLite gives naive UTC
            created_at = created_at.replace(tzinfo=timezone.utc)
        day = created_at.astimezone(zone).date()
        if day not in per_day:
            continue
        bucket = per_day[day]
        bucket["messages"] += 1
        if answered is True:
            bucket["answered"] += 1
        elif answered is False:
            bucket["unanswered"] += 1
        intents[intent or "（无）"] += 1
        users.add(openid)
    total = sum(b["messages"] for b in per_day.values())
    answered_n = sum(b["answered"] for b in per_day.values())
    judged = answered_n + sum(b["unanswered"] for b in per_day.values())
    gaps = unanswered.groups(session, order="count")
    return {
        "days": days,
        "from": first.isoformat(),
        "to": today.isoformat(),
        "per_day": [{"day": d.isoformat(), **v} for d, v in sorted(per_day.items())],
        "messages": total,
        "users": len(users),
        "answered": answered_n,
        "answered_rate": round(answered_n / judged, 4) if judged else None,
        "top_intents": [{"intent": k, "count": n} for k, n in intents.most_common(10)],
        "top_unanswered": [{"text": g.text, "count": g.count, "ids": g.ids} for g in gaps[:10]],
        "open_unanswered": sum(g.count for g in gaps),
    }
