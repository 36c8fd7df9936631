"""What the knowledge base remembers between questions, and when it forgets: the knowledge
version once per database session, the region probes once per knowledge version."""
from __future__ import annotations

import shutil
from pathlib import Path

import sqlalchemy as sa

from kb import dialogue_support as support
from kb.db import bump_kb_version, kb_version, session_scope

QUESTION = "办了多少场学术交流活动"


def _copy(sqlite_url: str, tmp_path: Path) -> str:
    target = tmp_path / "kb.sqlite3"
    shutil.copy(sqlite_url.removeprefix("sqlite:///"), target)
    return f"sqlite:///{target}"


def test_the_knowledge_version_is_read_once_per_session_and_follows_a_bump(sqlite_url: str, tmp_path: Path) -> None:
    url = _copy(sqlite_url, tmp_path)
    with session_scope(url) as session:
        reads: list[str] = []
        sa.event.listen(session.get_bind(), "before_cursor_execute",
                        lambda conn, cur, stmt, *a: reads.append(stmt) if "settings" in stmt.lower() else None)
        first = kb_version(session)
        assert kb_version(session) == kb_version(session) == first
        assert len(reads) == 1
        assert bump_kb_version(session) == first + 1 == kb_version(session)
    with session_scope(url) as session:  # another process sees the bump in its next session
        assert kb_version(session) == first + 1


def test_region_probes_are_remembered_per_knowledge_version(sqlite_url: str, tmp_path: Path) -> None:
    url = _copy(sqlite_url, tmp_path)
    with session_scope(url) as session:
        names = support.cached_names(session)
        places = support.regions_answering(session, QUESTION, names)
        assert len(places) >= 2  # the reports give this figure for several places
        again = support.probe(session, QUESTION)
    with session_scope(url) as session:
        assert support.probe(session, QUESTION) is again  # the next citizen: no search
        assert support.regions_answering(session, QUESTION, names) == places
        bump_kb_version(session)  # staff changed something
    with session_scope(url) as session:
        fresh = support.probe(session, QUESTION)
        assert fresh is not again and fresh.reply == again.reply


def test_an_index_ranks_a_text_once_and_any_limit_is_a_prefix(sqlite_url: str, monkeypatch) -> None:
    from kb.search import RECENT_KEPT, get_index

    with session_scope(sqlite_url) as session:
        index = get_index(session)
    ranked: list[str] = []
    real = index._search
    monkeypatch.setattr(index, "_search", lambda text, limit, kinds: ranked.append(text) or real(text, limit, kinds))
    question = "绵阳有多少科技工作者注册了天府科技云"
    query, thirty = index.search(question, limit=30)
    again, five = index.search(question, limit=5)
    assert ranked == [question] and again is query  # the answer and the region probe: one ranking
    assert [c.unit.text for c in five] == [c.unit.text for c in thirty[:5]]
    assert [c.unit.text for c in thirty] == [c.unit.text for c in real(question, 30, ("sentence", "faq"))[1]]
    index.search(question, limit=RECENT_KEPT + 1)  # more than is kept: ranked afresh
    assert ranked == [question, question]
