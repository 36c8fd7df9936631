"""From a question to a short, cited reply — or an honest "I don't know".

The reply is the sentence that holds the answer, not its paragraph, followed
by the report and its date. Below the threshold the bot says the knowledge
base has no answer and the question goes to the staff's unanswered queue.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from kb.db import get_setting
from kb.models import Unanswered
from kb.search import Candidate, Query, get_index

# Calibrated on the dev split of tests/data/kb_questions.yml (see `make eval`).
MIN_COVERAGE = 0.5
MIN_SCORE = 4.0
FAQ_COVERAGE = 0.7
MAX_REPLY = 120  # characters of the answer sentence, before the source

DEFAULT_HANDOFF = "如需人工帮助，请直接留言说明您的问题，科协工作人员看到后会回复您。"
NO_ANSWER = ("抱歉，我的知识库里暂时没有这个问题的答案，不想随便猜给您。"
             "我可以回答科协的科普活动、竞赛、天府科技云和科普中国等平台，以及工作报告里的数据。")


@dataclass
class Answer:
    reply: str
    answered: bool
    sources: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    query: Query | None = None

    def payload(self) -> dict[str, Any]:
        """What an action sends along with the text (the bot turns it into JSON for /api/ask)."""
        return {"answered": self.answered, "sources": self.sources}


def handoff_text(session: Session) -> str:
    return get_setting(session, "handoff_text", DEFAULT_HANDOFF)


def _trim(sentence: str, matched: list[str]) -> str:
    """The clauses of a long sentence that hold the matched words, at most MAX_REPLY characters."""
    sentence = sentence.strip()
    if len(sentence) <= MAX_REPLY:
        return sentence
    clauses = [c for c in re.split(r"(?<=[，,；;：:])", sentence) if c]
    best, best_hits = 0, -1
    for i, clause in enumerate(clauses):
        hits = sum(1 for t in matched if t in clause.lower()) + (0.5 if re.search(r"\d", clause) else 0)
        if hits > best_hits:
            best, best_hits = i, hits
    lo, hi = best, best + 1
    text = clauses[best]
    while True:
        grown = False
        if lo > 0 and len(clauses[lo - 1]) + len(text) <= MAX_REPLY:
            lo -= 1
            text = clauses[lo] + text
            grown = True
        if hi < len(clauses) and len(clauses[hi]) + len(text) <= MAX_REPLY:
            text = text + clauses[hi]
            hi += 1
            grown = True
        if not grown:
            break
    text = text.rstrip("，,；;：:")
    if lo > 0:
        text = "……" + text
    if not text.endswith(("。", "！", "？")):
        text += "。" if hi >= len(clauses) else "……"
    return text


def _source(c: Candidate) -> dict[str, Any]:
    u = c.unit
    if u.kind == "faq":
        return {"title": "科协工作人员解答", "date": "", "kind": "faq", "faq_id": u.faq_id}
    return {"title": u.title, "date": u.date_label, "kind": "report", "document_id": u.doc_id,
            "passage_id": u.passage_id, "text": u.text}


def answer(session: Session, question: str, *, openid: str = "", intent: str = "",
           record_unanswered: bool = True) -> Answer:
    index = get_index(session)
    query, candidates = index.search(question, limit=5)
    best = candidates[0] if candidates else None

    faqs = [c for c in candidates if c.unit.kind == "faq"]
    if faqs and faqs[0].coverage >= FAQ_COVERAGE:
        c = faqs[0]
        return Answer(c.unit.text, True, [_source(c)], candidates, query)

    if best is None or best.coverage < MIN_COVERAGE or best.score < MIN_SCORE:
        if record_unanswered and question.strip():
            session.add(Unanswered(openid=openid, text=question.strip()[:1000], intent=intent,
                                   best_score=best.score if best else None))
        reply = f"{NO_ANSWER}{handoff_text(session)}"
        return Answer(reply, False, [], candidates, query)

    text = _trim(best.unit.text, best.matched)
    reply = f"{text}（来源：《{best.unit.title}》，{best.unit.date_label}）"
    return Answer(reply, True, [_source(best)], candidates, query)
