"""The custom menu: the shipped YAML, `bot menu push` through the fake WeChat API, and click answers."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest
import yaml

from bot import menu, texts
from bot.cli import main
from kb.db import migrate, session_scope
from tests import wechat_wire as wire
from tests.fake_wechat_api import FakeWeChatAPI
from tests.wechat_harness import TOKEN, BotServer, FakeRasa, new_user, settings_for

MENU_CREATE = "/cgi-bin/menu/create"


@pytest.fixture
def env_for(monkeypatch):
    """Point the CLI at the fake WeChat API (and nothing else from this machine's environment)."""
    for name in ("REDIS_URL", "WECHAT_APPID", "WECHAT_SECRET", "WECHAT_API_BASE_URL"):
        monkeypatch.delenv(name, raising=False)

    def point(api: FakeWeChatAPI | None) -> None:
        monkeypatch.setenv("BOT_API_TOKEN", "unused")
        if api is not None:
            monkeypatch.setenv("WECHAT_APPID", api.appid)
            monkeypatch.setenv("WECHAT_SECRET", api.secret)
            monkeypatch.setenv("WECHAT_API_BASE_URL", api.base_url)
    return point


def test_shipped_menu_is_valid_and_every_click_is_answered():
    data = menu.load()
    clicks = [b for top in data["button"] for b in top.get("sub_button", [top]) if b.get("type") == "click"]
    assert {b["key"] for b in clicks} <= set(menu.KEYS)
    assert {"UPCOMING_EVENTS", "HOW_TO_SUBSCRIBE"} <= {b["key"] for b in clicks}


def test_menu_push_sends_the_default_menu(api, env_for, capsys):
    env_for(api)
    assert main(["menu", "push"]) == 0
    calls = api.calls_to(MENU_CREATE)
    assert len(calls) == 1
    assert calls[0].body == yaml.safe_load(menu.DEFAULT_MENU.read_text(encoding="utf-8"))
    assert "menu created" in capsys.readouterr().out


def test_menu_push_a_given_file(api, env_for, tmp_path):
    env_for(api)
    path = tmp_path / "menu.yaml"
    path.write_text("button:\n  - {type: click, name: 近期活动, key: UPCOMING_EVENTS}\n"
                    "  - {type: view, name: 官网, url: 'https://www.cast.org.cn/'}\n", encoding="utf-8")
    assert main(["menu", "push", str(path)]) == 0
    assert api.calls_to(MENU_CREATE)[0].body == {"button": [
        {"type": "click", "name": "近期活动", "key": "UPCOMING_EVENTS"},
        {"type": "view", "name": "官网", "url": "https://www.cast.org.cn/"}]}


def test_menu_push_after_an_expired_token_retries_once(api, env_for):
    env_for(api)
    api.fail_next(MENU_CREATE, 42001)
    assert main(["menu", "push"]) == 0
    assert len(api.calls_to(MENU_CREATE)) == 2 and len(api.calls_to("/cgi-bin/token")) == 2


def test_menu_push_reports_wechats_refusal(api, env_for, capsys):
    env_for(api)
    api.fail_next(MENU_CREATE, 48001)
    assert main(["menu", "push"]) == 1
    assert "48001" in capsys.readouterr().err


def test_menu_push_needs_credentials(env_for, capsys):
    env_for(None)
    assert main(["menu", "push"]) == 2
    assert "WECHAT_APPID" in capsys.readouterr().err


@pytest.mark.parametrize("content, message", [
    ("button: []", "1 to 3 buttons"),
    ("button:\n" + "  - {type: click, name: a, key: HUMAN}\n" * 4, "1 to 3 buttons"),
    ("button:\n  - {type: click, name: 这是一个太长的菜单名字, key: HUMAN}", "longer than 16 bytes"),
    ("button:\n  - {type: click, name: 活动, key: NOBODY_ANSWERS}", "no answer for key 'NOBODY_ANSWERS'"),
    ("button:\n  - {type: view, name: 官网, url: 'javascript:alert(1)'}", "http(s) url"),
    ("button:\n  - {name: 活动, sub_button: []}", "1 to 5 buttons"),
    ("button: [unclosed", "not valid YAML"),
    ("- just a list", "top-level 'button' list"),
])
def test_invalid_menus_are_refused_before_wechat_sees_them(api, env_for, tmp_path, capsys, content, message):
    env_for(api)
    path = tmp_path / "menu.yaml"
    path.write_text(content, encoding="utf-8")
    assert main(["menu", "push", str(path)]) == 2
    assert message in capsys.readouterr().err
    assert api.calls_to(MENU_CREATE) == []


# -- answers to clicks ----------------------------------------------------------------------------

@pytest.fixture
def events_db(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
    migrate(url)
    return url


def test_upcoming_events_without_any(events_db):
    with session_scope(events_db) as session:
        assert menu.answer_click(session, "UPCOMING_EVENTS", "Asia/Shanghai") == texts.NO_UPCOMING_EVENTS


def test_upcoming_events_soonest_first_in_local_time(events_db):
    from kb import events

    now = datetime.now(timezone.utc)
    soon = (now + timedelta(days=3)).replace(hour=6, minute=30, second=0, microsecond=0)  # 14:30 in Beijing
    later = now + timedelta(days=20)
    with session_scope(events_db) as session:
        events.create_event(session, {"title": "科技活动周开幕式", "kind": "科普活动", "starts_at": later.isoformat(),
                                      "location": "成都市科技馆"})
        events.create_event(session, {"title": "青少年科技创新大赛", "kind": "竞赛", "starts_at": soon.isoformat()})
        events.create_event(session, {"title": "去年的讲座", "starts_at": (now - timedelta(days=30)).isoformat()})
    with session_scope(events_db) as session:
        reply = menu.answer_click(session, "UPCOMING_EVENTS", "Asia/Shanghai")
    lines = reply.split("\n")
    local = soon.astimezone(timezone(timedelta(hours=8)))
    assert lines[0] == "近期活动："
    assert lines[1] == f"1. 青少年科技创新大赛（{local.year}年{local.month}月{local.day}日 14:30）"
    assert lines[2].startswith("2. 科技活动周开幕式（") and lines[2].endswith("，成都市科技馆）")
    assert "去年的讲座" not in reply
    assert lines[-1] == texts.REMIND_HINT


def test_click_over_http_with_an_event(events_db):
    from kb import events

    with session_scope(events_db) as session:
        events.create_event(session, {"title": "全国科普日活动", "starts_at":
                                      (datetime.now(timezone.utc) + timedelta(days=5)).isoformat()})
    with FakeRasa() as rasa:
        with BotServer(settings_for(events_db, rasa.url)) as bot:
            resp = httpx.post(bot.wechat_url, params=wire.plain_params(TOKEN), timeout=10,
                              content=wire.event_xml("CLICK", user=new_user(), key="UPCOMING_EVENTS").encode())
        assert rasa.asked() == 0
    assert "1. 全国科普日活动" in wire.reply_fields(resp.text)["Content"]
