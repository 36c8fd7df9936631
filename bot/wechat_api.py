"""The one place that talks to WeChat's API and owns the access token.

wechatpy's client, with what a public account needs around it: the base URL
from WECHAT_API_BASE_URL (tests point it at a fake server on loopback), a
timeout on every call including the token fetch, the token kept in Redis when
REDIS_URL is set (a new token invalidates the old one, so processes must
share it), and exactly one retry after a token error instead of wechatpy's
unbounded one.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, TypeVar

from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage
from wechatpy.session.memorystorage import MemoryStorage

from bot.config import Settings

log = logging.getLogger("bot.wechat_api")
T = TypeVar("T")

TIMEOUT = 5.0
TOKEN_ERRORS = {40001, 40014, 42001}  # invalid, malformed, expired access token
MEANINGS = {
    40001: "access token invalid (another process fetched a new one?)",
    42001: "access token expired",
    43004: "the user does not follow the account",
    43101: "the user refused this subscription message",
    45015: "reply window closed: no message from the user in the last 48 hours",
    45009: "daily API quota reached",
    45047: "customer-service message quota for this user is used up",
    47003: "template data does not fit the template's field rules",
    48001: "the account is not authorised for this API (unverified account?)",
}


def meaning(errcode: int | None) -> str:
    return MEANINGS.get(errcode or 0, "see WeChat's global return codes")


class AccountClient(WeChatClient):
    """wechatpy's client for one public account, bounded and pointed where settings say."""

    def __init__(self, appid: str, secret: str, *, base_url: str, session: Any, timeout: float = TIMEOUT) -> None:
        super().__init__(appid, secret, session=session, timeout=timeout, auto_retry=False)
        self.base_url = base_url.rstrip("/") + "/"
        self.API_BASE_URL = self.base_url + "cgi-bin/"

    def fetch_access_token(self) -> dict:
        return self._fetch_access_token(
            url=self.API_BASE_URL + "token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )

    def _fetch_access_token(self, url: str, params: dict) -> dict:
        original_get = self._http.get

        def get_with_timeout(*args: Any, **kwargs: Any):  # noqa: ANN202
            kwargs.setdefault("timeout", self.timeout)
            return original_get(*args, **kwargs)

        self._http.get = get_with_timeout  # wechatpy's token fetch passes no timeout
        try:
            return super()._fetch_access_token(url, params)
        finally:
            self._http.get = original_get

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one API call; after a token error fetch a new token and try exactly once more."""
        try:
            return fn(*args, **kwargs)
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_ERRORS:
                log.warning("WeChat API error %s: %s (%s)", exc.errcode, exc.errmsg, meaning(exc.errcode))
                raise
            log.info("WeChat API error %s (%s); fetching a new token and retrying once",
                     exc.errcode, meaning(exc.errcode))
            self.session.delete(self.access_token_key)
            self.fetch_access_token()
            return fn(*args, **kwargs)


class SharedTokenStorage(SessionStorage):
    """The token in Redis, shared by every process; in this process's memory while Redis is down.

    Without Redis each process fetches its own token, which invalidates the others' after
    a few minutes; that costs a retry (TOKEN_ERRORS), not a lost message.
    """

    def __init__(self, redis_storage: SessionStorage) -> None:
        self.redis = redis_storage
        self.memory = MemoryStorage()

    def get(self, key: str, default: Any = None) -> Any:
        from redis.exceptions import RedisError

        try:
            return self.redis.get(key, default)
        except RedisError as exc:
            log.warning("Redis unavailable for the access token (%s); using this process's copy", exc)
            return self.memory.get(key, default)

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        from redis.exceptions import RedisError

        self.memory.set(key, value, ttl)
        try:
            self.redis.set(key, value, ttl)
        except RedisError as exc:
            log.warning("Redis unavailable for the access token (%s); kept in this process", exc)

    def delete(self, key: str) -> None:
        from redis.exceptions import RedisError

        self.memory.delete(key)
        try:
            self.redis.delete(key)
        except RedisError as exc:
            log.warning("Redis unavailable for the access token (%s)", exc)


def token_storage(settings: Settings) -> Any:
    if settings.redis_url:
        import redis
        from wechatpy.session.redisstorage import RedisStorage

        return SharedTokenStorage(RedisStorage(redis.Redis.from_url(settings.redis_url, socket_timeout=2.0),
                                               prefix=f"{getattr(settings, 'redis_prefix', 'kexie')}:wechat"))
    return MemoryStorage()


def make_client(settings: Settings, storage: Any | None = None) -> AccountClient | None:
    """The account's client, or None when WECHAT_APPID/WECHAT_SECRET are not configured."""
    if not (settings.wechat_appid and settings.wechat_secret):
        return None
    return AccountClient(settings.wechat_appid, settings.wechat_secret, base_url=settings.wechat_api_base_url,
                         session=storage if storage is not None else token_storage(settings))


def send_texts(client: AccountClient, openid: str, pieces: list[str]) -> int:
    """Customer-service text messages, in order; stops at the first refusal. Returns how many went out.

    Blocking (wechatpy uses requests): call it from a worker thread.
    """
    sent = 0
    for piece in pieces:
        try:
            client.call(client.message.send_text, openid, piece)
        except WeChatClientException as exc:
            log.warning("customer-service message to %s not sent: %s %s (%s)", openid, exc.errcode,
                        exc.errmsg, meaning(exc.errcode))
            break
        except Exception as exc:  # timeouts, connection errors: the piece is lost, loudly
            log.warning("customer-service message to %s not sent: %s", openid, exc)
            break
        sent += 1
    return sent


def push_menu(client: AccountClient, menu: dict) -> None:
    """Replace the account's custom menu (WeChat's menu/create). Raises WeChatClientException."""
    client.call(client.menu.create, menu)
