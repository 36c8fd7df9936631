"""`make soak`: mixed traffic with WeChat-style retries for a while, then checks.

Starts the production topology as plain processes (PostgreSQL, Redis, two Rasa
replicas, two bot workers), sends signed messages from several users where
some messages are retried like WeChat does (the same MsgId again, in a row or
at the same moment), samples every process's memory, and fails when:
- a message was answered or logged more than once (duplicate replies),
- any request failed,
- a process's memory grew by more than the bound after the warm-up.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import func, select

from bench.load import QUESTIONS, message, signed_params
from bot.localstack import LocalStack
from bot.supervisor import STACK_POSTGRES, STACK_REDIS, Topology, ensure_database
from bot.training import ensure_model, write_nlu_resources
from kb.db import migrate, session_scope
from kb.ingest import build_corpus
from kb.models import Message


async def citizen(stack: LocalStack, user: str, deadline: float, stats: Counter, sent: list[tuple[str, int]],
                  client: httpx.AsyncClient) -> None:
    count = 0
    while time.monotonic() < deadline:
        text = random.choice(QUESTIONS)
        # a fresh citizen every few messages: real traffic, under the per-user rate limit
        body = message(f"{user}_{count // 8}", text)
        count += 1
        msg_id = int(body.split(b"<MsgId>")[1].split(b"</MsgId>")[0])
        attempts = random.choices([1, 2, 3], weights=[6, 3, 1])[0]
        concurrent = attempts > 1 and random.random() < 0.5

        async def attempt() -> None:
            try:
                resp = await client.post(f"{stack.bot_url}/wechat", params=signed_params(stack.token), content=body)
                stats["ok" if resp.status_code == 200 else f"http_{resp.status_code}"] += 1
            except httpx.HTTPError as exc:
                stats[type(exc).__name__] += 1

        if concurrent:
            await asyncio.gather(*(attempt() for _ in range(attempts)))
        else:
            for _ in range(attempts):
                await attempt()
        sent.append((user, msg_id))
        stats["messages"] += 1
        stats["retries"] += attempts - 1
        await asyncio.sleep(random.uniform(0.05, 0.3))


async def traffic(stack: LocalStack, users: int, seconds: float, stats: Counter, sent: list) -> None:
    async with httpx.AsyncClient(timeout=10.0) as client:
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(citizen(stack, f"o_soak_{u}", deadline, stats, sent, client) for u in range(users)))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--users", type=int, default=12)
    parser.add_argument("--memory-growth-mb", type=float, default=150)
    args = parser.parse_args()

    database_url = ensure_database(STACK_POSTGRES, "kexie_soak")
    tracker_url = ensure_database(STACK_POSTGRES, "kexie_soak_rasa")
    migrate(database_url)
    with session_scope(database_url) as session:
        session.execute(Message.__table__.delete())  # a clean log to check for duplicates
        build_corpus(session)
        write_nlu_resources(session)
    stack = LocalStack(database_url=database_url, model=ensure_model(quiet=True),
                       workdir=Path(tempfile.mkdtemp(prefix="kexie-soak-")),
                       topology=Topology(2, 2, tracker_url, f"{STACK_REDIS}/1"), redis_url=f"{STACK_REDIS}/0")
    stack.start()
    stats: Counter = Counter()
    sent: list[tuple[str, int]] = []
    samples: list[dict[str, float]] = []
    seconds = args.minutes * 60
    warmup = min(60.0, seconds / 5)
    print(f"soak: {args.users} users for {args.minutes} min (logs: {stack.workdir})", flush=True)
    try:
        async def run() -> None:
            task = asyncio.create_task(traffic(stack, args.users, seconds, stats, sent))
            started = time.monotonic()
            while not task.done():
                await asyncio.sleep(10)
                if time.monotonic() - started >= warmup:
                    samples.append(stack.memory())
                print(f"  {time.monotonic() - started:5.0f} s  {dict(stats)}", flush=True)
            await task
        asyncio.run(run())
        time.sleep(2)  # the last answers land in the log
    finally:
        stack.stop()

    failures = []
    with session_scope(database_url) as session:
        rows = session.execute(select(Message.msg_id, Message.direction, func.count())
                               .group_by(Message.msg_id, Message.direction)).all()
    per_message = Counter()
    for msg_id, direction, count in rows:
        if count > 1:
            failures.append(f"message {msg_id} logged {count} times ({direction})")
        per_message[msg_id] += 1
    logged = {m for m, _, _ in rows}
    missing = [m for _, m in sent if str(m) not in logged]
    if missing:
        failures.append(f"{len(missing)} messages never logged, e.g. {missing[:3]}")
    errors = {k: v for k, v in stats.items() if k not in ("ok", "messages", "retries")}
    if errors:
        failures.append(f"request errors: {errors}")
    if len(samples) >= 2:
        for name in samples[0]:
            growth = max(s.get(name, 0) for s in samples) - samples[0][name]
            if growth > args.memory_growth_mb:
                failures.append(f"{name} grew by {growth:.0f} MB")
    print(json.dumps({"stats": dict(stats), "memory_first": samples[0] if samples else {},
                      "memory_last": samples[-1] if samples else {}}, ensure_ascii=False))
    if failures:
        print("SOAK FAILED:\n  " + "\n  ".join(failures))
        return 1
    print(f"soak passed: {stats['messages']} messages, {stats['retries']} retries, no duplicates, no errors")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
