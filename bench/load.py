"""A load generator: signed WeChat text messages, or bare Rasa parses, from N concurrent users.

Run as its own process (`python -m bench.load ...`) so the client's CPU is not
the server's. Prints one JSON line with throughput and latency percentiles.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import statistics
import time
from pathlib import Path

import httpx
import yaml

# What citizens write besides questions about the reports: greetings, thanks, follow-ups,
# subscriptions, questions about events.
CONVERSATION = [
    "你好", "谢谢", "那成都呢", "订阅活动提醒", "这周末有科普活动吗", "青少年科技创新大赛怎么报名",
    "科普中国APP是什么", "天府科技云怎么注册", "那去年呢", "再见",
]
QUESTION_FILES = sorted((Path(__file__).resolve().parent.parent / "tests" / "data").glob("kb_questions*.yml"))


def questions() -> list[str]:
    """The mix one run sends: every citizen-style question of the knowledge-base evaluation
    sets (over a thousand different ones, answerable or not), one conversational message
    in five, in a fixed shuffled order. So the knowledge base searches for real, rather
    than answering the same dozen questions from warm caches."""
    asked: list[str] = []
    for path in QUESTION_FILES:
        asked += [item["q"] for item in yaml.safe_load(path.read_text(encoding="utf-8")) or [] if item.get("q")]
    random.Random(8).shuffle(asked)
    mix: list[str] = []
    for i, q in enumerate(dict.fromkeys(asked)):
        mix.append(q)
        if i % 4 == 3:
            mix.append(CONVERSATION[(i // 4) % len(CONVERSATION)])
    return mix or CONVERSATION


QUESTIONS = questions()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def signed_params(token: str) -> dict[str, str]:
    timestamp, nonce = str(int(time.time())), str(random.randrange(10**8, 10**9))
    signature = hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}


def message(user: str, text: str) -> bytes:
    msg_id = random.randrange(10**15, 10**16)
    return (f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>").encode()


async def user_loop(mode: str, url: str, token: str, user: str, deadline: float, lat: list[float],
                    errors: list[str], client: httpx.AsyncClient) -> None:
    i = random.randrange(len(QUESTIONS))
    sent = 0
    while time.monotonic() < deadline:
        text = QUESTIONS[i % len(QUESTIONS)]
        i += 1
        # many citizens, each writing a few messages: as on a real account, and under the
        # per-user rate limit (BOT_RATE_LIMIT), which would otherwise answer most of the load
        citizen = f"{user}_{sent // 10}"
        sent += 1
        started = time.perf_counter()
        try:
            if mode == "wechat":
                resp = await client.post(f"{url}/wechat", params=signed_params(token), content=message(citizen, text))
                ok = resp.status_code == 200 and "<Content>" in resp.text
            else:
                resp = await client.post(f"{url}/model/parse", json={"text": text})
                ok = resp.status_code == 200 and "intent" in resp.json()
        except httpx.HTTPError as exc:
            ok, resp = False, None
            errors.append(type(exc).__name__)
        elapsed = time.perf_counter() - started
        if ok:
            lat.append(elapsed * 1000)
        elif resp is not None:
            errors.append(str(resp.status_code))


async def run(mode: str, url: str, token: str, users: int, seconds: float) -> dict:
    lat: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(timeout=10.0, limits=limits) as client:
        started = time.monotonic()
        deadline = started + seconds
        # a tag per run: citizens of an earlier run (same tracker store) are not continued
        run_tag = f"{random.randrange(16**6):06x}"
        await asyncio.gather(*(user_loop(mode, url, token, f"o_bench_{run_tag}_{users}_{u}", deadline, lat, errors,
                                         client) for u in range(users)))
        wall = time.monotonic() - started
    return {
        "mode": mode, "users": users, "seconds": round(wall, 1), "requests": len(lat) + len(errors),
        "errors": len(errors), "throughput_per_s": round(len(lat) / wall, 1),
        "p50_ms": round(percentile(lat, 50), 1), "p95_ms": round(percentile(lat, 95), 1),
        "p99_ms": round(percentile(lat, 99), 1), "mean_ms": round(statistics.fmean(lat), 1) if lat else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["wechat", "parse"])
    parser.add_argument("url")
    parser.add_argument("--token", default="")
    parser.add_argument("--users", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=15)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.mode, args.url, args.token, args.users, args.seconds))), flush=True)


if __name__ == "__main__":
    main()
