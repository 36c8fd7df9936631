"""What the knowledge base remembers between questions, and when it forgets: the knowledge
version once per database session, the index and names once per knowledge version, the
ranking of a text once per index."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
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


def test_what_is_built_per_knowledge_version_is_rebuilt_after_a_bump(sqlite_url: str, tmp_path: Path,
                                                                     monkeypatch) -> None:
    """The index and the names: one build per knowledge version; the place probes of a
    second citizen's identical question rank nothing again."""
    from kb import search

    url = _copy(sqlite_url, tmp_path)
    builds: list[str] = []
    real_build = search.build_index
    monkeypatch.setattr(search, "build_index", lambda s: builds.append("index") or real_build(s))
    with session_scope(url) as session:
        index = search.get_index(session)
        names = support.cached_names(session)
        places = support.regions_answering(session, QUESTION, names)
        assert len(places) >= 2  # the reports give this figure for several places
    ranked: list[str] = []
    real_search = index._search
    monkeypatch.setattr(index, "_search", lambda text, limit, kinds: ranked.append(text) or real_search(text, limit, kinds))
    with session_scope(url) as session:
        assert search.get_index(session) is index and support.cached_names(session) is names
        assert support.regions_answering(session, QUESTION, names) == places
        assert ranked == []  # the next citizen: no ranking at all
        bump_kb_version(session)  # staff changed something
    with session_scope(url) as session:
        fresh = search.get_index(session)
        assert fresh is not index and support.cached_names(session) is not names
        assert support.regions_answering(session, QUESTION, support.cached_names(session)) == places
    assert builds == ["index", "index"]


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


def test_a_change_is_rebuilt_in_the_background_before_anyone_asks(sqlite_url: str, tmp_path: Path) -> None:
    """Staff change something (here: the version bump every change makes); the keep-warm thread
    rebuilds the index and the names without a question, so no citizen waits for the rebuild."""
    import threading
    import time

    from kb import answer as kb_answer
    from kb import search
    from kb.db import is_current

    url = _copy(sqlite_url, tmp_path)
    kb_answer.warm_up(url)
    with session_scope(url) as session:
        before = search.get_index(session)
        assert is_current(session, "index")
    with session_scope(url) as session:  # another process (the console) changes the knowledge
        bump_kb_version(session)
    with session_scope(url) as session:
        assert not is_current(session, "index")
    stop = threading.Event()
    thread = kb_answer.keep_warm_in_background(url, "test", 0.05, also=(support.cached_names,), stop=stop)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with session_scope(url) as session:
                if is_current(session, "index") and is_current(session, "names"):
                    break
            time.sleep(0.05)
        with session_scope(url) as session:
            assert is_current(session, "index") and is_current(session, "names")
            assert search.get_index(session) is not before
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()  # it stops when told


def test_the_refresh_interval_comes_from_the_environment() -> None:
    from bot.config import load_settings

    assert load_settings({}, generate_secrets=False).kb_refresh == 5.0
    assert load_settings({"KB_REFRESH_SECONDS": "0"}, generate_secrets=False).kb_refresh == 0.0
    with pytest.raises(SystemExit, match="KB_REFRESH_SECONDS"):
        load_settings({"KB_REFRESH_SECONDS": "five"}, generate_secrets=False)
