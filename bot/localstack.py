"""The assistant's processes on free local ports, for tests and benchmarks.

`bot run` and `bot stack` run in the foreground under honcho; this starts the
same commands in the background, each in its own process group, and knows
their ports and pids, so a test or a benchmark can drive them and measure them.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.supervisor import Topology, endpoints_yaml
from bot.config import load_settings
from kb.db import PROJECT_ROOT

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_process(name: str, cmd: list[str], env: dict[str, str], log_dir: Path) -> subprocess.Popen:
    log = open(log_dir / f"{name}.log", "ab")
    return subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop_process(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Stop the process and everything it started (its process group)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), in MB."""
    total = 0
    pids = [pid]
    while pids:
        p = pids.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            with open(f"/proc/{p}/task/{p}/children") as fh:
                pids += [int(c) for c in fh.read().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total / 1024


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "BOT_", "REDIS_", "RASA_URL"))}
    env.update(RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1",
               PYTHONWARNINGS="ignore::DeprecationWarning")
    env.update(extra)
    return env


@dataclass
class LocalStack:
    database_url: str
    model: Path
    workdir: Path
    topology: Topology = Topology()
    redis_url: str | None = None
    token: str = "test-token"
    api_token: str = "test-api-token"
    extra_env: dict[str, str] = field(default_factory=dict)
    web_processes: int = 1  # separate bot servers (each may have several workers), as behind a balancer
    pin_replicas: bool = False  # web server i talks only to Rasa replica i (to prove conversations move)
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    bot_urls: list[str] = field(default_factory=list)
    rasa_urls: list[str] = field(default_factory=list)
    actions_url: str = ""

    @property
    def bot_url(self) -> str:
        return self.bot_urls[0]

    @property
    def rasa_url(self) -> str:
        return self.rasa_urls[0]

    def env(self, **extra: str) -> dict[str, str]:
        values = dict(DATABASE_URL=self.database_url, WECHAT_TOKEN=self.token, BOT_API_TOKEN=self.api_token,
                      ACTIONS_URL=self.actions_url, RASA_URLS=",".join(self.rasa_urls), BOT_HOST="127.0.0.1")
        if self.redis_url:
            values["REDIS_URL"] = self.redis_url
        values.update(self.extra_env)
        values.update(extra)
        return base_env(**values)

    def start(self, timeout: float = 240) -> "LocalStack":
        actions_port = free_port()
        self.actions_url = f"http://127.0.0.1:{actions_port}"
        rasa_ports = [free_port() for _ in range(self.topology.rasa_replicas)]
        self.rasa_urls = [f"http://127.0.0.1:{p}" for p in rasa_ports]
        settings = load_settings({"ACTIONS_URL": self.actions_url}, generate_secrets=False)
        endpoints = self.workdir / "endpoints.yml"
        endpoints.write_text(endpoints_yaml(settings, self.topology))
        env = self.env()
        self.procs["actions"] = start_process(
            "actions", [str(BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(actions_port)],
            env, self.workdir)
        for i, port in enumerate(rasa_ports, 1):
            self.procs[f"rasa-{i}"] = start_process(
                f"rasa-{i}", [str(BIN / "kexie-rasa"), "run", "--enable-api", "-i", "127.0.0.1", "--port", str(port),
                              "-m", str(self.model), "--endpoints", str(endpoints),
                              "--credentials", "credentials.yml"], env, self.workdir)
        for i in range(self.web_processes):
            port = free_port()
            self.bot_urls.append(f"http://127.0.0.1:{port}")
            rasa = self.rasa_urls[i % len(self.rasa_urls)] if self.pin_replicas else ",".join(self.rasa_urls)
            self.procs[f"web-{i + 1}"] = start_process(
                f"web-{i + 1}", [str(BIN / "bot"), "serve", "--workers", str(self.topology.web_workers)],
                self.env(BOT_PORT=str(port), RASA_URLS=rasa), self.workdir)
        self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float = 240) -> float:
        started = time.monotonic()
        deadline = started + timeout
        pending = list(self.bot_urls)
        while pending:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}:\n" + self.log(name)[-3000:])
            try:
                if httpx.get(f"{pending[0]}/healthz", timeout=2).status_code == 200:
                    pending.pop(0)
                    continue
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"stack not healthy after {timeout} s; logs in {self.workdir}")
            time.sleep(0.3)
        return time.monotonic() - started

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def memory(self) -> dict[str, float]:
        return {name: round(rss_mb(proc.pid), 1) for name, proc in self.procs.items() if proc.poll() is None}

    def stop(self) -> None:
        for proc in self.procs.values():
            stop_process(proc)

    def ask(self, text: str, user: str = "tester", bot: int = 0) -> dict:
        resp = httpx.post(f"{self.bot_urls[bot]}/api/ask", json={"text": text, "user": user},
                          headers={"Authorization": f"Bearer {self.api_token}"}, timeout=15)
        resp.raise_for_status()
        return resp.json()
