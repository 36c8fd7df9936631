"""The WeChat API client against the fake server: token handling and bounded retries."""
from __future__ import annotations

import pytest
from wechatpy.exceptions import WeChatClientException

from bot.config import load_settings
from bot.wechat_api import make_client
from tests.fake_wechat_api import FakeWeChatAPI


def client_for(api: FakeWeChatAPI):
    settings = load_settings({"WECHAT_APPID": api.appid, "WECHAT_SECRET": api.secret,
                              "WECHAT_API_BASE_URL": api.base_url}, generate_secrets=False)
    return make_client(settings)


def test_no_credentials_no_client():
    assert make_client(load_settings({}, generate_secrets=False)) is None


def test_fetches_token_once_and_reuses_it(api):
    client = client_for(api)
    client.call(client.message.send_text, "o_citizen", "你好")
    client.call(client.message.send_text, "o_citizen", "再见")
    assert len(api.calls_to("/cgi-bin/token")) == 1
    sent = api.calls_to("/cgi-bin/message/custom/send")
    assert [c.body["text"]["content"] for c in sent] == ["你好", "再见"]


def test_one_retry_after_a_token_error(api):
    client = client_for(api)
    client.call(client.message.send_text, "o_citizen", "一")
    api.fail_next("/cgi-bin/message/custom/send", 40001)
    client.call(client.message.send_text, "o_citizen", "二")
    assert len(api.calls_to("/cgi-bin/token")) == 2
    assert len(api.calls_to("/cgi-bin/message/custom/send")) == 3


def test_retry_is_bounded(api):
    client = client_for(api)
    api.fail_next("/cgi-bin/message/custom/send", 40001, 40001, 40001)
    with pytest.raises(WeChatClientException) as info:
        client.call(client.message.send_text, "o_citizen", "三")
    assert info.value.errcode == 40001
    assert len(api.calls_to("/cgi-bin/message/custom/send")) == 2


def test_window_closed_is_not_retried(api):
    client = client_for(api)
    api.fail_next("/cgi-bin/message/custom/send", 45015)
    with pytest.raises(WeChatClientException) as info:
        client.call(client.message.send_text, "o_citizen", "四")
    assert info.value.errcode == 45015
    assert len(api.calls_to("/cgi-bin/message/custom/send")) == 1
