"""The production topology as plain processes, and what happens when parts of it fail.

Two Rasa replicas share their conversations through a SQL tracker store in the
real PostgreSQL and a Redis lock store; two bot servers each talk to a
different replica, so a conversation's turns land on different replicas and
bot processes. Then parts are stopped one by one: the bot keeps answering.
"""
from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import sqlalchemy as sa
import pytest

from bot.localstack import LocalStack, stop_process
from bot.supervisor import Topology
from tests.conftest import REDIS_TEST_URL, _create_pg_database, _drop_pg_database, build_kb

pytestmark = pytest.mark.topology


@pytest.fixture(scope="module")
def topo(rasa_model: Path, tmp_path_factory: pytest.TempPathFactory):
    bot_db, bot_url = _create_pg_database()
    rasa_db, rasa_url = _create_pg_database()
    build_kb(bot_url)
    stack = LocalStack(
        database_url=bot_url, model=rasa_model, workdir=tmp_path_factory.mktemp("topology"),
        topology=Topology(rasa_replicas=2, web_workers=1, tracker_store_url=rasa_url,
                          lock_store_url=REDIS_TEST_URL),
        redis_url=REDIS_TEST_URL, web_processes=2, pin_replicas=True,
    )
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
        _drop_pg_database(bot_db, bot_url)
        _drop_pg_database(rasa_db, rasa_url)


def tracker_texts(rasa_url: str, user: str) -> list[str]:
    tracker = httpx.get(f"{rasa_url}/conversations/{user}/tracker", timeout=5).json()
    return [e.get("text") for e in tracker["events"] if e.get("event") == "user"]


def test_a_conversation_moves_between_replicas_and_bot_processes(topo):
    user = f"o_{uuid.uuid4().hex[:8]}"
    first = topo.ask("绵阳有多少科技工作者注册了天府科技云", user=user, bot=0)  # bot 1 -> Rasa replica 1
    assert first["intent"]["name"] == "ask_statistics" and first["answered"]
    second = topo.ask("那成都呢", user=user, bot=1)  # bot 2 -> Rasa replica 2
    assert second["intent"]["name"] == "follow_up"
    # replica 2 continued the conversation replica 1 began: it knew the last question and asked
    # it again for 成都 (whose count the reports do not give: an honest "no answer")
    slots = httpx.get(f"{topo.rasa_urls[1]}/conversations/{user}/tracker", params={"include_events": "NONE"},
                      timeout=5).json()["slots"]
    assert slots["last_question"] == "成都有多少科技工作者注册了天府科技云"
    assert not second["answered"]
    for rasa_url in topo.rasa_urls:
        assert tracker_texts(rasa_url, user) == ["绵阳有多少科技工作者注册了天府科技云", "那成都呢"]
    # bot/tracker_store.py stored every event once, without counting: the table is the tracker
    engine = sa.create_engine(topo.topology.tracker_store_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT type_name FROM events WHERE sender_id = :u ORDER BY id"),
                              {"u": user}).scalars().all()
    engine.dispose()
    tracker = httpx.get(f"{topo.rasa_urls[0]}/conversations/{user}/tracker", timeout=5).json()
    assert stored == [e["event"] for e in tracker["events"]]
    assert stored.count("user") == 2 and stored.count("session_started") == 1


def test_action_server_down_the_bot_answers_from_the_knowledge_base(topo):
    stop_process(topo.procs["actions"])
    data = topo.ask("通江县推送了多少条科普信息", user=f"o_{uuid.uuid4().hex[:8]}")
    assert data["answered"] and "10万余条" in data["reply"]
    log = httpx.get(f"{topo.bot_url}/healthz", timeout=5).json()
    assert log["checks"]["actions"] is False


def test_rasa_down_the_bot_answers_from_the_knowledge_base(topo):
    for name in ("rasa-1", "rasa-2"):
        stop_process(topo.procs[name])
    user = f"o_{uuid.uuid4().hex[:8]}"
    data = topo.ask("绵阳五年来办了多少场学术交流活动", user=user)
    assert data["answered"] and "50余场" in data["reply"]
    messages = httpx.get(f"{topo.bot_url}/api/messages", params={"user": user},
                         headers={"Authorization": f"Bearer {topo.api_token}"}, timeout=5).json()["messages"]
    assert messages[-1]["intent"] == "degraded"
    health = httpx.get(f"{topo.bot_url}/healthz", timeout=5)
    assert health.status_code == 503 and "rasa" in health.json()["not_ready"]
