"""The public account's endpoint: WeChat's handshake and every message and event.

Each message type or event has one small handler in one table. The reply path
has a budget below WeChat's 5 s: when the answer is not ready, WeChat gets an
empty "success", the work goes on, and WeChat's retry of the same message
receives the finished answer (see bot.dedupe).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot import texts
from bot.dedupe import message_key
from bot.protocol import MAX_BODY, ProtocolError, check_signature, open_request, parse, render_text
from kb.db import get_setting, session_scope

log = logging.getLogger("bot.wechat")

Handler = Callable[["WeChatEndpoint", object], Awaitable[str | None]]
HANDLERS: dict[str, Handler] = {}


def handles(*kinds: str) -> Callable[[Handler], Handler]:
    """Register a handler for message types ("text") or events ("event:subscribe")."""
    def register(fn: Handler) -> Handler:
        for kind in kinds:
            HANDLERS[kind] = fn
        return fn
    return register


def kind_of(msg) -> str:  # noqa: ANN001
    if msg.type == "event":
        return f"event:{(getattr(msg, 'event', '') or '').lower()}"
    return msg.type


async def read_body(request: Request) -> bytes:
    """The body, refused past MAX_BODY without reading the rest into memory."""
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY:
        raise ProtocolError(413, "body too large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise ProtocolError(413, "body too large")
        chunks.append(chunk)
    return b"".join(chunks)


class WeChatEndpoint:
    def __init__(self, app_state) -> None:  # noqa: ANN001
        self.state = app_state

    @property
    def settings(self):  # noqa: ANN201
        return self.state.settings

    async def verify(self, request: Request) -> Response:
        """GET /wechat: the server-address check in the account's settings."""
        p = request.query_params
        try:
            check_signature(self.settings.wechat_token, p.get("signature"), p.get("timestamp"), p.get("nonce"))
        except ProtocolError as exc:
            log.warning("rejected WeChat verification: %s", exc.reason)
            return PlainTextResponse(exc.reason, status_code=exc.status)
        return PlainTextResponse(p.get("echostr", ""))

    async def receive(self, request: Request) -> Response:
        s = self.settings
        aes_keys = [k for k in (s.wechat_aes_key, s.wechat_aes_key_previous) if k]
        try:
            body = await read_body(request)
            envelope = open_request(body, dict(request.query_params), token=s.wechat_token,
                                    aes_keys=aes_keys, appid=s.wechat_appid)
            msg = parse(envelope.xml)
        except ProtocolError as exc:
            log.warning("rejected WeChat message: %s", exc.reason)
            return PlainTextResponse(exc.reason, status_code=exc.status)

        task, _ = self.state.dedupe.task_for(message_key(msg), lambda: self.handle(msg))
        try:
            text = await asyncio.wait_for(asyncio.shield(task), timeout=s.reply_budget)
        except asyncio.TimeoutError:
            log.info("reply to %s not ready within %.1fs; WeChat's retry will get it",
                     message_key(msg), s.reply_budget)
            return PlainTextResponse("success")
        if not text:
            return PlainTextResponse("success")
        xml = render_text(msg, text, envelope, token=s.wechat_token, aes_key=s.wechat_aes_key,
                          appid=s.wechat_appid)
        return Response(xml, media_type="application/xml")

    async def handle(self, msg) -> str | None:  # noqa: ANN001
        handler = HANDLERS.get(kind_of(msg))
        if handler is None:
            handler = HANDLERS["event:*"] if msg.type == "event" else HANDLERS["*"]
        try:
            return await handler(self, msg)
        except Exception:
            log.exception("handler for %s failed", kind_of(msg))
            return "抱歉，我这里出了点问题，请稍后再问一次。"

    async def answer_text(self, msg, text: str, msg_type: str) -> str:  # noqa: ANN001
        turn = await self.state.responder.respond(msg.source, text, msg_type=msg_type,
                                                  msg_id=str(getattr(msg, "id", "") or ""))
        return turn.reply

    async def setting(self, key: str, default: str) -> str:
        def read() -> str:
            with session_scope(self.settings.database_url) as session:
                return get_setting(session, key, default)
        return await run_in_threadpool(read)

    async def log_only(self, msg, text: str, reply: str | None) -> None:  # noqa: ANN001
        await run_in_threadpool(self.state.responder.log_only, msg.source, kind_of(msg), text, reply,
                                str(getattr(msg, "id", "") or "") or None)


@handles("text")
async def on_text(ep: WeChatEndpoint, msg) -> str | None:  # noqa: ANN001
    content = (msg.content or "").strip()
    if not content:
        return texts.NOT_TEXT
    return await ep.answer_text(msg, content, "text")


@handles("voice")
async def on_voice(ep: WeChatEndpoint, msg) -> str | None:  # noqa: ANN001
    recognition = (getattr(msg, "recognition", None) or "").strip()
    if not recognition:
        await ep.log_only(msg, "", texts.VOICE_UNRECOGNISED)
        return texts.VOICE_UNRECOGNISED
    return await ep.answer_text(msg, recognition, "voice")


@handles("event:subscribe")
async def on_follow(ep: WeChatEndpoint, msg) -> str | None:  # noqa: ANN001
    reply = await ep.setting("welcome_text", texts.WELCOME)
    await ep.log_only(msg, "", reply)
    return reply


@handles("event:unsubscribe")
async def on_unfollow(ep: WeChatEndpoint, msg) -> str | None:  # noqa: ANN001
    from kb import subscriptions

    def pause() -> None:
        with session_scope(ep.settings.database_url) as session:
            subscriptions.pause(session, msg.source, reason="unfollowed")
    await run_in_threadpool(pause)
    await ep.log_only(msg, "", None)
    return None


@handles("event:*")
async def on_other_event(ep: WeChatEndpoint, msg) -> str | None:  # noqa: ANN001
    """VIEW, LOCATION, TEMPLATESENDJOBFINISH, ...: nothing to say."""
    return None


@handles("*", "image", "location", "link", "video", "shortvideo")
async def on_unsupported(ep: WeChatEndpoint, msg) -> str | None:  # noqa: ANN001
    await ep.log_only(msg, "", texts.NOT_TEXT)
    return texts.NOT_TEXT
