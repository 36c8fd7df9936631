"""The wire format on its own: signatures, safe and compatible mode, hostile XML, replies.

Requests come from tests/wechat_wire.py (written from WeChat's documentation)
and from the sample in WeChat's own encryption guide, never from bot/.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bot.protocol import (
    MAX_BODY,
    ProtocolError,
    open_request,
    parse,
    plain_text,
    render_text,
    split_reply,
)
from tests import wechat_wire as wire
from tests.wechat_harness import AES_KEY, APPID, OLD_AES_KEY, TOKEN

S = wire.OFFICIAL_SAMPLE


def refused(body: str | bytes, params: dict[str, str], **kw) -> ProtocolError:
    kw.setdefault("token", TOKEN)
    kw.setdefault("aes_keys", [AES_KEY])
    kw.setdefault("appid", APPID)
    with pytest.raises(ProtocolError) as info:
        env = open_request(body.encode() if isinstance(body, str) else body, params, **kw)
        parse(env.xml)
    return info.value


# -- WeChat's own sample --------------------------------------------------------------------

def test_the_wire_helpers_agree_with_wechats_sample():
    """Our independent AES code opens WeChat's sample, and the sample's msg_signature is WeChat's SHA-1."""
    encrypt = ET.fromstring(S["body"]).findtext("Encrypt")
    assert wire.sign(S["token"], S["timestamp"], S["nonce"], encrypt) == S["msg_signature"]
    xml, appid = wire.aes_decrypt(S["aes_key"], encrypt)
    assert appid == S["appid"]
    assert "<Content><![CDATA[abcdteT]]></Content>" in xml


def test_bot_opens_wechats_sample_message():
    params = {"signature": wire.sign(S["token"], S["timestamp"], S["nonce"]), "timestamp": S["timestamp"],
              "nonce": S["nonce"], "encrypt_type": "aes", "msg_signature": S["msg_signature"]}
    env = open_request(S["body"].encode(), params, token=S["token"], aes_keys=[S["aes_key"]], appid=S["appid"])
    assert env.encrypted and env.aes_key == S["aes_key"]
    msg = parse(env.xml)
    assert (msg.kind, msg.source, msg.content, msg.msg_id) == ("text", S["from_user"], S["content"], S["msg_id"])


def test_wechats_sample_with_a_forged_msg_signature_is_refused():
    params = {"signature": wire.sign(S["token"], S["timestamp"], S["nonce"]), "timestamp": S["timestamp"],
              "nonce": S["nonce"], "encrypt_type": "aes", "msg_signature": "0" * 40}
    err = refused(S["body"], params, token=S["token"], aes_keys=[S["aes_key"]], appid=S["appid"])
    assert (err.status, err.reason) == (403, "invalid msg_signature")


# -- modes ----------------------------------------------------------------------------------------

def test_plain_mode():
    xml = wire.text_xml("你好", user="o_plain", msg_id=11)
    env = open_request(xml.encode(), wire.plain_params(TOKEN), token=TOKEN, aes_keys=[], appid=None)
    msg = parse(env.xml)
    assert not env.encrypted
    assert (msg.kind, msg.source, msg.target, msg.content, msg.msg_id) == ("text", "o_plain", "gh_kexie", "你好", "11")


@pytest.mark.parametrize("compatible", [False, True], ids=["safe", "compatible"])
def test_safe_and_compatible_mode(compatible):
    params, body = wire.encrypted(TOKEN, AES_KEY, APPID, wire.text_xml("加密的问题", user="o_safe"),
                                  compatible=compatible)
    env = open_request(body.encode(), params, token=TOKEN, aes_keys=[AES_KEY], appid=APPID)
    assert env.encrypted and env.aes_key == AES_KEY
    assert parse(env.xml).content == "加密的问题"


def test_compatible_mode_without_a_key_uses_the_plaintext():
    params, body = wire.encrypted(TOKEN, AES_KEY, APPID, wire.text_xml("兼容模式"), compatible=True)
    env = open_request(body.encode(), params, token=TOKEN, aes_keys=[], appid=None)
    assert not env.encrypted and parse(env.xml).content == "兼容模式"


def test_safe_mode_without_a_key_is_refused():
    params, body = wire.encrypted(TOKEN, AES_KEY, APPID, wire.text_xml("安全模式"))
    err = refused(body, params, aes_keys=[], appid=None)
    assert err.status == 400 and "not configured" in err.reason


def test_previous_key_is_accepted_during_rotation_and_the_reply_uses_it():
    params, body = wire.encrypted(TOKEN, OLD_AES_KEY, APPID, wire.text_xml("旧密钥", user="o_rot"))
    env = open_request(body.encode(), params, token=TOKEN, aes_keys=[AES_KEY, OLD_AES_KEY], appid=APPID)
    msg = parse(env.xml)
    assert msg.content == "旧密钥" and env.aes_key == OLD_AES_KEY
    reply = render_text(msg, "收到", env, token=TOKEN, appid=APPID)
    fields = wire.reply_fields(wire.open_reply(TOKEN, OLD_AES_KEY, APPID, reply))
    assert (fields["Content"], fields["ToUserName"], fields["MsgType"]) == ("收到", "o_rot", "text")


def test_wrong_key_is_refused():
    params, body = wire.encrypted(TOKEN, OLD_AES_KEY, APPID, wire.text_xml("错的密钥"))
    err = refused(body, params, aes_keys=[AES_KEY])
    assert err.status == 400 and "cannot decrypt" in err.reason


def test_message_for_another_appid_is_refused():
    params, body = wire.encrypted(TOKEN, AES_KEY, "wx_other_account", wire.text_xml("别的公众号"))
    err = refused(body, params)
    assert (err.status, err.reason) == (403, "message is for another AppID")


def test_garbage_in_encrypt_is_refused():
    params = wire.plain_params(TOKEN)
    body = "<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[%%%not-base64]]></Encrypt></xml>"
    params.update(encrypt_type="aes", msg_signature=wire.sign(TOKEN, params["timestamp"], params["nonce"],
                                                              "%%%not-base64"))
    err = refused(body, params)
    assert err.status == 400 and "base64" in err.reason


# -- what WeChat would never send ------------------------------------------------------------------

@pytest.mark.parametrize("params, status, reason", [
    ({}, 400, "missing signature, timestamp or nonce"),
    ({"signature": "0" * 40, "timestamp": "1", "nonce": "2"}, 403, "invalid signature"),
])
def test_bad_signatures(params, status, reason):
    err = refused(wire.text_xml("你好"), params, aes_keys=[], appid=None)
    assert (err.status, err.reason) == (status, reason)


@pytest.mark.parametrize("body, reason", [
    ("", "empty body"),
    ("   \n", "empty body"),
    ("<xml><ToUserName>", "malformed XML"),
    ("not xml at all", "malformed XML"),
    ("<xml><MsgType><![CDATA[text]]></MsgType></xml>", "missing ToUserName, FromUserName, CreateTime"),
    ("<other><MsgType>text</MsgType></other>", "not a WeChat message"),
    (wire.text_xml("x").replace("<MsgId>1234567890123456</MsgId>", ""), "missing or malformed MsgId"),
    (wire.text_xml("x").replace("<Content><![CDATA[x]]></Content>", ""), "missing Content"),
    (wire.text_xml("x").replace("<CreateTime>", "<CreateTime>abc"), "CreateTime is not a number"),
    (wire.event_xml("CLICK").replace("<Event><![CDATA[CLICK]]></Event>", ""), "missing Event"),
    (wire.text_xml("x").replace("<Content><![CDATA[x]]></Content>", "<Content><b>x</b></Content>"),
     "unexpected nested element"),
])
def test_malformed_messages(body, reason):
    err = refused(body, wire.plain_params(TOKEN), aes_keys=[], appid=None)
    assert err.status == 400
    assert err.reason == reason


def test_billion_laughs_is_refused_before_any_expansion():
    err = refused(wire.billion_laughs(), wire.plain_params(TOKEN), aes_keys=[], appid=None)
    assert (err.status, err.reason) == (400, "forbidden XML construct (DTD or entity)")


def test_external_entity_is_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    err = refused(wire.external_entity(str(secret)), wire.plain_params(TOKEN), aes_keys=[], appid=None)
    assert err.status == 400 and "TOP-SECRET" not in err.reason


def test_hostile_xml_inside_the_encryption_is_refused_too():
    params, body = wire.encrypted(TOKEN, AES_KEY, APPID, wire.billion_laughs())
    err = refused(body, params)
    assert (err.status, err.reason) == (400, "forbidden XML construct (DTD or entity)")


def test_body_cap():
    big = wire.text_xml("长" * (MAX_BODY // 3 + 10))
    err = refused(big, wire.plain_params(TOKEN), aes_keys=[], appid=None)
    assert err.status == 413


# -- message kinds ------------------------------------------------------------------------------

def test_events_and_other_types_are_told_apart():
    assert parse(wire.event_xml("subscribe").encode()).kind == "event:subscribe"
    click = parse(wire.event_xml("CLICK", key="UPCOMING_EVENTS").encode())
    assert (click.kind, click.event_key, click.msg_id) == ("event:click", "UPCOMING_EVENTS", "")
    scan = parse(wire.event_xml("subscribe", key="qrscene_123").encode())
    assert scan.kind == "event:subscribe_scan"
    popup = parse(wire.event_xml("subscribe_msg_popup_event").encode())  # unknown to wechatpy
    assert popup.kind == "event:subscribe_msg_popup_event"
    assert parse(wire.voice_xml("语音内容").encode()).recognition == "语音内容"
    assert parse(wire.voice_xml(None).encode()).recognition == ""
    for xml, kind in [(wire.image_xml(), "image"), (wire.location_xml(), "location"), (wire.link_xml(), "link"),
                      (wire.video_xml(), "video")]:
        assert parse(xml.encode()).kind == kind


# -- replies ----------------------------------------------------------------------------------------

def test_split_reply_respects_bytes_and_characters():
    text = "科协" * 1500  # 9000 bytes of 3-byte characters
    pieces = split_reply(text)
    assert "".join(pieces) == text
    assert all(len(p.encode("utf-8")) <= 2048 for p in pieces)
    assert len(pieces) == 5
    mixed = ("a" * 2047) + "科" + "b"  # the 3-byte character would straddle the limit
    first, second = split_reply(mixed)
    assert first == "a" * 2047 and second == "科b"


def test_split_reply_prefers_line_ends():
    text = ("第一段。" * 100) + "\n" + ("第二段。" * 100)
    first, second = split_reply(text)
    assert first == "第一段。" * 100 and second == "第二段。" * 100


def test_cdata_end_in_a_reply_is_escaped():
    msg = parse(wire.text_xml("x", user="o_cdata").encode())
    env = open_request(wire.text_xml("x").encode(), wire.plain_params(TOKEN), token=TOKEN, aes_keys=[], appid=None)
    tricky = "a]]><MsgType>news</MsgType><![CDATA[b"
    fields = wire.reply_fields(render_text(msg, tricky, env, token=TOKEN, appid=None))
    assert fields["Content"] == tricky and fields["MsgType"] == "text"


def test_plain_text_removes_markdown():
    assert plain_text("**成都**有 `19` 家\n# 标题\n- 一项\n* 二项\n[科普中国](https://www.kepuchina.cn)") == (
        "成都有 19 家\n标题\n- 一项\n· 二项\n科普中国 https://www.kepuchina.cn")
    assert plain_text("行一\r\n行二\x00") == "行一\n行二"
