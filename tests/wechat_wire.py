"""WeChat's side of the wire, written from WeChat's documentation, not from bot/.

Tests build signed (and encrypted) requests with these helpers, so a bug in
the bot's own signing code cannot make its tests pass.
"""
from __future__ import annotations

import hashlib
import time
import xml.etree.ElementTree as ET

from wechatpy.crypto import WeChatCrypto


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def text_xml(content: str, *, user: str = "o_citizen", msg_id: int = 1234567890123456,
             create_time: int | None = None, to: str = "gh_kexie") -> str:
    return (f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def event_xml(event: str, *, user: str = "o_citizen", key: str = "", create_time: int | None = None) -> str:
    return (f"<xml><ToUserName><![CDATA[gh_kexie]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
            f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>")


def plain_params(token: str, timestamp: str | None = None, nonce: str = "8172635") -> dict[str, str]:
    timestamp = timestamp or str(int(time.time()))
    return {"signature": sign(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
            "openid": "o_citizen"}


def encrypted(token: str, aes_key: str, appid: str, xml: str, nonce: str = "8172635") -> tuple[dict[str, str], str]:
    timestamp = str(int(time.time()))
    body = WeChatCrypto(token, aes_key, appid).encrypt_message(xml, nonce, timestamp)
    root = ET.fromstring(body)
    params = plain_params(token, timestamp, nonce)
    params.update(encrypt_type="aes", msg_signature=root.findtext("MsgSignature"))
    return params, body


def reply_fields(xml: str) -> dict[str, str]:
    root = ET.fromstring(xml)
    return {child.tag: (child.text or "") for child in root}
