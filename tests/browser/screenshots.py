"""`make screenshots`: PNGs of the console's main pages for the README (docs/screenshots/).

Not collected by `make test` (the file name does not start with test_); run it by
path. It drives the real assistant (console_stack) in Chromium at a phone size and a
desktop size. The dashboard needs some history: real questions go through /api/ask,
and two weeks of earlier demo traffic are written to the log of this throwaway database.
"""
from __future__ import annotations

import os
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.admin_support import ConsoleStack
from tests.browser.conftest import DESKTOP, log_in

OUT = Path(os.environ.get("SCREENSHOTS_DIR") or Path(__file__).resolve().parents[2] / "docs" / "screenshots")
PHONE_SHOT = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1, "is_mobile": True,
              "has_touch": True, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
DESKTOP_SHOT = {**DESKTOP, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
QUESTIONS = ["绵阳五年里请了多少位院士过去参加活动", "天府科技云是什么", "成都有多少家高校科协", "你好",
             "济宁有几个院士工作站", "济宁一共有几个院士工作站啊", "通江县一共有多少名科普员", "科协食堂几点开饭",
             "第三十六届绵阳市青少年科技创新大赛几号开始报名", "谢谢"]
INTENTS = ["ask_statistics"] * 6 + ["ask_event"] * 4 + ["ask_platform"] * 3 + ["ask_competition"] * 2 + \
          ["greet"] * 2 + ["subscribe", "thank", "nlu_fallback", "out_of_scope"]


def _demo_history(database_url: str) -> None:
    from kb.db import session_scope
    from kb.models import Message

    rng = random.Random(2031)
    now = datetime.now(timezone.utc)
    with session_scope(database_url) as session:
        for day in range(1, 14):
            for _ in range(rng.randint(10, 32)):
                intent = rng.choice(INTENTS)
                kb_intent = intent.startswith("ask") or intent == "nlu_fallback"
                session.add(Message(openid=f"demo-{rng.randint(1, 60)}", direction="in", text="（演示）",
                                    intent=intent, answered=(rng.random() > 0.3) if kb_intent else True,
                                    created_at=now - timedelta(days=day, minutes=rng.randint(0, 600))))


def test_screenshots(browser, console_stack: ConsoleStack) -> None:  # noqa: ANN001
    stack = console_stack
    OUT.mkdir(parents=True, exist_ok=True)
    for i, q in enumerate(QUESTIONS):
        stack.ask(q, user=f"citizen-{i % 4}")
    _demo_history(stack.database_url)
    doc_id = stack.api("GET", "/api/documents", params={"q": "绵阳", "per_page": 1}).json()["items"][0]["id"]
    event = stack.api("POST", "/api/events", json={
        "title": "2031年全国科普日成都主场活动", "kind": "科普活动", "location": "成都科技馆", "region": "成都",
        "starts_at": (datetime.now(timezone.utc) + timedelta(days=12)).replace(hour=1, minute=0).isoformat(),
        "description": "（演示活动）", "registration": "现场参加，无需报名"}).json()
    pages = {
        "dashboard": "/admin/",
        "hittest": "/admin/hittest?q=绵阳五年里请了多少位院士过去参加活动",
        "unanswered": "/admin/unanswered",
        "documents": "/admin/documents",
        "document-review": f"/admin/documents/{doc_id}?imported=1",
        "faqs-new": "/admin/faqs/new",
        "history": "/admin/history",
        "settings": "/admin/settings",
        "event": f"/admin/events/{event['id']}",
    }
    for name, device in (("phone", PHONE_SHOT), ("desktop", DESKTOP_SHOT)):
        context = browser.new_context(**device)
        page = context.new_page()
        page.goto(f"{stack.bot_url}/admin/login")
        if name == "phone":
            page.screenshot(path=str(OUT / "login-phone.png"))
        log_in(page, stack)
        for key, path in pages.items():
            page.goto(f"{stack.bot_url}{path}")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(OUT / f"{key}-{name}.png"),
                            full_page=(name == "desktop" and key in ("dashboard", "hittest")))
        context.close()
    shots = sorted(p.name for p in OUT.glob("*.png"))
    assert len(shots) >= 2 * len(pages) + 1, shots
    print(f"\n{len(shots)} screenshots in {OUT}")


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(pytest.main(["-q", __file__]))
