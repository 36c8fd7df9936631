"""The WeChat wire format: signatures, safe mode, parsing and rendering replies.

wechatpy does the work; this module adds what a public server needs around
it: a constant-time signature check, a size cap and a hostile-XML check
before any parser sees the body, and one exception type that maps to a 4xx.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply

MAX_BODY = 64 * 1024
MAX_REPLY_BYTES = 2048


class ProtocolError(Exception):
    """A request WeChat would not send: answered with `status` and a short reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def signature_of(token: str, timestamp: str, nonce: str, *extra: str) -> str:
    parts = sorted([token, timestamp, nonce, *extra])
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def check_signature(token: str, signature: str | None, timestamp: str | None, nonce: str | None) -> None:
    if not (signature and timestamp and nonce):
        raise ProtocolError(400, "missing signature, timestamp or nonce")
    expected = signature_of(token, timestamp, nonce)
    if not hmac.compare_digest(expected, signature.lower()):
        raise ProtocolError(403, "invalid signature")


def check_xml(body: bytes) -> None:
    """Refuse oversized bodies and XML with DTDs or entities before anything parses them."""
    if not body.strip():
        raise ProtocolError(400, "empty body")
    if len(body) > MAX_BODY:
        raise ProtocolError(413, "body too large")
    try:
        SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise ProtocolError(400, "forbidden XML construct") from None
    except SafeET.ParseError:
        raise ProtocolError(400, "malformed XML") from None


@dataclass
class Envelope:
    """How a request arrived, so the reply can go back the same way."""

    encrypted: bool
    xml: str
    nonce: str = ""
    timestamp: str = ""


def open_request(body: bytes, params: dict[str, str], *, token: str, aes_keys: list[str],
                 appid: str | None) -> Envelope:
    """Check and, in safe mode, decrypt a POST from WeChat. Raises ProtocolError."""
    check_signature(token, params.get("signature"), params.get("timestamp"), params.get("nonce"))
    check_xml(body)
    if params.get("encrypt_type", "raw") != "aes":
        return Envelope(False, body.decode("utf-8", "replace"))
    if not aes_keys or not appid:
        raise ProtocolError(400, "safe mode is not configured (WECHAT_AES_KEY, WECHAT_APPID)")
    msg_signature = params.get("msg_signature")
    if not msg_signature:
        raise ProtocolError(400, "missing msg_signature")
    last_error = "cannot decrypt"
    for key in aes_keys:  # the current key, then the previous one during a rotation
        try:
            crypto = WeChatCrypto(token, key, appid)
            xml = crypto.decrypt_message(body, msg_signature, params["timestamp"], params["nonce"])
        except InvalidSignatureException:
            raise ProtocolError(403, "invalid msg_signature") from None
        except InvalidAppIdException:
            last_error = "wrong AppID"
            continue
        except Exception:  # wrong key: UnicodeDecodeError, ValueError, ... from wechatpy
            last_error = "cannot decrypt"
            continue
        check_xml(xml.encode("utf-8") if isinstance(xml, str) else xml)
        return Envelope(True, xml, nonce=params["nonce"], timestamp=params["timestamp"])
    raise ProtocolError(400, last_error)


def parse(xml: str):  # noqa: ANN201 - a wechatpy message
    try:
        return parse_message(xml)
    except Exception:  # KeyError, ValueError, ExpatError on broken messages
        raise ProtocolError(400, "not a WeChat message") from None


def split_reply(text: str, limit: int = MAX_REPLY_BYTES) -> list[str]:
    """Pieces of at most `limit` UTF-8 bytes, cut between characters (at a line end if possible)."""
    pieces: list[str] = []
    while len(text.encode("utf-8")) > limit:
        cut, size = 0, 0
        for i, ch in enumerate(text):
            size += len(ch.encode("utf-8"))
            if size > limit:
                break
            cut = i + 1
        newline = text.rfind("\n", 0, cut)
        if newline > cut // 2:
            cut = newline + 1
        pieces.append(text[:cut].rstrip("\n"))
        text = text[cut:]
    if text:
        pieces.append(text)
    return pieces


def render_text(msg, text: str, envelope: Envelope, *, token: str, aes_key: str | None,  # noqa: ANN001
                appid: str | None) -> str:
    """A passive text reply, encrypted when the request was."""
    safe = text.replace("]]>", "]]]]><![CDATA[>")  # wechatpy does not escape CDATA ends
    xml = TextReply(content=safe, message=msg).render()
    if envelope.encrypted and aes_key and appid:
        crypto = WeChatCrypto(token, aes_key, appid)
        return crypto.encrypt_message(xml, envelope.nonce or str(int(time.time())), envelope.timestamp or None)
    return xml
