"""The learned abstention gate (kb/gate.py, kb/gate.json) and the question sets it is fitted on.

The gate must come from the development splits only, answer exactly when its
probability clears its threshold, explain itself, and refuse the near misses its
features were added for. The question files must be what their comments say:
every evidence string verbatim in its report, every expected fact in its evidence.
"""
from __future__ import annotations

import math
import re
import unicodedata
from pathlib import Path
import pytest

from kb import answer as kb_answer
from kb import evaluate
from kb import gate as kb_gate
from tests.test_kb_answers import session  # noqa: F401  (the fixture: a rolled-back session on kb_url)

CORPUS = Path(kb_gate.__file__).resolve().parent / "corpus"


def test_the_shipped_gate_fits_the_features_and_never_saw_the_test_split():
    gate = kb_gate.load()
    assert gate.features == kb_gate.FEATURES
    assert len(gate.coef) == len(gate.mean) == len(gate.scale) == len(kb_gate.FEATURES)
    trained = gate.info["trained_on"]
    assert "test" not in trained and set(trained) <= set(evaluate.CALIBRATION_SPLITS)
    held_out = {"test", "fresh3", "fresh5", "fresh8", "fresh12", "fresh15", "fresh17", "fresh19", "fresh21", "fresh23", "fresh27"}
    assert not held_out & set(evaluate.CALIBRATION_SPLITS)  # the blind held-out batches are never fitted on
    assert sum(trained.values()) >= 800
    assert 0.5 < gate.threshold < 0.95
    # figures measured leave-one-split-out are stored with it, for the README and the next round
    assert gate.info["leave_one_split_out"]["all"]["answerable"] >= 600


def test_the_threshold_follows_from_the_costs():
    def row(answerable: bool, right: bool) -> dict:
        return {"best": True, "answerable": answerable, "right": right}

    # every wrong candidate belongs to an unanswerable question: answer when p > (2 + 1) / (1 + 2 + 1)
    assert kb_gate.cost_threshold([row(False, False), row(True, True)]) == pytest.approx(0.75)
    # every wrong candidate answers an answerable question wrongly: p > 2 / 3
    assert kb_gate.cost_threshold([row(True, False), row(True, True)]) == pytest.approx(0.667, abs=1e-3)


def _synthetic_rows(n: int = 240) -> list[dict]:
    """Right answers have high coverage, wrong ones low; everything else is noise."""
    rows = []
    for i in range(n):
        right = i % 3 != 0
        x = {f: ((i * 7919 + k * 104729) % 97) / 97 for k, f in enumerate(kb_gate.FEATURES)}
        x["coverage"] = (0.75 if right else 0.45) + ((i * 31) % 20) / 100
        rows.append({"q": f"q{i}", "split": f"s{i % 4}", "answerable": right or i % 2 == 0, "best": True,
                     "right": right, "x": x})
    return rows


def test_fitting_learns_what_separates_right_from_wrong_and_is_deterministic():
    rows = _synthetic_rows()
    gate, cv = kb_gate.fit(rows)
    again, _ = kb_gate.fit(rows)
    assert gate.coef == again.coef and gate.threshold == again.threshold
    coverage = gate.coef[kb_gate.FEATURES.index("coverage")]
    assert coverage > 0 and all(abs(c) < coverage for f, c in zip(gate.features, gate.coef) if f != "coverage")
    low = dict(rows[0]["x"], coverage=0.4)
    high = dict(rows[0]["x"], coverage=0.95)
    assert gate.probability(low) < gate.threshold <= gate.probability(high)
    assert set(cv) == {"s0", "s1", "s2", "s3", "all"}
    # a gate written and read back scores alike
    data = gate.to_json()
    assert data["version"] == kb_gate.VERSION and math.isclose(
        kb_gate.Gate(tuple(data["features"]), tuple(data["mean"]), tuple(data["scale"]), tuple(data["coef"]),
                     data["intercept"], data["threshold"], {}).probability(high), gate.probability(high))


def test_a_gate_fitted_for_other_features_is_refused(tmp_path):
    import json

    data = kb_gate.load().to_json()
    data["features"] = data["features"][:-1]
    path = tmp_path / "gate.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="refit"):
        kb_gate.load.__wrapped__(path)


@pytest.mark.parametrize("question, answered", [
    ("成都有多少家高校科协", True), ("济宁科普教育基地一共有多少家", False), ("绵阳五年来办了多少场学术交流活动", True),
])
def test_the_answer_is_the_gates_decision_and_says_why(session, question, answered):
    from kb.search import get_index

    index = get_index(session)
    query, candidates = index.search(question, limit=30)
    d = kb_answer.decide(query, candidates, index)
    gate = kb_gate.load()
    assert d.best is not None and d.probability == pytest.approx(gate.probability(d.features))
    assert d.ok == (d.probability >= gate.threshold)
    result = kb_answer.answer(session, question, record_unanswered=False)
    assert result.answered == d.ok == answered  # neither a gate that always answers nor one that never does
    assert re.match(r"gate \d\.\d\d [≥<] ", result.reason) and "coverage" in result.reason
    # a stricter threshold passed in refuses what the shipped one accepts
    strict = kb_answer.answer(session, question, record_unanswered=False,
                              limits=kb_answer.Thresholds(gate=0.9999))
    assert not strict.answered


def test_a_total_is_not_answered_with_what_was_new(session):
    """"一共" asks for a total; "新增命名17家市级、16家省级" counts new ones only."""
    result = kb_answer.answer(session, "济宁科普教育基地一共有多少家", record_unanswered=False)
    assert not result.answered, result.reply
    assert "total_vs_new" in result.reason
    asked_new = kb_answer.answer(session, "济宁新增了多少家省级科普教育基地", record_unanswered=False)
    assert asked_new.answered and "16家" in asked_new.reply


def _plain(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text).replace("**", ""))


@pytest.mark.parametrize("path", sorted(evaluate.DATA.glob("kb_questions_*.yml")), ids=lambda p: p.name)
def test_question_files_hold_verbatim_evidence(path):
    questions = evaluate.load_questions(path)
    assert questions and all(q.split in evaluate.SPLITS and q.split != "test" for q in questions)
    for q in questions:
        if not q.answerable:
            assert not q.expect, q.q
            continue
        assert q.expect and q.doc, q.q
        report = _plain((CORPUS / q.doc).read_text(encoding="utf-8"))
        assert _plain(q.evidence) in report, q.q


def test_the_fresh2_batch_has_near_miss_unanswerables():
    questions = evaluate.load_questions(evaluate.FRESH2_QUESTIONS)
    unanswerable = [q for q in questions if not q.answerable]
    assert len(questions) >= 150 and len(unanswerable) >= 0.2 * len(questions)
    for q in questions:
        if q.answerable:
            assert all(_plain(e) in _plain(q.evidence) for e in q.expect), q.q


def test_a_figure_word_said_with_a_related_word_counts_as_said(session):
    """"表演" says the figure's "演出": the gate does not count it as left unsaid."""
    from kb.search import get_index

    index = get_index(session)
    extra = {}
    for q in ("济宁反邪教文艺节目表演了几场", "济宁反邪教文艺节目演出了几场"):
        query, candidates = index.search(q, limit=30)
        extra[q] = kb_answer.choose(query, candidates, index).features["label_extra"]
    assert extra["济宁反邪教文艺节目表演了几场"] == extra["济宁反邪教文艺节目演出了几场"] < 1.0


def test_a_word_the_sentences_section_says_is_not_missed(session):
    """"60余人参加会议" does not name the meeting; the news item's first line does (述责述廉).
    The sentence points back at that meeting (参加会议), so it says 述责述廉 in full and the gate
    does not count it as missed (a sentence of the section that did not point back would get
    part of it, kb.search.LEAD_HIT, and the word would not count as missed either)."""
    from kb.search import get_index

    index = get_index(session)
    query, candidates = index.search("省科协述责述廉会议有多少人参加", limit=30)
    d = kb_answer.choose(query, candidates, index)
    assert d.best is not None and "60余人" in d.best.unit.text
    assert "述责述廉" in d.best.matched and d.best.credit["述责述廉"] == 1.0
    assert d.features["miss_count"] == 0.0
