"""Several bot processes sharing the real Redis: retries, rate limit and access token agree.

Two `bot serve` processes (as two uvicorn workers behind a load balancer
would be) share one PostgreSQL database, one fake Rasa and one Redis key
prefix. WeChat's attempts of one message land on either.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from typing import Iterator

import httpx
import pytest
import redis

from bot import texts
from bot.config import load_settings
from bot.dedupe import RedisDedupe, Reply
from bot.ratelimit import RedisRateLimiter
from bot.wechat_api import make_client, token_storage
from tests import wechat_wire as wire
from tests.conftest import BIN, REDIS_TEST_URL, start_process, stop_process
from tests.fake_wechat_api import FakeWeChatAPI
from tests.wechat_harness import TOKEN, FakeRasa, bot_env, logged, new_msg_id, new_user, wait_serving


@pytest.fixture
def prefix() -> Iterator[str]:
    """A Redis key prefix of this test's own, removed afterwards (never FLUSHDB: Redis is shared)."""
    name = f"test-{uuid.uuid4().hex[:10]}"
    yield name
    r = redis.Redis.from_url(REDIS_TEST_URL)
    keys = list(r.scan_iter(f"{name}:*"))
    if keys:
        r.delete(*keys)
    r.close()


@pytest.fixture
def shared_db(fresh_pg_url: str) -> str:
    from kb.db import migrate

    migrate(fresh_pg_url)
    return fresh_pg_url


@pytest.fixture
def two_bots(shared_db, prefix, tmp_path) -> Iterator[tuple[list[str], FakeRasa]]:
    from tests.conftest import free_port

    with FakeRasa(delay=0.4) as rasa:  # within the 0.8 s budget, long enough for attempts to overlap
        procs, urls = [], []
        try:
            for name in ("bot-a", "bot-b"):
                port = free_port()
                env = bot_env(shared_db, rasa.url, port, WECHAT_TOKEN=TOKEN, REDIS_URL=REDIS_TEST_URL,
                              BOT_REDIS_PREFIX=prefix, BOT_RATE_LIMIT="4/600", BOT_REPLY_BUDGET="0.8")
                procs.append(start_process(name, [str(BIN / "bot"), "serve"], env, tmp_path))
                urls.append(f"http://127.0.0.1:{port}")
            for url, proc, name in zip(urls, procs, ("bot-a", "bot-b")):
                wait_serving(url, proc, tmp_path / f"{name}.log")
            yield urls, rasa
        finally:
            for proc in procs:
                stop_process(proc)


def post(url: str, xml: str, timeout: float = 10) -> httpx.Response:
    return httpx.post(f"{url}/wechat", params=wire.plain_params(TOKEN), content=xml.encode(), timeout=timeout)


def test_concurrent_retries_on_two_processes_are_answered_once(two_bots, shared_db):
    (a, b), rasa = two_bots
    user, msg_id = new_user(), new_msg_id()
    xml = wire.text_xml("两个进程", user=user, msg_id=msg_id)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        resps = list(pool.map(lambda url: post(url, xml), [a, b, a]))
    assert [wire.reply_fields(r.text)["Content"] for r in resps] == ["答复：两个进程"] * 3
    assert rasa.asked("两个进程") == 1
    assert [m["direction"] for m in logged(shared_db, user)] == ["in", "out"]


def test_a_retry_on_the_other_process_gets_the_first_ones_answer(two_bots, shared_db):
    """Attempt 1 on A times out (WeChat's schedule scaled to 1 s); attempt 2 on B polls Redis for A's answer."""
    (a, b), rasa = two_bots
    rasa.delay = 1.5  # past attempt 1 (1 s), within attempt 2
    user = new_user()
    delivery = wire.deliver([f"{a}/wechat", f"{b}/wechat"], wire.plain_params(TOKEN),
                            wire.text_xml("换了进程", user=user, msg_id=new_msg_id()), timeout=1.0)
    assert [x.status for x in delivery.attempts] == [None, 200]
    assert wire.reply_fields(delivery.reply_xml)["Content"] == "答复：换了进程"
    assert rasa.asked("换了进程") == 1
    assert [m["direction"] for m in logged(shared_db, user)] == ["in", "out"]


def test_rate_limit_is_shared_by_the_processes(two_bots):
    (a, b), rasa = two_bots
    rasa.delay = 0.0
    user = new_user()
    replies = [wire.reply_fields(post(url, wire.text_xml(f"限流{i}", user=user, msg_id=new_msg_id())).text)["Content"]
               for i, url in enumerate([a, b, a, b, a, b])]
    assert replies[:4] == [f"答复：限流{i}" for i in range(4)]
    assert replies[4:] == [texts.RATE_LIMITED] * 2


# -- the pieces, against the real Redis ----------------------------------------------------------

def test_redis_dedupe_claim_reply_and_once(prefix):
    asyncio.run(_claim_reply_and_once(prefix))


async def _claim_reply_and_once(prefix: str) -> None:
    one, two = RedisDedupe(REDIS_TEST_URL, prefix), RedisDedupe(REDIS_TEST_URL, prefix)
    try:
        first, second = await one.arrive("msg:1"), await two.arrive("msg:1")
        assert (first.attempt, first.owner, second.attempt, second.owner) == (1, True, 2, False)
        assert await two.wait("msg:1", 0.2) is None
        await one.store("msg:1", Reply("答案"))
        assert await two.wait("msg:1", 1.0) == Reply("答案")
        assert not await two.handed_off("msg:1")
        await one.hand_off("msg:1")
        assert await two.handed_off("msg:1")
        assert [await one.once("msg:1", "cs"), await two.once("msg:1", "cs")] == [True, False]
    finally:
        await one.aclose()
        await two.aclose()


def test_a_reply_made_in_this_process_wakes_its_waiters_at_once(prefix, monkeypatch):
    """The attempt that waits and the task that answers are usually in the same process:
    the wait must end when the reply is stored, not at the next poll of Redis."""
    import bot.dedupe

    monkeypatch.setattr(bot.dedupe, "POLL_SECONDS", 60.0)  # a poll would outlast the test
    asyncio.run(_woken_at_once(prefix))


async def _woken_at_once(prefix: str) -> None:
    one, other = RedisDedupe(REDIS_TEST_URL, prefix), RedisDedupe(REDIS_TEST_URL, prefix)
    try:
        await one.arrive("msg:local")
        waiting = asyncio.create_task(one.wait("msg:local", 30.0))
        await asyncio.sleep(0.05)
        await one.store("msg:local", Reply("本进程的答案"))
        assert await asyncio.wait_for(waiting, 5.0) == Reply("本进程的答案")
        # another process's reply is still found in Redis (at the poll, or at once if already there)
        await other.store("msg:remote", Reply("另一个进程的答案"))
        assert await asyncio.wait_for(one.wait("msg:remote", 30.0), 5.0) == Reply("另一个进程的答案")
    finally:
        await one.aclose()
        await other.aclose()


def test_redis_down_falls_back_to_this_process(caplog):
    asyncio.run(_redis_down())
    assert "Redis unavailable" in caplog.text


async def _redis_down() -> None:
    from tests.conftest import free_port

    dedupe = RedisDedupe(f"redis://127.0.0.1:{free_port()}/0", "unused")
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{free_port()}/0", 1, 60, "unused")
    try:
        assert (await dedupe.arrive("msg:2")).owner
        assert not (await dedupe.arrive("msg:2")).owner
        await dedupe.store("msg:2", Reply("还在"))
        assert await dedupe.wait("msg:2", 0.1) == Reply("还在")
        assert [await limiter.allow("o_x"), await limiter.allow("o_x")] == [True, False]
    finally:
        await dedupe.aclose()
        await limiter.aclose()


def test_access_token_is_fetched_once_and_shared_through_redis(prefix):
    with FakeWeChatAPI() as api:
        env = {"WECHAT_APPID": api.appid, "WECHAT_SECRET": api.secret, "WECHAT_API_BASE_URL": api.base_url,
               "REDIS_URL": REDIS_TEST_URL, "BOT_REDIS_PREFIX": prefix}
        settings = load_settings(env, generate_secrets=False)
        one, two = make_client(settings, token_storage(settings)), make_client(settings, token_storage(settings))
        one.call(one.message.send_text, "o_a", "一")
        two.call(two.message.send_text, "o_b", "二")
        assert len(api.calls_to("/cgi-bin/token")) == 1  # the second process read the first one's token
        api.fail_next("/cgi-bin/message/custom/send", 40001)  # e.g. the token was refreshed elsewhere
        two.call(two.message.send_text, "o_b", "三")
        one.call(one.message.send_text, "o_a", "四")
        assert len(api.calls_to("/cgi-bin/token")) == 2  # one refresh, and the first process used it
        sent = [c.body["text"]["content"] for c in api.calls_to("/cgi-bin/message/custom/send")
                if c.params.get("access_token") == api.current_token]
        assert sent[-2:] == ["三", "四"]


def test_access_token_with_redis_down_is_kept_in_this_process(caplog):
    from tests.conftest import free_port

    with FakeWeChatAPI() as api:
        env = {"WECHAT_APPID": api.appid, "WECHAT_SECRET": api.secret, "WECHAT_API_BASE_URL": api.base_url,
               "REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}  # nothing listens there
        settings = load_settings(env, generate_secrets=False)
        client = make_client(settings, token_storage(settings))
        client.call(client.message.send_text, "o_a", "一")
        client.call(client.message.send_text, "o_a", "二")
        assert len(api.calls_to("/cgi-bin/token")) == 1
        assert [c.body["text"]["content"] for c in api.calls_to("/cgi-bin/message/custom/send")] == ["一", "二"]
    assert "Redis unavailable for the access token" in caplog.text
