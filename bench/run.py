"""`make bench`: the local stack under load, measured (not a test: figures for the README).

Starts the production topology as plain processes (PostgreSQL, Redis, Rasa
replicas with a shared tracker store, the action server, the bot), then from a
separate process sends signed WeChat messages at 1, 8 and 32 concurrent users,
and bare Rasa /model/parse calls in the same run, so the bot's overhead is a
ratio. Also reports each process's memory and the warm start time.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.localstack import LocalStack
from bot.supervisor import STACK_POSTGRES, STACK_REDIS, Topology, ensure_database
from bot.training import ensure_model, write_nlu_resources
from kb.db import migrate, session_scope
from kb.ingest import build_corpus


def load(mode: str, url: str, token: str, users: int, seconds: float) -> dict:
    out = subprocess.run([sys.executable, "-m", "bench.load", mode, url, "--token", token, "--users", str(users),
                          "--seconds", str(seconds)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--users", default="1,8,32")
    parser.add_argument("--rasa-replicas", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    database_url = ensure_database(STACK_POSTGRES, "kexie_bench")
    tracker_url = ensure_database(STACK_POSTGRES, "kexie_bench_rasa")
    migrate(database_url)
    with session_scope(database_url) as session:
        build_corpus(session)
        write_nlu_resources(session)
    model = ensure_model(quiet=True)
    topology = Topology(rasa_replicas=args.rasa_replicas, web_workers=args.workers,
                        tracker_store_url=tracker_url, lock_store_url=f"{STACK_REDIS}/1")
    work = Path(tempfile.mkdtemp(prefix="kexie-bench-"))
    stack = LocalStack(database_url=database_url, model=model, workdir=work, topology=topology,
                       redis_url=f"{STACK_REDIS}/0")
    started = time.monotonic()
    stack.start()
    results: dict = {"warm_start_s": round(time.monotonic() - started, 1),
                     "topology": {"rasa_replicas": args.rasa_replicas, "web_workers": args.workers}, "runs": []}
    print(f"stack ready in {results['warm_start_s']} s (logs: {work})", flush=True)
    try:
        load("wechat", stack.bot_url, stack.token, 4, 3)  # warm-up
        for users in [int(u) for u in args.users.split(",")]:
            for mode, url in (("parse", stack.rasa_url), ("wechat", stack.bot_url)):
                r = load(mode, url, stack.token, users, args.seconds)
                results["runs"].append(r)
                print(f"{mode:6} users={users:3}  {r['throughput_per_s']:7.1f}/s  p50 {r['p50_ms']:7.1f} ms  "
                      f"p95 {r['p95_ms']:7.1f} ms  p99 {r['p99_ms']:7.1f} ms  errors {r['errors']}", flush=True)
        results["memory_mb"] = stack.memory()
    finally:
        stack.stop()
    by = {(r["mode"], r["users"]): r for r in results["runs"]}
    for users in sorted({u for _, u in by}):
        w, p = by.get(("wechat", users)), by.get(("parse", users))
        if w and p and p["p50_ms"]:
            print(f"users={users:3}: end-to-end p50 is {w['p50_ms'] / p['p50_ms']:.1f}x bare Rasa parse p50")
    print("memory (MB):", json.dumps(results["memory_mb"]))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
