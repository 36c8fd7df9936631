"""`bot run`: every part of the assistant in the foreground, with one log stream.

honcho (the Python Foreman) starts each part in its own process group,
prefixes its lines, and on Ctrl-C or SIGTERM stops every group (SIGKILL after
5 s), so nothing is left running. If one part dies, the others are stopped too:
a half-running assistant is worse than a stopped one.
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass
from urllib.parse import urlparse
import sys
import time
from pathlib import Path

import httpx
from honcho.manager import Manager
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.training import model_path, rasa_env
from kb.db import PROJECT_ROOT


@dataclass(frozen=True)
class Topology:
    """How many of each part, and what they share. `bot run`: one of each; `bot stack`: production-like."""

    rasa_replicas: int = 1
    web_workers: int = 1
    tracker_store_url: str | None = None  # PostgreSQL for Rasa's conversations (shared by replicas)
    lock_store_url: str | None = None  # Redis, so two replicas never work on one conversation at once


# Rasa's SQLTrackerStore without its count query on every save (bot/tracker_store.py).
TRACKER_STORE = "bot.tracker_store.LoadCountingSQLTrackerStore"


def endpoints_yaml(settings: Settings, topology: Topology) -> str:
    """Rasa's endpoints for this run (written out: Rasa 3.6 only expands unquoted ${VARS})."""
    lines = ["action_endpoint:", f'  url: "{settings.actions_url}/webhook"']
    if topology.tracker_store_url:
        u = make_url(topology.tracker_store_url)
        lines += ["tracker_store:", f"  type: {TRACKER_STORE}", "  dialect: postgresql", f"  url: {u.host or '127.0.0.1'}",
                  f"  port: {u.port or 5432}", f"  db: {u.database}", f"  username: {u.username or 'postgres'}"]
        if u.password:
            lines.append(f'  password: "{u.password}"')
    if topology.lock_store_url:
        r = urlparse(topology.lock_store_url)
        lines += ["lock_store:", "  type: redis", f"  url: {r.hostname or '127.0.0.1'}", f"  port: {r.port or 6379}",
                  f"  db: {int((r.path or '/0').strip('/') or 0)}"]
        if r.password:
            lines.append(f'  password: "{r.password}"')
    return "\n".join(lines) + "\n"


def write_endpoints(settings: Settings, topology: Topology = Topology()) -> Path:
    path = PROJECT_ROOT / "var" / "endpoints.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(endpoints_yaml(settings, topology), encoding="utf-8")
    path.chmod(0o600)  # may hold a database password
    return path


def rasa_ports(settings: Settings, topology: Topology) -> list[int]:
    return [settings.rasa_port + i for i in range(topology.rasa_replicas)]


def commands(settings: Settings, topology: Topology = Topology()) -> dict[str, str]:
    """The processes of one assistant; docker-compose.yml runs the same parts as services."""
    bin_dir = Path(sys.executable).parent
    q = shlex.quote
    model = model_path()
    if not model.is_file():
        raise SystemExit(f"No Rasa model {model.name}: run `bot train` (or `make run`) first.")
    endpoints = write_endpoints(settings, topology)
    procs: dict[str, str] = {}
    for i, port in enumerate(rasa_ports(settings, topology), 1):
        name = "rasa" if topology.rasa_replicas == 1 else f"rasa-{i}"
        procs[name] = (f"exec {q(str(bin_dir / 'kexie-rasa'))} run --enable-api -i 127.0.0.1 --port {port} "
                       f"-m {q(str(model))} --endpoints {q(str(endpoints))} --credentials credentials.yml")
    procs["actions"] = f"exec {q(str(bin_dir / 'rasa'))} run actions --actions actions --port {settings.actions_port}"
    procs["web"] = f"exec {q(str(bin_dir / 'bot'))} serve --workers {topology.web_workers}"
    procs["scheduler"] = f"exec {q(str(bin_dir / 'bot'))} scheduler"
    procs["ready"] = f"exec {q(str(bin_dir / 'bot'))} wait-ready --stay"
    return procs


def run_all(settings: Settings, topology: Topology = Topology(), extra_env: dict[str, str] | None = None) -> int:
    env = rasa_env()
    env.update(extra_env or {})
    env["ACTIONS_URL"] = settings.actions_url
    env["BOT_API_TOKEN"] = settings.api_token
    env["RASA_URLS"] = ",".join(f"http://127.0.0.1:{p}" for p in rasa_ports(settings, topology))
    manager = Manager()
    for name, cmd in commands(settings, topology).items():
        manager.add_process(name, cmd, env=env, cwd=str(PROJECT_ROOT))
    manager.loop()
    return manager.returncode or 0


def wait_ready(settings: Settings, timeout: float = 300, stay: bool = False) -> int:
    """Poll /healthz; print what a newcomer can do next once everything answers."""
    started = time.monotonic()
    url = f"{settings.public_url}/healthz"
    last = ""
    while time.monotonic() - started < timeout:
        try:
            resp = httpx.get(url, timeout=2.0)
            if resp.status_code == 200:
                print(f"科协助手 is ready after {time.monotonic() - started:.0f} s: WeChat endpoint "
                      f"{settings.public_url}/wechat\n"
                      f"  try it:  .venv/bin/bot chat        (or: .venv/bin/bot chat -m '科普中国APP是什么')\n"
                      f"  stop:    Ctrl-C", flush=True)
                if stay:
                    while True:
                        time.sleep(3600)
                return 0
            waiting = ", ".join(resp.json().get("not_ready", []))
        except (httpx.HTTPError, ValueError):
            waiting = "web server"
        if waiting != last:
            print(f"waiting for: {waiting}", flush=True)
            last = waiting
        time.sleep(1.0)
    print(f"not ready after {timeout:.0f} s (waiting for: {last})", flush=True)
    return 1


STACK_POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432"
STACK_REDIS = "redis://127.0.0.1:6379"


def ensure_database(server_url: str, name: str) -> str:
    """Create a PostgreSQL database if it is missing; its URL."""
    from sqlalchemy import create_engine, text

    admin = create_engine(f"{server_url}/postgres", isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server_url}/{name}"


def run_stack(settings: Settings, postgres: str = STACK_POSTGRES, redis: str = STACK_REDIS,
              rasa_replicas: int = 2, web_workers: int = 2) -> int:
    """The production topology as plain processes: PostgreSQL, Redis, Rasa replicas, several web workers."""
    from dataclasses import replace

    from bot.training import write_nlu_resources
    from kb.db import migrate, session_scope
    from kb.ingest import build_corpus

    database_url = ensure_database(postgres, "kexie_stack")
    tracker_url = ensure_database(postgres, "kexie_stack_rasa")
    redis_url = f"{redis}/0"
    print(f"stack: database {database_url}, Rasa conversations {tracker_url}, Redis {redis_url}", flush=True)
    migrate(database_url)
    with session_scope(database_url) as session:
        build_corpus(session, progress=print)
        write_nlu_resources(session)
    settings = replace(settings, database_url=database_url, redis_url=redis_url)
    topology = Topology(rasa_replicas=rasa_replicas, web_workers=web_workers,
                        tracker_store_url=tracker_url, lock_store_url=f"{redis}/1")
    return run_all(settings, topology, extra_env={"DATABASE_URL": database_url, "REDIS_URL": redis_url})
