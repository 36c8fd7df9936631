"""The console's event pages: create, edit, reminders, cancel, subscribers, the push log, a test reminder."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from kb import events as kb_events
from kb.db import session_scope
from kb.models import Edit, Event, PushLog, Subscriber
from tests.admin_support import SECRET, Console, app_for, console, make_users, sqlite_kb  # noqa: F401
from tests.fake_wechat_api import FakeWeChatAPI

TZ = ZoneInfo("Asia/Shanghai")


def _in_days(days: int, hour: int = 14) -> datetime:
    day = (datetime.now(TZ) + timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=TZ)


def test_create_edit_and_cancel_an_event(console: Console) -> None:
    console.login("ed")
    starts = _in_days(10)
    bad = console.post("/admin/events/new", {"title": "", "kind": "科普活动"}, csrf_from="/admin/events/new")
    assert bad.status_code == 422 and "活动名称不能为空" in bad.text
    wrong_order = console.post("/admin/events/new", {
        "title": "机器人科普讲座", "kind": "科普活动", "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (starts - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")})
    assert wrong_order.status_code == 422 and "ends_at is before starts_at" in wrong_order.text
    made = console.post("/admin/events/new", {
        "title": "机器人科普讲座", "kind": "科普活动", "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (starts + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"), "location": "成都科技馆",
        "region": "成都", "organiser": "测试科协", "description": "介绍", "registration": "现场报名", "remind_at": ""})
    assert made.status_code == 200 and "活动已创建" in made.text
    event_id = int(re.search(r"/admin/events/(\d+)$", str(made.url)).group(1))
    with session_scope(console.url) as session:
        ev = kb_events.get_event(session, event_id)
    assert datetime.fromisoformat(ev["starts_at"]) == starts  # typed in BOT_TZ, stored in UTC
    # default reminders: 3 and 1 days before at 09:00 local
    for days in (3, 1):
        assert (starts - timedelta(days=days)).strftime("%Y-%m-%d") + " 09:00" in made.text

    remind = _in_days(9, 20).strftime("%Y-%m-%d %H:%M")
    edited = console.post(f"/admin/events/{event_id}", {
        "title": "机器人科普讲座（改期）", "kind": "科普活动", "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": "", "location": "成都科技馆", "region": "成都", "organiser": "", "description": "",
        "registration": "", "remind_at": remind})
    assert edited.status_code == 200 and "已保存" in edited.text
    assert remind in edited.text and "09:00" not in re.search(r"<h2>提醒</h2>(.*?)</ul>", edited.text, re.S).group(1)
    late = console.post(f"/admin/events/{event_id}", {
        "title": "机器人科普讲座（改期）", "kind": "科普活动", "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        "remind_at": _in_days(11).strftime("%Y-%m-%d %H:%M")})
    assert late.status_code == 422 and "before starts_at" in late.text

    listing = console.client.get("/admin/events")
    assert "机器人科普讲座（改期）" in listing.text
    cancelled = console.post(f"/admin/events/{event_id}/cancel", {"confirm": "yes"})
    assert "活动已取消" in cancelled.text and "不再提醒" in cancelled.text
    assert "机器人科普讲座（改期）" not in console.client.get("/admin/events").text
    assert "机器人科普讲座（改期）" in console.client.get("/admin/events?cancelled=1").text
    with session_scope(console.url) as session:
        actions = [e.action for e in session.execute(select(Edit).where(
            Edit.table_name == "events", Edit.row_id == event_id).order_by(Edit.id)).scalars()]
    assert actions == ["create", "update", "cancel"]


def test_a_viewer_sees_events_but_cannot_change_them(console: Console) -> None:
    with session_scope(console.url) as session:
        ev = kb_events.create_event(session, {"title": "只读测试活动", "starts_at": _in_days(5).isoformat()})
    console.login("vic")
    page = console.client.get(f"/admin/events/{ev['id']}")
    assert page.status_code == 200 and "<fieldset disabled>" in page.text and "发送测试提醒" not in page.text
    for path, data in ((f"/admin/events/{ev['id']}", {"title": "改"}), (f"/admin/events/{ev['id']}/cancel",
                       {"confirm": "yes"}), (f"/admin/events/{ev['id']}/test", {"openid": "o1"})):
        assert console.post(path, data).status_code == 403
    with session_scope(console.url) as session:
        assert session.get(Event, ev["id"]).title == "只读测试活动" and session.get(Event, ev["id"]).enabled


@pytest.mark.parametrize("template", ["tmpl-1", ""])
def test_test_reminder_and_push_log(sqlite_kb: str, monkeypatch: pytest.MonkeyPatch, template: str) -> None:
    monkeypatch.setenv("BOT_SECRET_KEY", SECRET)
    make_users(sqlite_kb)
    with session_scope(sqlite_kb) as session:
        ev = kb_events.create_event(session, {"title": "青少年科技节", "starts_at": _in_days(7).isoformat(),
                                              "location": "成都", "region": "成都"})
        session.add(Subscriber(openid="oSUBSCRIBER_abcdef", topics=["成都"], active=True))
    with FakeWeChatAPI() as wx, TestClient(app_for(sqlite_kb, WECHAT_APPID=wx.appid, WECHAT_SECRET=wx.secret,
                                                   WECHAT_API_BASE_URL=wx.base_url,
                                                   BOT_PUSH_TEMPLATE_ID=template)) as client:
        c = Console(client, sqlite_kb)
        c.login("ed")
        resp = c.post(f"/admin/events/{ev['id']}/test", {"openid": "oSTAFF_openid_0001"})
        if template:
            assert "已送达" in resp.text and "template" in resp.text
            assert wx.calls_to("/cgi-bin/message/template/send")[0].body["touser"] == "oSTAFF_openid_0001"
        else:  # no template and the staff member never wrote to the account: WeChat would refuse, so nothing is sent
            assert "未发送" in resp.text and not wx.calls_to("/cgi-bin/message/custom/send")
        assert "oSTA…0001" in resp.text and "oSTAFF_openid_0001" not in resp.text  # openids masked
        subs = c.client.get("/admin/subscribers")
        assert "oSUB…cdef" in subs.text and "oSUBSCRIBER_abcdef" not in subs.text
        assert "成都：1 人" in subs.text and '<span class="badge">测试</span>' in subs.text  # the test push is marked
        empty = c.post(f"/admin/events/{ev['id']}/test", {"openid": ""})
        assert "请填写" in empty.text
    with session_scope(sqlite_kb) as session:
        log = session.execute(select(PushLog)).scalars().one()
    assert log.key.startswith(f"test:{ev['id']}:oSTAFF_openid_0001:")
    assert log.status == ("sent" if template else "skipped")
    assert log.event_id == ev["id"] and log.remind_at is not None
