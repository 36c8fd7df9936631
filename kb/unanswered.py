"""The unanswered queue as staff work it: similar questions grouped, counted, newest first.

Citizens ask the same missing thing in many wordings ("科普日什么时候", "请问科普日是哪天").
Grouping them by normalised text and token overlap shows staff one line per gap
in the knowledge, with how often it was asked, and lets one Q&A pair close the
whole group (its other wordings become the pair's alternative questions).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb import knowledge
from kb.models import Edit, Unanswered
from kb.text import normalize, strip_fillers, tokenize

SIMILARITY = 0.6  # token Jaccard at or above which two questions are "the same gap"
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def key_of(text: str) -> str:
    """Normalised text without fillers and punctuation: "请问，科普日是哪天？" -> "科普日是哪天"."""
    return _PUNCT.sub("", strip_fillers(normalize(text)))


def jaccard(a: set[str], b: set[str]) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


@dataclass
class Group:
    text: str  # the newest wording
    ids: list[int] = field(default_factory=list)
    wordings: list[str] = field(default_factory=list)  # distinct, newest first
    users: set[str] = field(default_factory=set)
    intents: dict[str, int] = field(default_factory=dict)
    latest: datetime | None = None
    best_score: float | None = None
    tokens: set[str] = field(default_factory=set)
    keys: set[str] = field(default_factory=set)

    @property
    def count(self) -> int:
        return len(self.ids)

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "count": self.count, "ids": self.ids, "wordings": self.wordings,
                "users": len(self.users), "intents": self.intents,
                "latest": self.latest.isoformat() if self.latest else None, "best_score": self.best_score}


def groups(session: Session, *, include_handled: bool = False, limit: int = 2000,
           order: str = "newest") -> list[Group]:
    """Unanswered questions grouped by similarity; `order` is "newest" or "count"."""
    stmt = select(Unanswered).order_by(Unanswered.created_at.desc(), Unanswered.id.desc()).limit(limit)
    if not include_handled:
        stmt = stmt.where(Unanswered.handled.is_(False))
    out: list[Group] = []
    by_key: dict[str, Group] = {}
    for row in session.execute(stmt).scalars():
        key = key_of(row.text)
        toks = set(tokenize(normalize(strip_fillers(normalize(row.text)))))
        group = by_key.get(key)
        if group is None:
            group = next((g for g in out if toks and jaccard(toks, g.tokens) >= SIMILARITY), None)
        if group is None:
            group = Group(text=row.text, latest=row.created_at, tokens=toks)
            out.append(group)
        by_key[key] = group
        group.keys.add(key)
        group.ids.append(row.id)
        if row.text not in group.wordings:
            group.wordings.append(row.text)
        if row.openid:
            group.users.add(row.openid)
        if row.intent:
            group.intents[row.intent] = group.intents.get(row.intent, 0) + 1
        if row.best_score is not None:
            group.best_score = max(group.best_score or 0.0, row.best_score)
    if order == "count":
        out.sort(key=lambda g: (-g.count, -(g.latest.timestamp() if g.latest else 0)))
    return out


def mark_handled(session: Session, ids: list[int], actor: str = "staff", handled: bool = True) -> int:
    """Mark questions handled (or back to open); returns how many changed."""
    rows = list(session.execute(select(Unanswered).where(Unanswered.id.in_(ids))).scalars()) if ids else []
    changed = [r for r in rows if r.handled != handled]
    for row in changed:
        row.handled = handled
    if changed:
        session.add(Edit(table_name="unanswered", row_id=changed[0].id if len(changed) == 1 else None,
                         action="handled" if handled else "reopen", actor=actor,
                         before={"ids": [r.id for r in changed], "handled": not handled},
                         after={"ids": [r.id for r in changed], "handled": handled}))
    session.flush()
    return len(changed)


def group_of(session: Session, unanswered_id: int) -> Group | None:
    """The open group that holds this question (or a group of just it, when already handled)."""
    for g in groups(session):
        if unanswered_id in g.ids:
            return g
    row = session.get(Unanswered, unanswered_id)
    if row is None:
        return None
    return Group(text=row.text, ids=[row.id], wordings=[row.text], latest=row.created_at)


def answer_as_faq(session: Session, ids: list[int], *, question: str, answer: str,
                  alt_questions: list[str] | None = None, actor: str = "staff") -> dict[str, Any]:
    """Close a gap: a Q&A pair whose alternatives are the citizens' own wordings, and the group handled."""
    rows = list(session.execute(select(Unanswered).where(Unanswered.id.in_(ids))).scalars()) if ids else []
    if ids and not rows:
        raise knowledge.NotFound("these unanswered questions do not exist")
    alts = list(alt_questions or [])
    for row in rows:
        if key_of(row.text) != key_of(question) and row.text not in alts:
            alts.append(row.text)
    faq = knowledge.create_faq(session, question=question, answer=answer, alt_questions=alts, actor=actor)
    mark_handled(session, [r.id for r in rows], actor=actor)
    return faq
