"""Hit test: what the bot would do with a question, and why — without talking to anyone.

The running Rasa parses the question (`/model/parse`) and predicts the next
action from a throwaway, stateless tracker (`/model/predict`), so no
conversation, subscription or unanswered entry is created. The reply is then
made by the same code the action would run (kb.answer for knowledge questions,
the staff's texts for greeting and handoff, the domain's response for utter_*).
When Rasa is down the bot answers from the knowledge base directly, and so
does the hit test, saying so.
"""
from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from starlette.concurrency import run_in_threadpool

from bot import texts
from kb import answer as kb_answer
from kb.db import session_scope
from kb.search import Candidate
from kb.text import normalize

KB_ACTIONS = ("action_answer", "action_fallback", "action_follow_up")
STATEFUL_ACTIONS = {
    "action_subscribe": "订阅活动提醒（测试中不执行；实际回复说明订阅了哪些主题）",
    "action_unsubscribe": "取消订阅（测试中不执行；实际回复取决于该用户是否订阅过）",
}
NO_ANSWER_MARKS = ("", "-", "无", "无答案", "不知道", "none", "n/a")
MAX_BATCH = 500
RASA_TIMEOUT = 10.0


@dataclass
class HitResult:
    question: str
    rasa_up: bool = False
    rasa_error: str = ""
    intent: dict[str, Any] = field(default_factory=lambda: {"name": None, "confidence": 0.0})
    intent_ranking: list[dict[str, Any]] = field(default_factory=list)
    entities: list[dict[str, Any]] = field(default_factory=list)
    action: str | None = None
    action_confidence: float | None = None
    reply: str = ""
    answered: bool = False
    note: str = ""
    kb_reply: str = ""
    kb_answered: bool = False
    tokens: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    figure: bool = False
    candidates: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def candidate_json(c: Candidate) -> dict[str, Any]:
    u = c.unit
    return {"kind": u.kind, "score": round(c.score, 3), "coverage": round(c.coverage, 3), "matched": c.matched,
            "text": u.text, "title": u.title, "date": u.date_label, "document_id": u.doc_id,
            "passage_id": u.passage_id, "faq_id": u.faq_id, "question": u.question,
            "why": [str(w) for w in getattr(c, "why", None) or []]}


def _kb_part(database_url: str, question: str) -> dict[str, Any]:
    with session_scope(database_url) as session:
        result = kb_answer.answer(session, question, record_unanswered=False)
        q = result.query
        return {
            "reply": result.reply, "answered": result.answered,
            "candidates": [candidate_json(c) for c in result.candidates],
            "tokens": list(q.tokens) if q else [], "regions": list(q.regions) if q else [],
            "figure": bool(q.figure) if q else False,
            "welcome": texts.welcome(session),
            "handoff": kb_answer.handoff_text(session),
        }


async def _rasa(http: httpx.AsyncClient, rasa_url: str, question: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Rasa's parse of the question and its prediction of the next action (None when it has no policies)."""
    resp = await http.post(f"{rasa_url}/model/parse", json={"text": question}, timeout=RASA_TIMEOUT)
    resp.raise_for_status()
    parsed = resp.json()
    events = [{"event": "action", "name": "action_listen"},
              {"event": "user", "text": question, "parse_data": parsed}]
    try:
        resp = await http.post(f"{rasa_url}/model/predict", json=events, timeout=RASA_TIMEOUT)
        resp.raise_for_status()
        prediction = resp.json()
    except (httpx.HTTPError, ValueError):
        prediction = None
    return parsed, prediction


async def _response_text(http: httpx.AsyncClient, rasa_url: str, action: str) -> str:
    resp = await http.get(f"{rasa_url}/domain", headers={"Accept": "application/json"}, timeout=RASA_TIMEOUT)
    resp.raise_for_status()
    variants = (resp.json().get("responses") or {}).get(action) or []
    return "\n".join(v.get("text", "") for v in variants[:1] if v.get("text"))


async def hit_test(question: str, *, database_url: str, rasa_url: str, http: httpx.AsyncClient,
                   use_rasa: bool = True) -> HitResult:
    """`use_rasa=False`: Rasa is known to be down (a batch found out on its first row): do not wait for it again."""
    question = question.strip()
    kb = await run_in_threadpool(_kb_part, database_url, question)
    result = HitResult(question=question, kb_reply=kb["reply"], kb_answered=kb["answered"],
                       tokens=kb["tokens"], regions=kb["regions"], figure=kb["figure"],
                       candidates=kb["candidates"])
    try:
        if not use_rasa:
            raise httpx.ConnectError("not reachable earlier in this batch")
        parsed, prediction = await _rasa(http, rasa_url, question)
    except (httpx.HTTPError, ValueError) as exc:
        result.rasa_error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        result.reply, result.answered = kb["reply"], kb["answered"]
        result.note = "Rasa 未运行或无法访问：机器人此时直接用知识库回答，回复如下。"
        return result
    result.rasa_up = True
    intent = parsed.get("intent") or {}
    result.intent = {"name": intent.get("name"), "confidence": float(intent.get("confidence") or 0.0)}
    result.intent_ranking = [{"name": r.get("name"), "confidence": float(r.get("confidence") or 0.0)}
                             for r in (parsed.get("intent_ranking") or [])[:5]]
    result.entities = [{k: e.get(k) for k in ("entity", "value", "start", "end", "extractor") if k in e}
                       for e in parsed.get("entities") or []]
    if prediction and prediction.get("scores"):
        best = max(prediction["scores"], key=lambda s: s.get("score") or 0.0)
        result.action, result.action_confidence = best.get("action"), float(best.get("score") or 0.0)
    action = result.action
    if action in KB_ACTIONS or action is None:
        result.reply, result.answered = kb["reply"], kb["answered"]
        if action is None:
            result.note = "Rasa 没有给出下一步动作（只有 NLU 模型？），按知识库回答显示。"
    elif action == "action_greet":
        result.reply, result.answered = kb["welcome"], True
    elif action == "action_handoff":
        result.reply, result.answered = kb["handoff"], True
    elif action.startswith("utter_"):
        try:
            result.reply = await _response_text(http, rasa_url, action)
        except (httpx.HTTPError, ValueError):
            result.note = f"无法读取回复模板 {action}"
        result.answered = True
    else:
        result.answered = True
        result.note = STATEFUL_ACTIONS.get(action, f"动作 {action}（测试中不执行）")
    return result


# -- batch: a CSV of question,expected ------------------------------------------------------

@dataclass
class BatchRow:
    question: str
    expected: str
    passed: bool
    reply: str
    answered: bool
    intent: str | None
    why: str = ""


def parse_csv(raw: bytes) -> list[tuple[str, str]]:
    """Rows of (question, expected) from a CSV saved by Excel (UTF-8 with BOM, or GBK) or by hand."""
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValueError("CSV 文件不是 UTF-8 或 GBK 编码")
    rows: list[tuple[str, str]] = []
    for i, row in enumerate(csv.reader(io.StringIO(text))):
        if not row or not row[0].strip():
            continue
        if i == 0 and row[0].strip().lower() in ("question", "问题", "提问"):
            continue  # a header row
        rows.append((row[0].strip(), row[1].strip() if len(row) > 1 else ""))
    if not rows:
        raise ValueError("CSV 里没有问题：每行一个问题，第二列是期望答案里应出现的文字")
    if len(rows) > MAX_BATCH:
        raise ValueError(f"一次最多测试 {MAX_BATCH} 个问题")
    return rows


def judge(expected: str, reply: str, answered: bool) -> tuple[bool, str]:
    """Expected "" / "无答案": the bot must say it has no answer. Else every "|"-separated part must be in the reply."""
    if expected.strip().lower() in NO_ANSWER_MARKS:
        return (not answered, "" if not answered else "期望“无答案”，但机器人给出了答案")
    if not answered:
        return False, "机器人说知识库里没有答案"
    missing = [p.strip() for p in expected.split("|") if p.strip() and normalize(p.strip()) not in normalize(reply)]
    return (not missing, "" if not missing else "回复中没有：" + "、".join(missing))


async def batch(rows: list[tuple[str, str]], *, database_url: str, rasa_url: str,
                http: httpx.AsyncClient) -> dict[str, Any]:
    results: list[BatchRow] = []
    rasa_up = True
    for question, expected in rows:
        hit = await hit_test(question, database_url=database_url, rasa_url=rasa_url, http=http, use_rasa=rasa_up)
        rasa_up = rasa_up and hit.rasa_up
        passed, why = judge(expected, hit.reply, hit.answered)
        results.append(BatchRow(question, expected, passed, hit.reply, hit.answered, hit.intent.get("name"), why))
    passed_n = sum(r.passed for r in results)
    return {"total": len(results), "passed": passed_n,
            "accuracy": round(passed_n / len(results), 4) if results else None,
            "rasa_up": rasa_up, "rows": [asdict(r) for r in results]}
