"""`bot chat`: a terminal conversation through the bot's real /wechat endpoint, signed and encrypted."""
from __future__ import annotations

import subprocess

import httpx

from bot.chat import send
from tests.conftest import BIN, ROOT, free_port, start_process, stop_process
from tests.wechat_harness import (  # noqa: F401 - fixtures
    AES_KEY,
    APPID,
    TOKEN,
    BotServer,
    FakeRasa,
    bot_env,
    logged,
    settings_for,
    wait_serving,
    wechat_db,
)


def chat_once(env: dict[str, str], text: str, user: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "bot"), "chat", "--user", user, "-m", text], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_chat_in_safe_mode(wechat_db, caplog):
    """The CLI encrypts with WECHAT_AES_KEY; the bot decrypts, answers, encrypts; the CLI decrypts."""
    port = free_port()
    with FakeRasa() as rasa:
        settings = settings_for(wechat_db, rasa.url, WECHAT_APPID=APPID, WECHAT_AES_KEY=AES_KEY, BOT_PORT=str(port))
        with BotServer(settings, port=port):
            env = bot_env(wechat_db, rasa.url, port, WECHAT_TOKEN=TOKEN, WECHAT_APPID=APPID, WECHAT_AES_KEY=AES_KEY)
            done = chat_once(env, "加密聊天", "o_chat_safe")
            wrong = chat_once(dict(env, WECHAT_AES_KEY="B" * 43), "密钥不对", "o_chat_wrong")
        assert rasa.asked("加密聊天") == 1 and rasa.asked("密钥不对") == 0
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "答复：加密聊天"
    assert "400" in wrong.stdout and "cannot decrypt" in wrong.stdout
    assert [m["text"] for m in logged(wechat_db, "o_chat_safe")] == ["加密聊天", "答复：加密聊天"]


def test_chat_in_plain_mode(wechat_db):
    port = free_port()
    with FakeRasa() as rasa:
        settings = settings_for(wechat_db, rasa.url, BOT_PORT=str(port))
        with BotServer(settings, port=port):
            with httpx.Client() as client:
                assert send(settings, "o_chat_plain", "明文聊天", client) == "答复：明文聊天"


def test_chat_end_to_end_encrypted_against_the_real_assistant(stack, tmp_path):
    """Real Rasa, real actions, the knowledge base from the shipped reports; safe mode on the wire."""
    port = free_port()
    env = bot_env(stack.database_url, stack.rasa_url, port, WECHAT_TOKEN=TOKEN, WECHAT_APPID=APPID,
                  WECHAT_AES_KEY=AES_KEY, ACTIONS_URL=stack.actions_url)
    proc = start_process("bot-safe", [str(BIN / "bot"), "serve"], env, tmp_path)
    try:
        wait_serving(f"http://127.0.0.1:{port}", proc, tmp_path / "bot-safe.log")
        done = chat_once(env, "绵阳五年来办了多少场学术交流活动", "o_chat_e2e")
    finally:
        stop_process(proc)
    assert done.returncode == 0, done.stderr
    assert "50余场" in done.stdout
    assert "来源：《牢记使命 砥砺前行——绵阳市科协七大以来工作回眸》" in done.stdout
