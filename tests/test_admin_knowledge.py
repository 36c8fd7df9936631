"""Staff operations on the knowledge (kb.knowledge, kb.unanswered, kb.dashboard), on SQLite and PostgreSQL.

Every change must reach the bot's next answer at once (no retraining) and be in the
edit history with who, when, before and after.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from kb import answer, dashboard, knowledge, unanswered
from kb.db import kb_version, session_scope
from kb.models import Document, Edit, Event, Fact, Message, Passage, Unanswered
from tests.admin_support import admin_kb  # noqa: F401  (fixture)

QUESTION = "绵阳五年里请了多少位院士过去参加活动"


def _answer(url: str, question: str) -> answer.Answer:
    with session_scope(url) as session:
        return answer.answer(session, question, record_unanswered=False)


def _edits(url: str, table: str, row_id: int | None = None) -> list[Edit]:
    with session_scope(url) as session:
        stmt = select(Edit).where(Edit.table_name == table).order_by(Edit.id)
        if row_id is not None:
            stmt = stmt.where(Edit.row_id == row_id)
        return list(session.execute(stmt).scalars())


def test_lists_search_filter_sort_and_paginate(admin_kb: str) -> None:
    with session_scope(admin_kb) as session:
        everything = knowledge.list_rows(session, "passages", per_page=10)
        total = session.execute(select(func.count(Passage.id))).scalar()
        assert everything.total == total and len(everything.items) == 10
        assert everything.pages == -(-total // 10)
        last = knowledge.list_rows(session, "passages", per_page=10, page=everything.pages)
        assert len(last.items) == total - 10 * (everything.pages - 1)
        beyond = knowledge.list_rows(session, "passages", per_page=10, page=10_000)
        assert beyond.page == everything.pages  # clamped, never an empty error page

        found = knowledge.list_rows(session, "passages", q="院士")
        assert found.total > 0 and all("院士" in p["text"] or "院士" in p["heading"] for p in found.items)
        assert all(p["document_title"] for p in found.items)

        by_doc = knowledge.list_rows(session, "passages", filters={"document_id": "1"}, per_page=200)
        assert by_doc.items and {p["document_id"] for p in by_doc.items} == {1}

        docs = knowledge.list_rows(session, "documents", sort="title")
        titles = [d["title"] for d in docs.items]
        assert titles == sorted(titles) and "text" not in docs.items[0]
        newest_first = knowledge.list_rows(session, "documents", sort="-published_at").items
        dates = [d["published_at"] for d in newest_first if d["published_at"]]
        assert dates == sorted(dates, reverse=True)

        assert knowledge.list_rows(session, "documents", q="100%_不存在").total == 0  # % and _ are literal
        with pytest.raises(knowledge.Invalid):
            knowledge.list_rows(session, "documents", sort="text_hash")
        with pytest.raises(knowledge.Invalid):
            knowledge.list_rows(session, "documents", filters={"text": "x"})
        with pytest.raises(knowledge.Invalid):
            knowledge.list_rows(session, "passages", filters={"enabled": "maybe"})


def test_editing_a_passage_changes_the_next_answer_and_is_recorded(admin_kb: str) -> None:
    before = _answer(admin_kb, QUESTION)
    assert before.answered
    passage_id = before.sources[0]["passage_id"]
    with session_scope(admin_kb) as session:
        version = kb_version(session)
        old_text = session.get(Passage, passage_id).text
        new_text = old_text.replace("20余名院士", "23名院士")
        assert new_text != old_text
        knowledge.update_row(session, "passages", passage_id, {"text": new_text}, actor="editor-a")
    after = _answer(admin_kb, QUESTION)
    assert "23名院士" in after.reply and "20余名院士" not in after.reply
    with session_scope(admin_kb) as session:
        assert kb_version(session) == version + 1
        assert "23" in session.get(Passage, passage_id).tokens.split()
    edit = _edits(admin_kb, "passages", passage_id)[-1]
    assert (edit.action, edit.actor) == ("update", "editor-a")
    assert edit.before["text"] == old_text and edit.after["text"] == new_text
    assert edit.at is not None


def test_validation_and_unknown_rows(admin_kb: str) -> None:
    with session_scope(admin_kb) as session:
        with pytest.raises(knowledge.Invalid, match="text is required"):
            knowledge.update_row(session, "passages", 1, {"text": "  "})
        with pytest.raises(knowledge.Invalid, match="unknown field"):
            knowledge.update_row(session, "passages", 1, {"document_id": 2})
        with pytest.raises(knowledge.Invalid, match="published_at"):
            knowledge.update_row(session, "documents", 1, {"published_at": "sometime"})
        with pytest.raises(knowledge.NotFound):
            knowledge.update_row(session, "faqs", 999999, {"answer": "x"})
        with pytest.raises(knowledge.NotFound):
            knowledge.delete_row(session, "facts", 999999)


def test_disabling_a_report_takes_it_out_of_answers_and_back(admin_kb: str) -> None:
    doc_id = _answer(admin_kb, QUESTION).sources[0]["document_id"]
    with session_scope(admin_kb) as session:
        knowledge.set_enabled(session, "documents", doc_id, False, actor="ed")
    disabled = _answer(admin_kb, QUESTION)
    assert all(s.get("document_id") != doc_id for s in disabled.sources)
    assert "20余名院士" not in disabled.reply
    with session_scope(admin_kb) as session:
        knowledge.set_enabled(session, "documents", doc_id, True, actor="ed")
    assert _answer(admin_kb, QUESTION).sources[0]["document_id"] == doc_id
    actions = [(e.action, e.before, e.after) for e in _edits(admin_kb, "documents", doc_id)[-2:]]
    assert actions == [("disable", {"status": "active"}, {"status": "disabled"}),
                       ("enable", {"status": "disabled"}, {"status": "active"})]


def test_disabling_one_passage(admin_kb: str) -> None:
    passage_id = _answer(admin_kb, QUESTION).sources[0]["passage_id"]
    with session_scope(admin_kb) as session:
        knowledge.set_enabled(session, "passages", passage_id, False, actor="ed")
    assert all(s.get("passage_id") != passage_id for s in _answer(admin_kb, QUESTION).sources)


def test_deleting_a_report_removes_what_came_from_it_and_keeps_its_text_in_history(admin_kb: str) -> None:
    with session_scope(admin_kb) as session:
        doc = session.get(Document, 1)
        text, title = doc.text, doc.title
        assert session.execute(select(func.count(Fact.id)).where(Fact.document_id == 1)).scalar() > 0
        knowledge.delete_row(session, "documents", 1, actor="boss")
    with session_scope(admin_kb) as session:
        assert session.get(Document, 1) is None
        for model in (Passage, Fact, Event):
            assert session.execute(select(func.count(model.id)).where(model.document_id == 1)).scalar() == 0
    edit = _edits(admin_kb, "documents", 1)[-1]
    assert edit.action == "delete" and edit.after is None
    assert edit.before["text"] == text and edit.before["title"] == title
    assert all(s.get("document_id") != 1 for s in _answer(admin_kb, QUESTION).sources)


def test_faq_edit_disable_delete(admin_kb: str) -> None:
    question = "科协的办公地址在哪里"
    assert not _answer(admin_kb, question).answered
    with session_scope(admin_kb) as session:
        faq = knowledge.create_faq(session, question=question, answer="请以工作人员答复为准（测试问答）。", actor="ed")
    assert _answer(admin_kb, question).reply.startswith("请以工作人员答复为准（测试问答）。")
    with session_scope(admin_kb) as session:
        knowledge.update_row(session, "faqs", faq["id"], {"answer": "新的测试回答。",
                                                          "alt_questions": "到哪里找科协工作人员\n\n到哪里找科协工作人员"},
                              actor="ed")
        row = knowledge.get_row(session, "faqs", faq["id"])
        assert row["alt_questions"] == ["到哪里找科协工作人员"]  # one per line, blanks and repeats dropped
    assert _answer(admin_kb, "到哪里找科协工作人员").reply.startswith("新的测试回答。")
    with session_scope(admin_kb) as session:  # the list finds a Q&A pair by its alternative questions too
        assert [f["id"] for f in knowledge.list_rows(session, "faqs", q="找科协").items] == [faq["id"]]
    with session_scope(admin_kb) as session:
        knowledge.set_enabled(session, "faqs", faq["id"], False, actor="ed")
    assert not _answer(admin_kb, question).answered
    with session_scope(admin_kb) as session:
        knowledge.set_enabled(session, "faqs", faq["id"], True, actor="ed")
        knowledge.delete_row(session, "faqs", faq["id"], actor="ed")
    assert not _answer(admin_kb, question).answered
    actions = [e.action for e in _edits(admin_kb, "faqs", faq["id"])]
    assert actions == ["create", "update", "disable", "enable", "delete"]


def test_synonyms_are_used_at_once(admin_kb: str) -> None:
    with session_scope(admin_kb) as session:
        before = answer.answer(session, "芙蓉花城有多少家高校科协", record_unanswered=False)
        syn = knowledge.create_synonym(session, word="芙蓉花城", canonical="成都", kind="region", actor="ed")
        with pytest.raises(knowledge.Invalid, match="already exists"):
            knowledge.create_synonym(session, word="芙蓉花城", canonical="成都")
        with pytest.raises(knowledge.Invalid, match="kind"):
            knowledge.create_synonym(session, word="某地", canonical="成都", kind="planet")
    after = _answer(admin_kb, "芙蓉花城有多少家高校科协")
    assert "成都" in answer_query_of(admin_kb, "芙蓉花城有多少家高校科协")
    assert after.candidates and (not before.candidates or after.candidates[0].score > before.candidates[0].score)
    with session_scope(admin_kb) as session:
        knowledge.delete_row(session, "synonyms", syn["id"], actor="ed")
    assert "成都" not in answer_query_of(admin_kb, "芙蓉花城有多少家高校科协")


def answer_query_of(url: str, question: str) -> str:
    with session_scope(url) as session:
        return answer.answer(session, question, record_unanswered=False).query.normalized


def test_settings_are_validated_recorded_and_read_by_the_bot(admin_kb: str) -> None:
    with session_scope(admin_kb) as session:
        default = answer.handoff_text(session)
        knowledge.update_settings(session, {"handoff_text": "请拨打测试电话 000-0000。",
                                            "reminder_days_before": "1， 3 3", "reminder_time": "8:30"}, actor="boss")
    with session_scope(admin_kb) as session:
        assert answer.handoff_text(session) == "请拨打测试电话 000-0000。"
        stored = knowledge.read_settings(session)
        assert stored["reminder_days_before"] == "3,1" and stored["reminder_time"] == "08:30"
        with pytest.raises(knowledge.Invalid, match="menu"):
            knowledge.update_settings(session, {"menu": "{not json"})
        with pytest.raises(knowledge.Invalid, match="longer than 16 bytes"):
            knowledge.update_settings(session, {"menu": json.dumps(
                {"button": [{"name": "一个非常长的菜单名字", "type": "click", "key": "K"}]})})
        with pytest.raises(knowledge.Invalid, match="reminder_time"):
            knowledge.update_settings(session, {"reminder_time": "25:00"})
        with pytest.raises(knowledge.Invalid, match="unknown setting"):
            knowledge.update_settings(session, {"kb_version": "0"})
        menu = {"button": [{"name": "活动", "sub_button": [{"type": "click", "name": "近期活动", "key": "UPCOMING_EVENTS"}]}]}
        knowledge.update_settings(session, {"menu": json.dumps(menu)}, actor="boss")
        assert json.loads(knowledge.read_settings(session)["menu"]) == menu
        knowledge.update_settings(session, {"handoff_text": ""}, actor="boss")  # back to the default
    with session_scope(admin_kb) as session:
        assert answer.handoff_text(session) == default
    edits = [(e.before["key"], e.after["value"]) for e in _edits(admin_kb, "settings")]
    assert ("handoff_text", "请拨打测试电话 000-0000。") in edits and ("handoff_text", "") in edits


def _add_unanswered(url: str, rows: list[tuple[str, int]]) -> None:
    now = datetime.now(timezone.utc)
    with session_scope(url) as session:
        for text, hours_ago in rows:
            session.add(Unanswered(openid=f"user-{hours_ago}", text=text, intent="nlu_fallback", best_score=1.0,
                                   created_at=now - timedelta(hours=hours_ago)))


def test_unanswered_grouped_counted_newest_first(admin_kb: str) -> None:
    _add_unanswered(admin_kb, [("科普日是哪天", 5), ("请问科普日是哪天？", 1), ("科普日 是哪天", 9),
                               ("科协食堂几点开饭", 3), ("科协食堂几点开饭啊", 7), ("天府科技云怎么改密码", 2)])
    with session_scope(admin_kb) as session:
        groups = unanswered.groups(session)
        assert [(g.text, g.count) for g in groups] == [
            ("请问科普日是哪天？", 3), ("天府科技云怎么改密码", 1), ("科协食堂几点开饭", 2)]
        by_count = unanswered.groups(session, order="count")
        assert [g.count for g in by_count] == [3, 2, 1]
        assert groups[0].users == {"user-1", "user-5", "user-9"}


def test_an_unanswered_group_becomes_a_qa_pair(admin_kb: str) -> None:
    _add_unanswered(admin_kb, [("科协食堂几点开饭", 3), ("科协食堂几点开饭啊", 1), ("别的问题完全不同", 2)])
    with session_scope(admin_kb) as session:
        group = next(g for g in unanswered.groups(session) if "食堂" in g.text)
        faq = unanswered.answer_as_faq(session, group.ids, question="科协食堂几点开饭",
                                       answer="食堂开放时间请咨询工作人员（测试）。", actor="ed")
        assert faq["alt_questions"] == ["科协食堂几点开饭啊"]
    with session_scope(admin_kb) as session:
        assert [g.text for g in unanswered.groups(session)] == ["别的问题完全不同"]
        assert {g.text for g in unanswered.groups(session, include_handled=True)} >= {"科协食堂几点开饭啊"}
    for wording in ("科协食堂几点开饭", "科协食堂几点开饭啊"):
        result = _answer(admin_kb, wording)
        assert result.answered and result.reply.startswith("食堂开放时间请咨询工作人员（测试）。")
    with session_scope(admin_kb) as session:
        with pytest.raises(knowledge.Invalid):
            unanswered.answer_as_faq(session, [1], question="x", answer=" ")
        ids = [u.id for u in session.execute(select(Unanswered)).scalars()]
        assert unanswered.mark_handled(session, ids, actor="ed") == 1
        assert unanswered.groups(session) == []


def test_dashboard_counts_days_in_the_local_time_zone(admin_kb: str) -> None:
    now = datetime(2025, 5, 10, 4, 0, tzinfo=timezone.utc)  # 12:00 in Shanghai
    rows = [  # (hours before now, answered, intent)
        (1, True, "ask_statistics"), (2, False, "ask_statistics"), (3, True, "greet"),
        (13, True, "ask_event"),  # 2025-05-09 23:00 Shanghai: the day before
        (30, None, None),
        (24 * 20, True, "ask_event"),  # outside the window
    ]
    with session_scope(admin_kb) as session:
        for hours, answered, intent in rows:
            session.add(Message(openid=f"u{hours}", direction="in", text="q", intent=intent, answered=answered,
                                created_at=now - timedelta(hours=hours)))
            session.add(Message(openid=f"u{hours}", direction="out", text="a", intent=intent, answered=answered,
                                created_at=now - timedelta(hours=hours)))
    with session_scope(admin_kb) as session:
        stats = dashboard.stats(session, days=7, tz="Asia/Shanghai", now=now)
    days = {d["day"]: d for d in stats["per_day"]}
    assert len(days) == 7 and stats["to"] == "2025-05-10"
    assert days["2025-05-10"] == {"day": "2025-05-10", "messages": 3, "answered": 2, "unanswered": 1}
    assert days["2025-05-09"]["messages"] == 2 and days["2025-05-09"]["answered"] == 1
    assert stats["messages"] == 5 and stats["users"] == 5
    assert stats["answered_rate"] == pytest.approx(3 / 4)
    assert stats["top_intents"][0] == {"intent": "ask_statistics", "count": 2}
