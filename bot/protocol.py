"""The WeChat wire format: signatures, safe mode, parsing and rendering replies.

wechatpy does the work (AES cipher, message classes, reply rendering); this
module adds what a public server needs around it:

- signatures (`signature` and safe mode's `msg_signature`) compared in
  constant time, which wechatpy does not do;
- a size cap and a hostile-XML check (no DTD, no entities) before any parser
  sees a body, including the decrypted one;
- safe mode with the current and the previous EncodingAESKey, so staff can
  rotate the key without losing messages in flight; the reply goes back
  under the key that opened the request;
- compatible mode without a key: the plaintext half of the body is used;
- every message checked for the fields WeChat always sends, so a broken
  request is one `ProtocolError` (a 4xx with a short reason), never a
  KeyError deep in a handler;
- replies escaped (`]]>` inside CDATA), stripped of markdown, and split into
  pieces of at most 2048 bytes at character boundaries.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from defusedxml import ElementTree as SafeET
from defusedxml.common import DefusedXmlException
from wechatpy import parse_message
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.replies import TextReply

MAX_BODY = 64 * 1024  # WeChat's largest message is a few KB; anything near this is not WeChat
MAX_REPLY_BYTES = 2048  # WeChat's limit for a text reply and a customer-service text
WECHAT_TIMEOUT = 5.0  # WeChat hangs up after 5 s and retries the same message
WECHAT_ATTEMPTS = 3  # ... three times in all

MESSAGE_TYPES = {"text", "image", "voice", "video", "shortvideo", "location", "link", "file"}


class ProtocolError(Exception):
    """A request WeChat would not send: answered with `status` and a short reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


# -- signatures ---------------------------------------------------------------------------

def signature_of(token: str, timestamp: str, nonce: str, *extra: str) -> str:
    """WeChat's SHA-1 over the sorted, concatenated parts."""
    parts = sorted([token, timestamp, nonce, *extra])
    return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("ascii", "replace"))


def check_signature(token: str, signature: str | None, timestamp: str | None, nonce: str | None) -> None:
    if not (signature and timestamp and nonce):
        raise ProtocolError(400, "missing signature, timestamp or nonce")
    if not _same(signature_of(token, timestamp, nonce), signature):
        raise ProtocolError(403, "invalid signature")


# -- hostile XML ---------------------------------------------------------------------------

def check_xml(body: bytes) -> Any:
    """Refuse empty, oversized and DTD/entity-bearing XML before anything parses it.

    Returns the (safely parsed) root element. defusedxml refuses a DOCTYPE
    outright, so neither entity expansion (billion laughs) nor an external
    entity (XXE) is ever resolved.
    """
    if not body.strip():
        raise ProtocolError(400, "empty body")
    if len(body) > MAX_BODY:
        raise ProtocolError(413, "body too large")
    try:
        return SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise ProtocolError(400, "forbidden XML construct (DTD or entity)") from None
    except SafeET.ParseError:
        raise ProtocolError(400, "malformed XML") from None


# -- safe mode -----------------------------------------------------------------------------

class _NotDecrypted(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _aes_key(encoding_aes_key: str) -> bytes:
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("EncodingAESKey is not 43 characters of base64") from None
    if len(key) != 32:
        raise ValueError("EncodingAESKey must be 43 characters")
    return key


def valid_aes_key(encoding_aes_key: str) -> bool:
    try:
        _aes_key(encoding_aes_key)
        return True
    except ValueError:
        return False


def _decrypt(encrypt: str, encoding_aes_key: str, appid: str) -> str:
    """WeChat's envelope: AES-CBC(random16 + len32 + xml + appid), PKCS#7 to 32 bytes.

    wechatpy's PrpCrypto does the cipher; the unwrapping is checked strictly
    here so that a wrong key is told apart from a message for another AppID
    and never surfaces as a UnicodeDecodeError.
    """
    try:
        data = base64.b64decode(encrypt, validate=True)
    except (binascii.Error, ValueError):
        raise _NotDecrypted("Encrypt is not base64") from None
    if not data or len(data) % 16:
        raise _NotDecrypted("Encrypt has a wrong length")
    try:
        cipher = PrpCrypto(_aes_key(encoding_aes_key)).cipher
    except ValueError:
        raise _NotDecrypted("the server's EncodingAESKey is not valid (43 characters)") from None
    try:
        plain = cipher.decrypt(data)
    except ValueError:
        raise _NotDecrypted("cannot decrypt") from None
    pad = plain[-1]
    if not 1 <= pad <= 32 or plain[-pad:] != bytes([pad]) * pad:
        raise _NotDecrypted("cannot decrypt (wrong EncodingAESKey?)")
    content = plain[16:-pad]
    if len(content) < 4:
        raise _NotDecrypted("cannot decrypt (wrong EncodingAESKey?)")
    length = socket.ntohl(struct.unpack("I", content[:4])[0])
    if length > len(content) - 4:
        raise _NotDecrypted("cannot decrypt (wrong EncodingAESKey?)")
    try:
        xml = content[4:4 + length].decode("utf-8")
        from_appid = content[4 + length:].decode("utf-8")
    except UnicodeDecodeError:
        raise _NotDecrypted("cannot decrypt (wrong EncodingAESKey?)") from None
    if from_appid != appid:
        raise _NotDecrypted("wrong AppID")
    return xml


@dataclass
class Envelope:
    """How a request arrived, so the reply can go back the same way."""

    encrypted: bool
    xml: bytes
    nonce: str = ""
    timestamp: str = ""
    aes_key: str | None = None  # the key that opened the request; the reply uses it too


def open_request(body: bytes, params: dict[str, str], *, token: str, aes_keys: list[str],
                 appid: str | None) -> Envelope:
    """Check and, in safe or compatible mode, decrypt a POST from WeChat. Raises ProtocolError."""
    check_signature(token, params.get("signature"), params.get("timestamp"), params.get("nonce"))
    root = check_xml(body)
    if params.get("encrypt_type", "raw").lower() != "aes":
        return Envelope(False, body)
    encrypt = (root.findtext("Encrypt") or "").strip()
    if not aes_keys or not appid:
        if root.findtext("MsgType"):  # compatible mode carries the plaintext too
            return Envelope(False, body)
        raise ProtocolError(400, "safe mode is not configured (WECHAT_AES_KEY, WECHAT_APPID)")
    if not encrypt:
        raise ProtocolError(400, "missing Encrypt")
    msg_signature = params.get("msg_signature")
    if not msg_signature:
        raise ProtocolError(400, "missing msg_signature")
    if not _same(signature_of(token, params["timestamp"], params["nonce"], encrypt), msg_signature):
        raise ProtocolError(403, "invalid msg_signature")
    reasons: list[str] = []
    for key in aes_keys:  # the current key, then the previous one during a rotation
        try:
            xml = _decrypt(encrypt, key, appid)
        except _NotDecrypted as exc:
            reasons.append(exc.reason)
            continue
        xml_bytes = xml.encode("utf-8")
        check_xml(xml_bytes)
        return Envelope(True, xml_bytes, nonce=params["nonce"], timestamp=params["timestamp"], aes_key=key)
    if "wrong AppID" in reasons:
        raise ProtocolError(403, "message is for another AppID")
    raise ProtocolError(400, reasons[0] if reasons else "cannot decrypt")


# -- messages ------------------------------------------------------------------------------

@dataclass
class Incoming:
    """One message or event from WeChat, checked for the fields WeChat always sends."""

    kind: str  # "text", "voice", ... or "event:subscribe", "event:click", ...
    source: str  # the citizen's openid (FromUserName)
    target: str  # the account (ToUserName)
    create_time: str
    msg_id: str = ""  # empty for events
    content: str = ""
    recognition: str = ""
    event: str = ""
    event_key: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_event(self) -> bool:
        return self.kind.startswith("event:")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    raise ProtocolError(400, "unexpected nested element")


def parse(xml: bytes | str) -> Incoming:
    """wechatpy's parser, then the checks it does not make. Raises ProtocolError."""
    try:
        msg = parse_message(xml)
        data = dict(msg._data)  # the fields as WeChat sent them (wechatpy keeps them here)
    except ProtocolError:
        raise
    except Exception:  # KeyError, ValueError, ExpatError on broken messages
        raise ProtocolError(400, "not a WeChat message") from None
    missing = [f for f in ("ToUserName", "FromUserName", "CreateTime", "MsgType") if not _text(data.get(f)).strip()]
    if missing:
        raise ProtocolError(400, f"missing {', '.join(missing)}")
    create_time = _text(data["CreateTime"]).strip()
    if not create_time.isdigit():
        raise ProtocolError(400, "CreateTime is not a number")
    msg_type = _text(data["MsgType"]).strip().lower()
    incoming = Incoming(kind=msg_type, source=_text(data["FromUserName"]).strip(),
                        target=_text(data["ToUserName"]).strip(), create_time=create_time, raw=data)
    if msg_type == "event":
        # wechatpy renames qrscene subscriptions to subscribe_scan and strips the prefix;
        # subscribe_msg_popup_event and newer events parse as unknown: the raw name is kept.
        event = _text(getattr(msg, "event", "") or data.get("Event")).strip().lower()
        if not event:
            raise ProtocolError(400, "missing Event")
        incoming.kind = f"event:{event}"
        incoming.event = event
        incoming.event_key = _text(data.get("EventKey")).strip()
        return incoming
    msg_id = _text(data.get("MsgId")).strip()
    if msg_type in MESSAGE_TYPES and not msg_id.isdigit():
        raise ProtocolError(400, "missing or malformed MsgId")
    incoming.msg_id = msg_id
    if msg_type == "text":
        if "Content" not in data:
            raise ProtocolError(400, "missing Content")
        incoming.content = _text(data.get("Content"))
    elif msg_type == "voice":
        incoming.recognition = _text(data.get("Recognition"))
    return incoming


# -- replies ------------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_EMPHASIS = re.compile(r"(\*\*|__|`+)(.+?)\1")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.M)
_BULLET = re.compile(r"^\s*[*+]\s+", re.M)


def plain_text(text: str) -> str:
    """What WeChat shows as typed: no markdown markers, no control characters, `\\n` line breaks."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    text = _LINK.sub(r"\1 \2", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = _HEADING.sub("", text)
    text = _BULLET.sub("· ", text)
    return text.strip()


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
        piece = text[:cut].rstrip("\n")
        if piece:
            pieces.append(piece)
        text = text[cut:]
    if text:
        pieces.append(text)
    return pieces


def cdata(text: str) -> str:
    """Safe inside <![CDATA[...]]>: wechatpy does not escape a literal `]]>`."""
    return text.replace("]]>", "]]]]><![CDATA[>")


def render_text(msg: Incoming, text: str, envelope: Envelope, *, token: str, appid: str | None) -> str:
    """A passive text reply, encrypted (under the request's key) when the request was."""
    reply = TextReply(source=cdata(msg.target), target=cdata(msg.source), content=cdata(text),
                      time=int(time.time()))
    xml = reply.render()
    if envelope.encrypted and envelope.aes_key and appid:
        crypto = WeChatCrypto(token, envelope.aes_key, appid)
        return crypto.encrypt_message(xml, envelope.nonce or str(int(time.time())), envelope.timestamp or None)
    return xml
