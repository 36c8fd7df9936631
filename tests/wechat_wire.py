"""WeChat's side of the wire, written from WeChat's documentation, not from bot/.

Tests build signed (and encrypted) requests with these helpers, so a bug in
the bot's own signing or crypto code cannot make its tests pass: the AES
envelope here is written directly on `cryptography` from WeChat's description
(AES-256-CBC, IV = first 16 bytes of the key, random(16) + length(4, network
order) + xml + AppID, PKCS#7 padded to 32 bytes), and checked against the
sample in WeChat's own encryption documentation (OFFICIAL_SAMPLE).

`deliver()` plays WeChat's server: it waits 5 s per attempt and sends the
same request again when it got no answer, three attempts in all.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import socket
import struct
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import httpx
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# The sample of WeChat's message-encryption guide ("消息加解密接入指引", the demo shipped with
# WXBizMsgCrypt): token, EncodingAESKey, AppID, and one message as WeChat sent it in compatible mode.
OFFICIAL_SAMPLE = {
    "token": "spamtest",
    "aes_key": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
    "appid": "wx2c2769f8efd9abc2",
    "timestamp": "1409735669",
    "nonce": "1320562132",
    "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
    "body": (
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName><FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]>"
        "</FromUserName><CreateTime>1409735668</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[abcdteT]]>"
        "</Content><MsgId>6054768590064713728</MsgId><Encrypt><![CDATA[hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655Hu"
        "D0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZk"
        "yyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZb"
        "Gpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9"
        "ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=]]></Encrypt></xml>"
    ),
    "from_user": "oyORnuP8q7ou2gfYjqLzSIWZf0rs",
    "content": "abcdteT",
    "msg_id": "6054768590064713728",
}


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


# -- messages as WeChat sends them -----------------------------------------------------------

def _head(user: str, create_time: int | None, msg_type: str, to: str = "gh_kexie") -> str:
    return (f"<ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{create_time or int(time.time())}</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>")


def text_xml(content: str, *, user: str = "o_citizen", msg_id: int = 1234567890123456,
             create_time: int | None = None, to: str = "gh_kexie") -> str:
    return (f"<xml>{_head(user, create_time, 'text', to)}"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>")


def event_xml(event: str, *, user: str = "o_citizen", key: str = "", create_time: int | None = None) -> str:
    return (f"<xml>{_head(user, create_time, 'event')}"
            f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>")


def voice_xml(recognition: str | None, *, user: str = "o_citizen", msg_id: int = 2234567890123456) -> str:
    rec = "" if recognition is None else f"<Recognition><![CDATA[{recognition}]]></Recognition>"
    return (f"<xml>{_head(user, None, 'voice')}<MediaId><![CDATA[media_1]]></MediaId>"
            f"<Format><![CDATA[amr]]></Format>{rec}<MsgId>{msg_id}</MsgId></xml>")


def image_xml(*, user: str = "o_citizen", msg_id: int = 3234567890123456) -> str:
    return (f"<xml>{_head(user, None, 'image')}<PicUrl><![CDATA[http://mmbiz.qpic.cn/x]]></PicUrl>"
            f"<MediaId><![CDATA[media_2]]></MediaId><MsgId>{msg_id}</MsgId></xml>")


def location_xml(*, user: str = "o_citizen", msg_id: int = 4234567890123456) -> str:
    return (f"<xml>{_head(user, None, 'location')}<Location_X>30.657</Location_X><Location_Y>104.066</Location_Y>"
            f"<Scale>15</Scale><Label><![CDATA[成都市]]></Label><MsgId>{msg_id}</MsgId></xml>")


def link_xml(*, user: str = "o_citizen", msg_id: int = 5234567890123456) -> str:
    return (f"<xml>{_head(user, None, 'link')}<Title><![CDATA[一篇文章]]></Title>"
            f"<Description><![CDATA[描述]]></Description><Url><![CDATA[https://example.org/a]]></Url>"
            f"<MsgId>{msg_id}</MsgId></xml>")


def video_xml(*, user: str = "o_citizen", msg_id: int = 6234567890123456) -> str:
    return (f"<xml>{_head(user, None, 'video')}<MediaId><![CDATA[media_3]]></MediaId>"
            f"<ThumbMediaId><![CDATA[thumb_3]]></ThumbMediaId><MsgId>{msg_id}</MsgId></xml>")


# -- hostile bodies ------------------------------------------------------------------------------

def billion_laughs() -> str:
    """Entity expansion: ten levels of ten, 10^9 "lol"s if a parser expanded it."""
    lines = ['<?xml version="1.0"?>', "<!DOCTYPE xml [", '  <!ENTITY lol0 "lol">']
    for i in range(1, 10):
        lines.append(f'  <!ENTITY lol{i} "' + f"&lol{i - 1};" * 10 + '">')
    lines.append("]>")
    lines.append(f"<xml>{_head('o_attacker', None, 'text')}<Content>&lol9;</Content><MsgId>1</MsgId></xml>")
    return "\n".join(lines)


def external_entity(path: str) -> str:
    """XXE: an external entity that would read a local file into Content."""
    return (f'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file://{path}">]>'
            f"<xml>{_head('o_attacker', None, 'text')}<Content>&xxe;</Content><MsgId>7</MsgId></xml>")


# -- signatures and safe mode ------------------------------------------------------------------

def plain_params(token: str, timestamp: str | None = None, nonce: str = "8172635") -> dict[str, str]:
    timestamp = timestamp or str(int(time.time()))
    return {"signature": sign(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
            "openid": "o_citizen"}


def _key(aes_key: str) -> bytes:
    key = base64.b64decode(aes_key + "=")
    assert len(key) == 32
    return key


def aes_encrypt(aes_key: str, appid: str, xml: str, random16: bytes | None = None) -> str:
    key = _key(aes_key)
    raw = xml.encode("utf-8")
    data = (random16 or os.urandom(16)) + struct.pack(">I", len(raw)) + raw + appid.encode("utf-8")
    pad = 32 - len(data) % 32
    data += bytes([pad]) * pad
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode("ascii")


def aes_decrypt(aes_key: str, encrypt: str) -> tuple[str, str]:
    """(xml, appid) from an Encrypt value."""
    key = _key(aes_key)
    dec = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    data = dec.update(base64.b64decode(encrypt)) + dec.finalize()
    data = data[: -data[-1]]
    (length,) = struct.unpack(">I", data[16:20])
    return data[20:20 + length].decode("utf-8"), data[20 + length:].decode("utf-8")


def encrypted(token: str, aes_key: str, appid: str, xml: str, nonce: str = "8172635",
              *, compatible: bool = False) -> tuple[dict[str, str], str]:
    """Query parameters and body of a safe-mode (or, `compatible`, compatible-mode) POST."""
    timestamp = str(int(time.time()))
    encrypt = aes_encrypt(aes_key, appid, xml)
    if compatible:  # the plaintext fields, plus Encrypt
        body = xml.replace("</xml>", f"<Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
    else:
        found = re.search(r"<ToUserName><!\[CDATA\[(.*?)\]\]></ToUserName>", xml)  # no parser: xml may be hostile
        to = found.group(1) if found else ""
        body = f"<xml><ToUserName><![CDATA[{to}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    params = plain_params(token, timestamp, nonce)
    params.update(encrypt_type="aes", msg_signature=sign(token, timestamp, nonce, encrypt))
    return params, body


def open_reply(token: str, aes_key: str, appid: str, body: str) -> str:
    """The XML inside an encrypted reply, after checking its signature and AppID as WeChat does."""
    root = ET.fromstring(body)
    encrypt = root.findtext("Encrypt") or ""
    expected = sign(token, root.findtext("TimeStamp") or "", root.findtext("Nonce") or "", encrypt)
    assert root.findtext("MsgSignature") == expected, "reply signature does not match"
    xml, from_appid = aes_decrypt(aes_key, encrypt)
    assert from_appid == appid, f"reply is for AppID {from_appid!r}"
    return xml


def reply_fields(xml: str) -> dict[str, str]:
    root = ET.fromstring(xml)
    return {child.tag: (child.text or "") for child in root}


# -- WeChat's server: 5 s per attempt, three attempts ------------------------------------------

@dataclass
class Attempt:
    started: float  # seconds after the first attempt
    elapsed: float
    status: int | None  # None: no answer within the timeout
    body: str = ""


@dataclass
class Delivery:
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def answered(self) -> Attempt | None:
        """The attempt whose answer WeChat took (it stops retrying after any answer)."""
        return next((a for a in self.attempts if a.status is not None), None)

    @property
    def reply_xml(self) -> str:
        a = self.answered
        return a.body if a and a.status == 200 and a.body not in ("", "success") else ""


def deliver(url: str | list[str], params: dict[str, str], body: str | bytes, *, timeout: float = 5.0,
            attempts: int = 3) -> Delivery:
    """POST the same request as WeChat does: when no answer comes within `timeout`, hang up and retry.

    With several URLs (bot processes behind a load balancer) attempt i goes to urls[i % len(urls)].
    """
    urls = [url] if isinstance(url, str) else url
    out = Delivery()
    t0 = time.monotonic()
    for i in range(attempts):
        url = urls[i % len(urls)]
        started = time.monotonic()
        try:
            # a fresh connection per attempt, closed on timeout, as WeChat's servers do
            with httpx.Client(timeout=httpx.Timeout(timeout)) as client:
                resp = client.post(url, params=params, content=body, headers={"Content-Type": "text/xml"})
        except httpx.TimeoutException:
            out.attempts.append(Attempt(started - t0, time.monotonic() - started, None))
            continue
        out.attempts.append(Attempt(started - t0, time.monotonic() - started, resp.status_code, resp.text))
        break
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
