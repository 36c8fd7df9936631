"""A staff member's day in a real browser against the real assistant (Rasa, actions, bot).

Log in, import a report, hit-test a question from it, answer a citizen's unanswered
question as a Q&A pair, and see the bot use that answer through /api/ask — on a phone
and on a desktop-sized window.
"""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.admin_support import ConsoleStack
from tests.browser.conftest import DESKTOP, PHONE, log_in

REPORT = """2031年青羊区科协工作简报

2031年，青羊区科协举办青少年天文科普营4期，参与学生达到960人次。

青羊区科协新建社区科普书屋12个，覆盖全区14个街道。
"""
# Questions the shipped reports do not answer; the citizen's path (Rasa -> knowledge base) queues them.
GAPS = ["济宁有几个院士工作站", "通江县一共有多少名科普员", "成都2020年公民具备科学素质的比例是多少",
        "书台村一共多少户人家"]


@pytest.mark.parametrize("device", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_import_hit_test_and_answer_an_unanswered_question(browser, console_stack: ConsoleStack,  # noqa: ANN001
                                                            device: dict, tmp_path) -> None:  # noqa: ANN001
    stack = console_stack
    label = "phone" if device is PHONE else "desktop"
    context = browser.new_context(**device)
    page = context.new_page()
    try:
        # 1. log in (a wrong password first)
        page.goto(f"{stack.bot_url}/admin/")
        page.fill("#username", stack.admin)
        page.fill("#password", "not-the-password")
        page.click("button[type=submit]")
        expect(page.locator(".flash.error")).to_contain_text("用户名或密码不正确")
        log_in(page, stack)
        expect(page.locator("h1")).to_contain_text("概览")

        # 2. import a report by upload
        district = "青羊区" if label == "phone" else "金牛区"
        report = tmp_path / f"{district}-brief.txt"
        report.write_text(REPORT.replace("青羊区", district), encoding="utf-8")
        page.goto(f"{stack.bot_url}/admin/documents/import")
        page.set_input_files("#f-file", str(report))
        page.fill("#f-published_at", "2031-12")
        page.fill("#f-region", "成都")
        page.fill("#f-source", f"{district}科协")
        page.click("button:has-text('导入')")
        expect(page.locator(".flash.ok").first).to_contain_text("已导入")
        expect(page.locator("#facts")).to_contain_text("12")  # the figure extracted, shown for review
        expect(page.locator("ol.passages")).to_contain_text("社区科普书屋12个")

        # 3. hit-test a question from it
        page.goto(f"{stack.bot_url}/admin/hittest")
        question = f"{district}新建了多少个社区科普书屋"
        page.fill("#q", question)
        page.click("form.ask button")
        expect(page.locator("#reply blockquote")).to_contain_text("12个")
        expect(page.locator("#reply blockquote")).to_contain_text(f"{district}-brief")
        expect(page.locator("#nlu dl")).to_be_visible()  # Rasa is up: intent and confidence are shown
        intent = page.locator("#nlu dd b").first.inner_text()
        asked = stack.ask(question, user=f"browser-{label}-1")
        assert intent == asked["intent"]["name"]
        assert page.locator("#reply blockquote").inner_text().strip() == asked["reply"].strip()
        expect(page.locator("#candidates mark").first).to_be_visible()

        # 4. a citizen's question the bot cannot answer, turned into a Q&A pair in two clicks
        gap = next((q for q in GAPS if not stack.ask(q, user=f"citizen-{label}")["answered"]), None)
        assert gap, "every candidate question got an answer: pick new ones"
        page.goto(f"{stack.bot_url}/admin/unanswered")
        card = page.locator("article.gap", has=page.locator("b.q", has_text=gap)).first
        expect(card).to_be_visible()
        card.locator("summary:has-text('转为问答')").click()  # click 1
        answer = f"这个问题请直接咨询当地科协工作人员（{label} 测试答案）。"
        card.locator("textarea[name=answer]").fill(answer)
        card.locator("button:has-text('保存问答')").click()  # click 2
        expect(page.locator(".flash.ok").first).to_contain_text("已新建问答")
        expect(page.locator("article.gap", has=page.locator("b.q", has_text=gap))).to_have_count(0)

        # 5. the bot uses it at once, through the real path
        reply = stack.ask(gap, user=f"citizen-{label}-again")
        assert reply["answered"] is True
        assert reply["reply"].startswith(answer)

        # the change is in the history, by this staff member
        page.goto(f"{stack.bot_url}/admin/history?table_name=faqs")
        expect(page.locator("table.list tbody tr").first).to_contain_text(stack.admin)
        if label == "phone":  # the menu folds away on a phone and opens on a tap
            nav = page.locator("#menu nav")
            expect(nav).to_be_hidden()
            page.locator("#menu summary").click()
            expect(nav).to_be_visible()
            assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    finally:
        context.close()


def test_a_viewer_sees_but_cannot_edit(browser, console_stack: ConsoleStack) -> None:  # noqa: ANN001
    from kb import accounts
    from kb.db import session_scope

    with session_scope(console_stack.database_url) as session:
        if accounts.by_name(session, "reader") is None:
            accounts.create_user(session, "reader", "reader-password", "viewer", actor="test")
    context = browser.new_context(**DESKTOP)
    page = context.new_page()
    try:
        page.goto(f"{console_stack.bot_url}/admin/passages/1")
        page.fill("#username", "reader")
        page.fill("#password", "reader-password")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/admin/passages/1$"))
        expect(page.locator("textarea[name=text]")).to_be_disabled()
        expect(page.locator("button:has-text('保存')")).to_have_count(0)
        expect(page.locator("nav a:has-text('账号')")).to_have_count(0)
    finally:
        context.close()
