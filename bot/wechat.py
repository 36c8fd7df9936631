"""The public account's endpoint: WeChat's handshake and every message and event.

Each message type or event has one small handler in one table.

The 5-second rule, as WeChat's servers actually behave: WeChat waits 5 s for
an answer and, *only when it gets none*, sends the same message again, three
attempts in all. Any answer it does get — even "success" — ends the
attempts. So, per message (see bot.dedupe):

1. The first arrival claims the work; it runs in the background, whatever
   happens to the HTTP request. Every arrival waits for the reply within the
   budget (BOT_REPLY_BUDGET, 4.5 s, always below 5 s).
2. Ready in time: the reply goes back as a passive reply (the first 2048
   bytes; the rest as customer-service messages when the account has them).
3. Not ready on attempt 1 or 2: the bot sends nothing and keeps the
   connection until WeChat hangs up, which is what makes WeChat retry; the
   retry finds the finished reply (kept, not recomputed).
4. Not ready on the last attempt: with customer-service rights
   (WECHAT_APPID/WECHAT_SECRET) the bot answers "success" and sends the
   reply as a customer-service message the moment it is ready; without them
   it apologises, because no other way to reach the citizen is left.

A reply is delivered once: passively to whichever attempt WeChat is still
listening to, or by customer-service message after the last attempt, never
both (`Dedupe.once`).
"""
from __future__ import annotations

import asyncio
import logging
import time
from typing import Awaitable, Callable, Coroutine

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

from bot import texts
from bot.dedupe import Reply, message_key
from bot.protocol import (
    MAX_BODY,
    MAX_REPLY_BYTES,
    WECHAT_ATTEMPTS,
    WECHAT_TIMEOUT,
    Envelope,
    Incoming,
    ProtocolError,
    check_signature,
    open_request,
    parse,
    plain_text,
    render_text,
    split_reply,
    valid_aes_key,
)
from kb.db import session_scope

log = logging.getLogger("bot.wechat")

MAX_QUESTION_CHARS = 500  # longer texts are not questions a citizen types; Rasa need not read them
REST_DELAY = 0.5  # let the passive reply land before the customer-service continuation
CS_QUOTA_AFTER_MESSAGE = 5  # customer-service messages allowed after a user message (48 h)
CS_QUOTA_AFTER_EVENT = 3  # ... after a menu click, a follow or a scan (1 minute)

Handler = Callable[["WeChatEndpoint", Incoming], Awaitable[str | None]]
HANDLERS: dict[str, Handler] = {}


def handles(*kinds: str) -> Callable[[Handler], Handler]:
    """Register a handler for message types ("text") or events ("event:subscribe")."""
    def register(fn: Handler) -> Handler:
        for kind in kinds:
            HANDLERS[kind] = fn
        return fn
    return register


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


def peer(request: Request) -> str:
    return request.client.host if request.client else "?"


def counts_against_rate_limit(msg: Incoming) -> bool:
    """What a citizen sends on purpose: messages and menu clicks, not follows or location reports."""
    return not msg.is_event or msg.kind == "event:click"


class WeChatEndpoint:
    def __init__(self, app_state) -> None:  # noqa: ANN001
        self.state = app_state
        if getattr(app_state, "wechat_tasks", None) is None:
            app_state.wechat_tasks = set()
        s = app_state.settings
        for name, key in (("WECHAT_AES_KEY", s.wechat_aes_key), ("WECHAT_AES_KEY_PREVIOUS", s.wechat_aes_key_previous)):
            if key and not valid_aes_key(key):
                log.error("%s is not a valid EncodingAESKey (43 letters and digits); safe mode will fail", name)
        if s.wechat_aes_key and not s.wechat_appid:
            log.error("WECHAT_AES_KEY is set but WECHAT_APPID is not; safe mode needs both")

    @property
    def settings(self):  # noqa: ANN201
        return self.state.settings

    @property
    def dedupe(self):  # noqa: ANN201
        return self.state.dedupe

    @property
    def client(self):  # noqa: ANN201 - bot.wechat_api.AccountClient, or None without customer-service rights
        return getattr(self.state, "wechat_client", None)

    def spawn(self, coro: Coroutine) -> asyncio.Task:
        """Background work that must outlive the request (and is awaited at shutdown)."""
        task = asyncio.get_running_loop().create_task(coro)
        self.state.wechat_tasks.add(task)
        task.add_done_callback(self.state.wechat_tasks.discard)
        return task

    # -- HTTP ---------------------------------------------------------------------------------

    async def verify(self, request: Request) -> Response:
        """GET /wechat: the server-address check in the account's settings."""
        p = request.query_params
        try:
            check_signature(self.settings.wechat_token, p.get("signature"), p.get("timestamp"), p.get("nonce"))
        except ProtocolError as exc:
            log.warning("rejected WeChat verification from %s: %s", peer(request), exc.reason)
            return PlainTextResponse(exc.reason, status_code=exc.status)
        return PlainTextResponse(p.get("echostr", ""))

    async def receive(self, request: Request) -> Response:
        """POST /wechat: one attempt at delivering one message."""
        started = time.monotonic()
        s = self.settings
        aes_keys = [k for k in (s.wechat_aes_key, s.wechat_aes_key_previous) if k]
        try:
            body = await read_body(request)
            envelope = open_request(body, dict(request.query_params), token=s.wechat_token,
                                    aes_keys=aes_keys, appid=s.wechat_appid)
            msg = parse(envelope.xml)
        except ProtocolError as exc:
            log.warning("rejected WeChat message from %s: %d %s", peer(request), exc.status, exc.reason)
            return PlainTextResponse(exc.reason, status_code=exc.status)
        except ClientDisconnect:
            return Response(status_code=400)
        try:
            return await self.answer(request, msg, envelope, started)
        except Exception:  # a bug must not show WeChat a 500 (the user would see an error notice)
            log.exception("unexpected error answering %s", message_key(msg))
            return self.reply_xml(msg, envelope, texts.SORRY)

    async def answer(self, request: Request, msg: Incoming, envelope: Envelope, started: float) -> Response:
        key = message_key(msg)
        arrival = await self.dedupe.arrive(key)
        if arrival.owner:
            await self.start(key, msg)
        else:
            log.info("%s: attempt %d, the answer is being worked on already", key, arrival.attempt)
        budget = min(self.settings.reply_budget, WECHAT_TIMEOUT - 0.3)
        reply = await self.dedupe.wait(key, started + budget - time.monotonic())
        if reply is not None:
            if arrival.attempt > WECHAT_ATTEMPTS and await self.dedupe.handed_off(key):
                return PlainTextResponse("success")  # WeChat does not retry past its last attempt; the CS path owns it
            return await self.passive(key, msg, envelope, reply)
        if arrival.attempt < WECHAT_ATTEMPTS:
            log.info("%s: not ready after %.1f s (attempt %d); letting WeChat time out so that it retries",
                     key, budget, arrival.attempt)
            await self.hold(request, started)
            return Response(status_code=200)  # WeChat has hung up by now; nobody reads this
        return await self.last_attempt(key, msg, envelope, arrival.attempt)

    async def hold(self, request: Request, started: float) -> None:
        """Answer nothing until WeChat hangs up (at 5 s), so that it sends its retry."""
        limit = started + WECHAT_TIMEOUT + 1.0
        while time.monotonic() < limit:
            if await request.is_disconnected():
                log.debug("WeChat hung up after %.1f s", time.monotonic() - started)
                return
            await asyncio.sleep(0.05)

    async def last_attempt(self, key: str, msg: Incoming, envelope: Envelope, attempt: int) -> Response:
        await self.dedupe.hand_off(key)
        if self.client is None:
            log.warning("%s: no answer after %d attempts and no customer-service rights "
                        "(WECHAT_APPID/WECHAT_SECRET); apologising", key, attempt)
            return self.reply_xml(msg, envelope, texts.TOO_SLOW)
        reply = await self.dedupe.peek(key)
        if reply is not None:  # finished between the wait and the hand-off
            self.spawn(self.deliver_by_cs(key, msg, reply))
        log.info("%s: no answer after %d attempts; it will be sent as a customer-service message", key, attempt)
        return PlainTextResponse("success")

    async def passive(self, key: str, msg: Incoming, envelope: Envelope, reply: Reply) -> Response:
        if not reply.text:
            return PlainTextResponse("success")
        pieces = split_reply(reply.text)
        first = pieces[0]
        if len(pieces) > 1:
            if self.client is not None:
                if await self.dedupe.once(key, "rest"):
                    self.spawn(self.send_rest(msg, pieces[1:]))
            else:
                room = MAX_REPLY_BYTES - len(texts.CUT_SHORT.encode("utf-8"))
                first = split_reply(reply.text, room)[0] + texts.CUT_SHORT
        return self.reply_xml(msg, envelope, first)

    def reply_xml(self, msg: Incoming, envelope: Envelope, text: str) -> Response:
        s = self.settings
        xml = render_text(msg, text, envelope, token=s.wechat_token, appid=s.wechat_appid)
        return Response(xml, media_type="application/xml")

    # -- the work, in the background --------------------------------------------------------------

    async def start(self, key: str, msg: Incoming) -> None:
        limiter = getattr(self.state, "limiter", None)
        if limiter is not None and counts_against_rate_limit(msg) and not await limiter.allow(msg.source):
            log.warning("rate limit: %s sends too fast; %s answered from memory", msg.source, key)
            await self.dedupe.store(key, Reply(texts.RATE_LIMITED))
            self.spawn(self.log_only(msg, msg.content or msg.recognition, texts.RATE_LIMITED,
                                     intent="rate_limited"))
            return
        self.spawn(self.work(key, msg))

    async def work(self, key: str, msg: Incoming) -> None:
        text = await self.handle(msg)
        reply = Reply(plain_text(text) if text else None)
        await self.dedupe.store(key, reply)
        if await self.dedupe.handed_off(key):
            await self.deliver_by_cs(key, msg, reply)

    async def handle(self, msg: Incoming) -> str | None:
        handler = HANDLERS.get(msg.kind) or (HANDLERS["event:*"] if msg.is_event else HANDLERS["*"])
        try:
            return await handler(self, msg)
        except Exception:
            log.exception("handler for %s failed", msg.kind)
            return texts.SORRY

    def cs_quota(self, msg: Incoming) -> int:
        return CS_QUOTA_AFTER_EVENT if msg.is_event else CS_QUOTA_AFTER_MESSAGE

    async def deliver_by_cs(self, key: str, msg: Incoming, reply: Reply) -> None:
        """After the last attempt: the reply as customer-service messages, exactly once."""
        if not reply.text:
            return
        if self.client is None:
            log.warning("%s: the answer is ready but cannot reach %s (no customer-service rights)",
                        key, msg.source)
            return
        if not await self.dedupe.once(key, "cs"):
            return
        pieces = split_reply(reply.text)[: self.cs_quota(msg)]
        from bot.wechat_api import send_texts

        sent = await run_in_threadpool(send_texts, self.client, msg.source, pieces)
        log.info("%s: sent %d of %d pieces as customer-service messages", key, sent, len(pieces))

    async def send_rest(self, msg: Incoming, pieces: list[str]) -> None:
        """The part of a long reply that did not fit in the passive reply."""
        from bot.wechat_api import send_texts

        await asyncio.sleep(REST_DELAY)
        await run_in_threadpool(send_texts, self.client, msg.source, pieces[: self.cs_quota(msg)])

    # -- helpers for handlers ----------------------------------------------------------------------

    async def answer_text(self, msg: Incoming, text: str, msg_type: str) -> str:
        turn = await self.state.responder.respond(msg.source, text, msg_type=msg_type, msg_id=msg.msg_id or None)
        return turn.reply

    async def in_session(self, fn: Callable, *args):  # noqa: ANN202
        """Run fn(session, *args) in a worker thread with a database session."""
        def run():  # noqa: ANN202
            with session_scope(self.settings.database_url) as session:
                return fn(session, *args)
        return await run_in_threadpool(run)

    async def log_only(self, msg: Incoming, text: str, reply: str | None, intent: str | None = None) -> None:
        await run_in_threadpool(self.state.responder.log_only, msg.source, msg.kind, text, reply,
                                msg.msg_id or None, intent)


@handles("text")
async def on_text(ep: WeChatEndpoint, msg: Incoming) -> str | None:
    content = msg.content.strip()
    if not content:
        await ep.log_only(msg, "", texts.EMPTY_TEXT)
        return texts.EMPTY_TEXT
    if len(content) > MAX_QUESTION_CHARS:
        await ep.log_only(msg, content, texts.TOO_LONG, intent="too_long")
        return texts.TOO_LONG
    return await ep.answer_text(msg, content, "text")


@handles("voice")
async def on_voice(ep: WeChatEndpoint, msg: Incoming) -> str | None:
    recognition = msg.recognition.strip()
    if not recognition:
        await ep.log_only(msg, "", texts.VOICE_UNRECOGNISED)
        return texts.VOICE_UNRECOGNISED
    return await ep.answer_text(msg, recognition[:MAX_QUESTION_CHARS], "voice")


@handles("event:subscribe", "event:subscribe_scan")
async def on_follow(ep: WeChatEndpoint, msg: Incoming) -> str | None:
    reply = await ep.in_session(texts.welcome)
    await ep.log_only(msg, msg.event_key, reply)
    return reply


@handles("event:unsubscribe")
async def on_unfollow(ep: WeChatEndpoint, msg: Incoming) -> str | None:
    """Reminders paused; nothing is sent (WeChat would not deliver it anyway)."""
    from kb import subscriptions

    await ep.in_session(subscriptions.pause, msg.source, "unfollowed")
    await ep.log_only(msg, "", None)
    return None


@handles("event:click")
async def on_menu_click(ep: WeChatEndpoint, msg: Incoming) -> str | None:
    """A menu button: answered from its key, without NLU."""
    from bot import menu

    reply = await ep.in_session(menu.answer_click, msg.event_key, ep.settings.tz, msg.source)
    await ep.log_only(msg, msg.event_key, reply, intent=f"menu:{msg.event_key}"[:50])
    return reply


@handles("event:*")
async def on_other_event(ep: WeChatEndpoint, msg: Incoming) -> str | None:
    """VIEW, LOCATION, TEMPLATESENDJOBFINISH, scans, subscribe_msg_popup_event, ...: nothing to say."""
    return None


@handles("*", "image", "location", "link", "video", "shortvideo", "file")
async def on_unsupported(ep: WeChatEndpoint, msg: Incoming) -> str | None:
    await ep.log_only(msg, "", texts.NOT_TEXT)
    return texts.NOT_TEXT


async def drain(state, timeout: float = 10.0) -> None:  # noqa: ANN001
    """At shutdown: let answers in flight finish (and be handed off) for a while."""
    tasks = [t for t in (getattr(state, "wechat_tasks", None) or ()) if not t.done()]
    if not tasks:
        return
    log.info("waiting up to %.0f s for %d answers in flight", timeout, len(tasks))
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
