"""`bot chat`: talk to the running bot as WeChat would, from a terminal.

Each line becomes a signed text message (encrypted when WECHAT_AES_KEY is
set) POSTed to the real /wechat endpoint; the reply XML is decoded and shown.
"""
from __future__ import annotations

import random
import string
import sys
import time

import httpx
from defusedxml import ElementTree as SafeET
from wechatpy.crypto import WeChatCrypto

from bot.config import Settings
from bot.protocol import WECHAT_ATTEMPTS, WECHAT_TIMEOUT, cdata, signature_of


def text_message_xml(to_user: str, from_user: str, content: str, msg_id: int, create_time: int) -> str:
    return (
        "<xml>"
        f"<ToUserName><![CDATA[{cdata(to_user)}]]></ToUserName>"
        f"<FromUserName><![CDATA[{cdata(from_user)}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{cdata(content)}]]></Content>"
        f"<MsgId>{msg_id}</MsgId>"
        "</xml>"
    )


def signed_post(settings: Settings, xml: str) -> tuple[dict[str, str], bytes]:
    """Query parameters and body as WeChat's servers would send them."""
    timestamp = str(int(time.time()))
    nonce = "".join(random.choices(string.digits, k=10))
    params = {"signature": signature_of(settings.wechat_token, timestamp, nonce),
              "timestamp": timestamp, "nonce": nonce, "openid": "chat"}
    if settings.wechat_aes_key and settings.wechat_appid:
        crypto = WeChatCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_appid)
        body = crypto.encrypt_message(xml, nonce, timestamp)
        root = SafeET.fromstring(body)
        params.update(encrypt_type="aes", msg_signature=root.findtext("MsgSignature") or "")
        return params, body.encode("utf-8")
    return params, xml.encode("utf-8")


def reply_text(settings: Settings, params: dict[str, str], body: str) -> str:
    if not body or body == "success":
        return ""
    if params.get("encrypt_type") == "aes":
        root = SafeET.fromstring(body)
        crypto = WeChatCrypto(settings.wechat_token, settings.wechat_aes_key, settings.wechat_appid)
        body = crypto.decrypt_message(body, root.findtext("MsgSignature"), root.findtext("TimeStamp"),
                                      root.findtext("Nonce"))
    return SafeET.fromstring(body).findtext("Content") or ""


def send(settings: Settings, user: str, text: str, client: httpx.Client) -> str:
    """One message, delivered the way WeChat delivers it: each attempt waits 5 s, then the
    same signed request is sent again, three attempts in all."""
    msg_id = random.randrange(10**15, 10**16)
    xml = text_message_xml("gh_kexie", user, text, msg_id, int(time.time()))
    params, body = signed_post(settings, xml)
    for _ in range(WECHAT_ATTEMPTS):
        try:
            resp = client.post(f"{settings.public_url}/wechat", params=params, content=body,
                               headers={"Content-Type": "text/xml"}, timeout=WECHAT_TIMEOUT)
        except httpx.TimeoutException:
            continue  # like WeChat: no answer in 5 s, try again
        if resp.status_code >= 400:
            return f"（机器人拒绝了这条消息：{resp.status_code} {resp.text.strip()}）"
        return reply_text(settings, params, resp.text) or "（没有回复）"
    return "（5 秒内三次都没有回复）"


def chat(settings: Settings, user: str = "chat-user", once: str | None = None) -> int:
    with httpx.Client(timeout=10.0) as client:
        if once is not None:
            print(send(settings, user, once, client))
            return 0
        print(f"和科协助手聊天（{settings.public_url}/wechat，用户 {user}）。Ctrl-D 退出。")
        while True:
            try:
                line = input("你：").strip()
            except EOFError:
                print()
                break
            if not line:
                continue
            try:
                print(f"助手：{send(settings, user, line, client)}\n", flush=True)
            except httpx.HTTPError as exc:
                print(f"（连不上机器人：{exc}。它在运行吗？先执行 make run）", file=sys.stderr)
                return 1
    return 0
