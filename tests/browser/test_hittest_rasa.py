"""The hit test against the real Rasa (the console's own stack): the reply it shows is the one the bot sends.

For each question the hit test (stateless: /model/parse + /model/predict, then the
action's own code) must give the same intent, the same reply and the same verdict as
the real path of a new citizen (/api/ask: Rasa, the action server, the knowledge base).
"""
from __future__ import annotations

import httpx

from tests.admin_support import ConsoleStack

QUESTIONS = [
    "绵阳五年里请了多少位院士过去参加活动",  # a figure from a report
    "天府科技云是什么",  # a platform
    "科协食堂几点开饭",  # not in the knowledge base
    "你好",  # greeting: the welcome text staff set
    "我要找人工客服",  # handoff: the contact text staff set
    "谢谢",  # a response from the domain
]


def test_hit_test_reply_is_what_the_bot_sends(console_stack: ConsoleStack) -> None:
    for i, question in enumerate(QUESTIONS):
        hit = console_stack.api("POST", "/api/hittest", json={"text": question})
        assert hit.status_code == 200, hit.text
        hit = hit.json()
        assert hit["rasa_up"] is True, hit["rasa_error"]
        asked = console_stack.ask(question, user=f"hit-test-compare-{i}")
        assert hit["intent"]["name"] == asked["intent"]["name"], question
        assert hit["reply"] == asked["reply"], question
        assert hit["answered"] == asked["answered"], question
        assert hit["action"], question


def test_hit_test_leaves_no_trace(console_stack: ConsoleStack) -> None:
    """A knowledge question the reports do not answer: the bot would queue it, the hit test must not."""
    before = console_stack.api("GET", "/api/unanswered").json()["questions"]
    hits = []
    for q in ("宜宾科协廉洁警示教育有多少人参加", "锦江区青少年科技教育座谈会是哪天开的",
              "2021年济宁全国科普日主场活动在哪办", "绵阳科协帮扶的小河村在哪个县"):  # not used by other tests
        resp = console_stack.api("POST", "/api/hittest", json={"text": q})
        assert resp.status_code == 200, resp.text
        hits.append(resp.json())
    gaps = [h for h in hits if h["action"] in ("action_answer", "action_fallback") and not h["answered"]]
    assert gaps, [(h["question"], h["action"], h["answered"]) for h in hits]
    assert all(h["rasa_up"] for h in hits)
    assert console_stack.api("GET", "/api/unanswered").json()["questions"] == before
    resp = httpx.get(f"{console_stack.rasa_url}/conversations/default/tracker", timeout=10)
    assert gaps[0]["question"] not in resp.text  # /model/predict used a throwaway tracker, not a stored one
    asked = console_stack.ask(gaps[0]["question"], user="hit-test-trace")  # the real path does queue it
    assert asked["answered"] is False
    after = console_stack.api("GET", "/api/unanswered").json()["questions"]
    assert after[0]["text"] == gaps[0]["question"] and len(after) == len(before) + 1
