"""Degraded modes that need no Rasa: the database restarting, Rasa unreachable.

The bot runs in-process (Starlette's TestClient runs its lifespan) against a
real PostgreSQL reached through a TCP proxy the test can cut, as a restart does.
"""
from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from bot.app import create_app
from bot.config import load_settings
from bot.localstack import free_port
from tests.conftest import TEST_API_TOKEN, _create_pg_database, _drop_pg_database, build_kb
from tests.tcp_proxy import TcpProxy

AUTH = {"Authorization": f"Bearer {TEST_API_TOKEN}"}


@pytest.fixture
def proxied_db():
    name, url = _create_pg_database()
    build_kb(url)
    target = make_url(url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432).start()
    try:
        yield str(target.set(port=proxy.port)), proxy
    finally:
        proxy.cut()
        _drop_pg_database(name, url)


def bot_without_rasa(database_url: str) -> TestClient:
    settings = load_settings({"DATABASE_URL": database_url, "BOT_API_TOKEN": TEST_API_TOKEN,
                              "RASA_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there
                              "ACTIONS_URL": f"http://127.0.0.1:{free_port()}"}, generate_secrets=False)
    return TestClient(create_app(replace(settings)))


def test_rasa_unreachable_answers_from_the_knowledge_base(sqlite_url):
    with bot_without_rasa(sqlite_url) as client:
        resp = client.post("/api/ask", json={"text": "通江县推送了多少条科普信息", "user": "o_norasa"}, headers=AUTH)
        assert resp.status_code == 200
        assert resp.json()["answered"] and "10万余条" in resp.json()["reply"]
        client.app.state.kb_warm_up.join(timeout=60)
        health = client.get("/healthz")
        assert health.status_code == 503 and set(health.json()["not_ready"]) == {"rasa", "actions"}


def test_the_bot_builds_the_knowledge_base_index_at_start_not_on_the_first_question(sqlite_url):
    from kb import db as kb_db

    kb_db.forget(sqlite_url)  # built by an earlier test of this process
    with bot_without_rasa(sqlite_url) as client:
        client.app.state.kb_warm_up.join(timeout=60)
        assert kb_db.is_built("index", sqlite_url)  # no question was asked
        assert kb_db.is_built("what_it_covers", sqlite_url)  # the no-answer reply's places, too
        assert client.get("/healthz").json()["checks"]["knowledge"] is True
        kb_db.forget(sqlite_url)  # as if the start's warm-up had failed (no database yet)
        assert client.get("/healthz").json()["checks"]["knowledge"] is False  # it reports the index, not the thread
        client.app.state.kb_warm_up.join(timeout=60)  # ... and started the warm-up again
        assert client.get("/healthz").json()["checks"]["knowledge"] is True


def test_database_restart_fails_politely_and_recovers_without_a_bot_restart(proxied_db):
    url, proxy = proxied_db
    with bot_without_rasa(url) as client:
        ok = client.post("/api/ask", json={"text": "绵阳五年来办了多少场学术交流活动", "user": "o_db"}, headers=AUTH)
        assert ok.status_code == 200 and "50余场" in ok.json()["reply"]

        proxy.cut()
        down = client.post("/api/ask", json={"text": "绵阳五年来办了多少场学术交流活动", "user": "o_db"}, headers=AUTH)
        assert down.status_code == 503
        assert "稍后再试" in down.json()["error"]
        assert client.get("/healthz").json()["checks"]["database"] is False

        proxy.restore()
        again = client.post("/api/ask", json={"text": "绵阳五年来办了多少场学术交流活动", "user": "o_db"},
                            headers=AUTH)
        assert again.status_code == 200 and "50余场" in again.json()["reply"]
        assert client.get("/healthz").json()["checks"]["database"] is True
