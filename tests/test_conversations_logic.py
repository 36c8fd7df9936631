"""The dialogue's own logic, without Rasa: rewriting follow-ups, spotting a bare follow-up,
the subscription wording, and keeping the longest of overlapping entities."""
from __future__ import annotations

from datetime import date

import pytest

from actions.answer import is_bare_follow_up, needs_region
from actions.subscribe import kinds_in, subscribed_reply, wants_to_start, wants_to_stop
from kb.subscriptions import describe
from bot.nlu_components import longest_entities
from kb.dialogue_support import Names, canonical_region, resolve_relative_year, rewrite_question

NAMES = Names(
    region={"绵阳": "绵阳", "绵阳市": "绵阳", "成都": "成都", "成都市": "成都", "蓉城": "成都", "通江县": "通江",
            "通江": "通江", "济宁": "济宁"},
    event={"科创会": "天府科技云服务大会", "天府科技云服务大会": "天府科技云服务大会", "大禹杯": "大禹杯"},
    platform={"天府科技云": "天府科技云", "科普中国": "科普中国"},
)


@pytest.mark.parametrize("previous, kwargs, expected", [
    ("绵阳有多少个科普e站", {"regions": ["成都"]}, "成都有多少个科普e站"),
    ("绵阳市有多少个科普e站", {"regions": ["成都"]}, "成都有多少个科普e站"),  # the whole 绵阳市, not 成都市
    ("有多少个科普e站", {"regions": ["成都"]}, "成都有多少个科普e站"),
    ("2020年济宁开展了多少场活动", {"times": ["2019年"]}, "2019年济宁开展了多少场活动"),
    ("2020年济宁开展了多少场活动", {"times": ["去年"]}, "2025年济宁开展了多少场活动"),
    ("济宁开展了多少场活动", {"times": ["前年"]}, "2024年济宁开展了多少场活动"),
    ("第二届科创会遴选了多少个科创项目", {"times": ["第三届"]}, "第三届科创会遴选了多少个科创项目"),
    ("大禹杯怎么报名", {"events": ["青少年科技创新大赛"]}, "青少年科技创新大赛怎么报名"),
    ("绵阳2020年办了几场活动", {"regions": ["通江"], "times": ["今年"]}, "通江2026年办了几场活动"),
])
def test_rewrite_question(previous: str, kwargs: dict, expected: str) -> None:
    assert rewrite_question(previous, NAMES, today=date(2026, 11, 23), **kwargs) == expected


def test_relative_years_follow_the_calendar() -> None:
    assert resolve_relative_year("去年", date(2025, 1, 1)) == "2024年"
    assert resolve_relative_year("今年", date(2025, 12, 31)) == "2025年"
    assert resolve_relative_year("2020年", date(2025, 1, 1)) == "2020年"


def _ents(text: str, *names: tuple[str, str]) -> list[dict]:
    out = []
    for surface, kind in names:
        start = text.index(surface)
        out.append({"entity": kind, "value": surface, "start": start, "end": start + len(surface)})
    return out


@pytest.mark.parametrize("text, names, bare", [
    ("成都", [("成都", "region")], True),
    ("那成都呢", [("成都", "region")], True),
    ("那去年呢", [("去年", "time")], True),
    ("换成2022年再查一下", [("2022年", "time")], True),
    ("绵阳那边怎么样", [("绵阳", "region")], True),
    ("成都有多少家高校科协", [("成都", "region")], False),
    ("绵阳最近有什么活动", [("绵阳", "region"), ("最近", "time")], False),
    ("你好", [], False),
    ("天府科技云", [("天府科技云", "platform")], False),
])
def test_bare_follow_up(text: str, names: list, bare: bool) -> None:
    assert is_bare_follow_up(text, _ents(text, *names)) is bare


def test_only_figure_questions_about_no_event_need_a_place() -> None:
    assert needs_region("ask_statistics", "注册科技工作者有多少人", NAMES)
    assert needs_region("nlu_fallback", "公民科学素质比例是多少", NAMES)
    assert not needs_region("ask_statistics", "科创会遴选了多少个项目", NAMES)
    assert not needs_region("ask_platform", "天府科技云怎么注册", NAMES)


def test_canonical_region_strips_one_admin_suffix() -> None:
    assert [canonical_region(n) for n in ("绵阳市", "通江县", "锦江区", "四川省", "成都", "沙县")] == \
        ["绵阳", "通江", "锦江", "四川", "成都", "沙县"]


def test_subscription_wording_says_what_is_followed() -> None:
    assert kinds_in("有比赛通知我") == ["竞赛"]
    assert kinds_in("有活动通知我") == []  # 活动 alone: every kind
    assert describe([]) == "全部科普活动、竞赛和会议"
    assert describe(["成都", "科普活动"]) == "成都的科普活动"
    assert describe(["成都"]) == "成都的活动"
    reply = subscribed_reply(["竞赛"])
    assert "已为您订阅竞赛提醒" in reply and "取消订阅" in reply
    assert "的新活动时" not in subscribed_reply(["科普活动"])  # not "有科普活动的新活动时"


def test_longest_of_overlapping_entities_wins() -> None:
    text = "天府科技云服务大会在四川科技网上有直播吗 成都"
    ents = _ents(text, ("天府科技云服务大会", "event"), ("天府科技云", "platform"), ("四川科技网", "platform"),
                 ("四川", "region"), ("成都", "region"))
    kept = [(e["entity"], e["value"]) for e in longest_entities(ents)]
    assert kept == [("event", "天府科技云服务大会"), ("platform", "四川科技网"), ("region", "成都")]


@pytest.mark.parametrize("text, stop, start", [
    ("取消订阅", True, False),
    ("这个订阅我不要了", True, False),
    ("活动消息别发了", True, False),
    ("订阅的提醒停一下", True, False),
    ("退休老人能参加的讲座 有的话提醒我", False, True),  # 退休 is not 退订
    ("帮我开通活动提醒", False, True),
    ("订阅", False, False),
])
def test_subscription_polarity_words(text: str, stop: bool, start: bool) -> None:
    """The actions re-check the words before changing a subscription against them."""
    assert wants_to_stop(text) is stop
    assert wants_to_start(text) is start
