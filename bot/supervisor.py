"""`bot run`: every part of the assistant in the foreground, with one log stream.

honcho (the Python Foreman) starts each part in its own process group,
prefixes its lines, and on Ctrl-C or SIGTERM stops every group (SIGKILL after
5 s), so nothing is left running. If one part dies, the others are stopped too:
a half-running assistant is worse than a stopped one.
"""
from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import httpx
from honcho.manager import Manager

from bot.config import Settings
from bot.training import model_path, rasa_env
from kb.db import PROJECT_ROOT


def write_endpoints(settings: Settings) -> Path:
    """Rasa's endpoints file for this run: where the action server is (Rasa 3.6 does not expand variables there)."""
    path = PROJECT_ROOT / "var" / "endpoints.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'action_endpoint:\n  url: "{settings.actions_url}/webhook"\n', encoding="utf-8")
    return path


def commands(settings: Settings) -> dict[str, str]:
    """The processes of one assistant; the same list docker-compose.yml runs as services."""
    bin_dir = Path(sys.executable).parent
    q = shlex.quote
    model = model_path()
    if not model.is_file():
        raise SystemExit(f"No Rasa model {model.name}: run `bot train` (or `make run`) first.")
    endpoints = write_endpoints(settings)
    return {
        "rasa": (f"exec {q(str(bin_dir / 'rasa'))} run --enable-api -i 127.0.0.1 --port {settings.rasa_port} "
                 f"-m {q(str(model))} --endpoints {q(str(endpoints))} --credentials credentials.yml"),
        "actions": f"exec {q(str(bin_dir / 'rasa'))} run actions --actions actions --port {settings.actions_port}",
        "web": f"exec {q(str(bin_dir / 'bot'))} serve",
        "scheduler": f"exec {q(str(bin_dir / 'bot'))} scheduler",
        "ready": f"exec {q(str(bin_dir / 'bot'))} wait-ready --stay",
    }


def run_all(settings: Settings, only: list[str] | None = None) -> int:
    env = rasa_env()
    env["ACTIONS_URL"] = settings.actions_url
    env["BOT_API_TOKEN"] = settings.api_token
    manager = Manager()
    for name, cmd in commands(settings).items():
        if only and name not in only:
            continue
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
