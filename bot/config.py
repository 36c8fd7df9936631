"""Configuration, read once at start into one typed object.

Everything comes from the environment (a `.env` file in the project root may
set it too); nothing deeper in the code reads `os.environ`. Secrets that the
operator did not set are generated once and kept in `var/`, never in the repo.
"""
from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from kb.db import DEFAULT_URL, PROJECT_ROOT

VAR_DIR = PROJECT_ROOT / "var"


def _read_dotenv(path: Path) -> dict[str, str]:
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def _env() -> dict[str, str]:
    """The process environment over the `.env` file: an exported variable wins."""
    return {**_read_dotenv(PROJECT_ROOT / ".env"), **os.environ}


def persistent_secret(name: str, announce: str | None = None) -> str:
    """A secret generated on first use, kept in var/ (mode 600), announced once when new.

    Several processes may start at once (uvicorn workers): the first one to create
    the file wins and the others read what it wrote.
    """
    path = VAR_DIR / name
    if path.is_file():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        time.sleep(0.05)  # the winner is writing it
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    if announce:
        print(announce.format(value=value, path=path), flush=True)
    return value


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    """A number of seconds, 0 or more; a typo stops the start with the variable's name, not a traceback."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0 or value != value:  # negative, or NaN
        raise SystemExit(f"{name} must be a number of seconds, 0 or more (got {raw!r})")
    return value


def _rate_limit(env: dict[str, str]) -> tuple[int, int]:
    """BOT_RATE_LIMIT="20/60": 20 messages per openid per 60 s ("0" turns it off)."""
    from bot.ratelimit import parse_limit

    return parse_limit(env.get("BOT_RATE_LIMIT"))


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_URL
    redis_url: str | None = None
    wechat_token: str = "dev-token"
    wechat_appid: str | None = None
    wechat_secret: str | None = None
    wechat_aes_key: str | None = None
    wechat_aes_key_previous: str | None = None
    wechat_api_base_url: str = "https://api.weixin.qq.com/"
    bot_host: str = "127.0.0.1"
    bot_port: int = 8000
    rasa_port: int = 5005
    actions_port: int = 5055
    rasa_url: str = ""
    rasa_urls: tuple[str, ...] = ()  # several Rasa replicas sharing a tracker store; rasa_url is the first
    actions_url: str = ""
    api_token: str = field(default="", repr=False)
    secret_key: str | None = field(default=None, repr=False)  # signs console sessions; share it across servers
    admin_user: str = "admin"
    admin_password: str | None = field(default=None, repr=False)
    push_template_id: str | None = None
    tz: str = "Asia/Shanghai"
    reply_budget: float = 4.5  # seconds WeChat's passive reply may take before we stop waiting
    message_retention_days: int = 180
    redis_prefix: str = "kexie"  # key prefix in Redis (dedupe, rate limit, access token)
    rate_limit: int = 20  # messages per openid per rate_window seconds; 0: no limit
    rate_window: int = 60
    kb_refresh: float = 5.0  # seconds between checks for a changed knowledge base; 0: no background rebuild

    @property
    def public_url(self) -> str:
        return f"http://{self.bot_host}:{self.bot_port}"


def load_settings(env: dict[str, str] | None = None, *, generate_secrets: bool = True) -> Settings:
    env = _env() if env is None else env
    rasa_port = int(env.get("RASA_PORT", 5005))
    actions_port = int(env.get("ACTIONS_PORT", 5055))
    rasa_urls = tuple(u.strip().rstrip("/") for u in (env.get("RASA_URLS") or "").split(",") if u.strip()) or (
        (env.get("RASA_URL") or f"http://127.0.0.1:{rasa_port}").rstrip("/"),)
    api_token = env.get("BOT_API_TOKEN") or (
        persistent_secret("api_token", "BOT_API_TOKEN generated (kept in {path}): {value}")
        if generate_secrets else ""
    )
    return Settings(
        database_url=env.get("DATABASE_URL") or DEFAULT_URL,
        redis_url=env.get("REDIS_URL") or None,
        wechat_token=env.get("WECHAT_TOKEN") or "dev-token",
        wechat_appid=env.get("WECHAT_APPID") or None,
        wechat_secret=env.get("WECHAT_SECRET") or None,
        wechat_aes_key=env.get("WECHAT_AES_KEY") or None,
        wechat_aes_key_previous=env.get("WECHAT_AES_KEY_PREVIOUS") or None,
        wechat_api_base_url=env.get("WECHAT_API_BASE_URL") or "https://api.weixin.qq.com/",
        bot_host=env.get("BOT_HOST") or "127.0.0.1",
        bot_port=int(env.get("BOT_PORT") or 8000),
        rasa_port=rasa_port,
        actions_port=actions_port,
        rasa_url=rasa_urls[0],
        rasa_urls=rasa_urls,
        actions_url=(env.get("ACTIONS_URL") or f"http://127.0.0.1:{actions_port}").rstrip("/"),
        api_token=api_token,
        secret_key=env.get("BOT_SECRET_KEY") or None,
        admin_user=env.get("BOT_ADMIN_USER") or "admin",
        admin_password=env.get("BOT_ADMIN_PASSWORD") or None,
        push_template_id=env.get("BOT_PUSH_TEMPLATE_ID") or None,
        tz=env.get("BOT_TZ") or "Asia/Shanghai",
        reply_budget=float(env.get("BOT_REPLY_BUDGET") or 4.5),
        message_retention_days=int(env.get("BOT_MESSAGE_RETENTION_DAYS") or 180),
        redis_prefix=env.get("BOT_REDIS_PREFIX") or "kexie",
        rate_limit=_rate_limit(env)[0],
        rate_window=_rate_limit(env)[1],
        kb_refresh=_seconds(env, "KB_REFRESH_SECONDS", 5.0),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
