"""bot/dialogue.py's RasaClient over several replicas: a replica that is down is skipped; one
that took the message but answers too slowly is not asked again through another replica."""
from __future__ import annotations

import asyncio

import pytest

from bot.dialogue import RasaClient, RasaError
from tests.conftest import free_port
from tests.wechat_harness import FakeRasa


def _converse(client: RasaClient, text: str):  # noqa: ANN202
    async def run():  # noqa: ANN202
        try:
            return await client.converse("o_client", text)
        finally:
            await client.aclose()
    return asyncio.run(run())


def test_a_replica_that_is_down_is_skipped() -> None:
    with FakeRasa() as up:
        turn = _converse(RasaClient([f"http://127.0.0.1:{free_port()}", up.url]), "你好")
        assert turn.reply == "答复：你好" and up.asked("你好") == 1


def test_a_slow_replica_keeps_its_turn() -> None:
    with FakeRasa(delay=1.0) as slow, FakeRasa() as other:
        with pytest.raises(RasaError, match="ReadTimeout"):
            _converse(RasaClient([slow.url, other.url], timeout=0.3), "订阅活动提醒")
        assert slow.asked("订阅活动提醒") == 1 and other.asked() == 0  # the turn ran once, not twice


def test_the_bot_does_not_answer_a_message_a_slow_replica_took(sqlite_url) -> None:
    """The responder neither asks the knowledge base (which would queue the question as
    unanswered a second time, or say "no answer" to a subscription the replica made) nor
    another replica: it asks the citizen to send it again."""
    from sqlalchemy import func, select

    from bot import texts
    from bot.responder import Responder
    from kb.db import session_scope
    from kb.models import Message, Unanswered

    with FakeRasa(delay=1.0) as slow, FakeRasa() as other:
        async def run():  # noqa: ANN202
            client = RasaClient([slow.url, other.url], timeout=0.3)
            try:
                return await Responder(sqlite_url, client).respond("o_slow", "成都明天天气怎么样")
            finally:
                await client.aclose()
        turn = asyncio.run(run())
        assert turn.reply == texts.TOO_SLOW and not turn.answered and not turn.degraded
        assert slow.asked("成都明天天气怎么样") == 1 and other.asked() == 0
    with session_scope(sqlite_url) as session:
        assert session.execute(select(func.count()).select_from(Unanswered)
                               .where(Unanswered.openid == "o_slow")).scalar() == 0
        logged = session.execute(select(Message.intent).where(Message.openid == "o_slow")).scalars().all()
        assert logged == ["too_slow", "too_slow"]  # the message and the reply
