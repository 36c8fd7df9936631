"""The scheduler for real: APScheduler with its job store in the bot's database, the leader
lock, restarts, and `bot scheduler` processes, against the fake WeChat API.

Reminder times are a few seconds ahead of the real clock; the tests wait for
what the database or the fake records (bounded polls), never for a duration.
"""
from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy import select, text

from bot.config import load_settings
from bot.scheduler import (JOB_PREFIX, FileLock, PostgresAdvisoryLock, RedisLeaseLock, ReminderService, job_id,
                           make_lock, run_reminder)
from kb import events, reminders, subscriptions
from kb.db import get_engine, migrate, session_scope
from kb.models import PushLog
from tests.conftest import REDIS_TEST_URL, start_process, stop_process
from tests.fake_wechat_api import FakeWeChatAPI

TZ = "Asia/Shanghai"
TEMPLATE = "/cgi-bin/message/template/send"
BIN = Path(sys.executable).parent


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def wait_for(what: str, condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for: {what}")
        time.sleep(0.1)


def wait_until(moment: datetime) -> None:
    wait_for(f"the clock to pass {moment.isoformat()}", lambda: datetime.now(timezone.utc) > moment)


@pytest.fixture
def pg(fresh_pg_url: str) -> str:
    migrate(fresh_pg_url)
    return fresh_pg_url


def settings_for(url: str, api: FakeWeChatAPI):
    return load_settings({"DATABASE_URL": url, "BOT_TZ": TZ, "WECHAT_APPID": api.appid,
                          "WECHAT_SECRET": api.secret, "WECHAT_API_BASE_URL": api.base_url,
                          "BOT_PUSH_TEMPLATE_ID": "tmpl-reminder"}, generate_secrets=False)


def add_event(url: str, starts_at: datetime, remind_at: list[datetime] | None = None, title: str = "科普讲座") -> int:
    with session_scope(url) as s:
        return events.create_event(s, {"title": title, "starts_at": starts_at.isoformat(),
                                       "remind_at": [t.isoformat() for t in (remind_at or [])]}, tz=TZ)["id"]


def subscribe(url: str, *openids: str) -> None:
    with session_scope(url) as s:
        for openid in openids:
            subscriptions.subscribe(s, openid)


def rows(url: str, status: str | None = None) -> list[PushLog]:
    with session_scope(url) as s:
        stmt = select(PushLog).order_by(PushLog.id)
        if status:
            stmt = stmt.where(PushLog.status == status)
        return list(s.execute(stmt).scalars())


def reminder_jobs(service: ReminderService) -> dict[str, datetime]:
    return {j.id: j.next_run_time for j in service.scheduler.get_jobs() if j.id.startswith(JOB_PREFIX)}


def stored_job_ids(url: str) -> list[str]:
    with get_engine(url).connect() as conn:
        try:
            return [r[0] for r in conn.execute(text("SELECT id FROM apscheduler_jobs"))]
        except Exception:
            return []


class Running:
    """A ReminderService serving in a thread, as `bot scheduler` does."""

    def __init__(self, service: ReminderService) -> None:
        self.service = service
        self.stop = threading.Event()
        self.thread = threading.Thread(target=service.serve, args=(self.stop,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        self.service.close()


def service_for(url: str, api: FakeWeChatAPI) -> ReminderService:
    return ReminderService(settings_for(url, api), tick=0.2, reconcile_every=1.0)


# -- in process ----------------------------------------------------------------------------------

def test_a_reminder_fires_once_at_its_time(db_url, api):
    t = utcnow() + timedelta(seconds=3)
    event_id = add_event(db_url, t + timedelta(hours=2), [t])
    subscribe(db_url, "o1", "o2")
    running = Running(service_for(db_url, api))
    try:
        wait_for("two sent reminders", lambda: len(rows(db_url, "sent")) == 2)
        sent = rows(db_url)
        assert all(r.sent_at is not None and r.sent_at.replace(tzinfo=timezone.utc) >= t for r in sent)
        assert sorted(c.body["touser"] for c in api.calls_to(TEMPLATE)) == ["o1", "o2"]
        assert job_id(event_id, t) not in reminder_jobs(running.service)  # a date job is gone once run
        running.service.reconcile()  # and reconciling does not bring it back
        assert reminder_jobs(running.service) == {}
    finally:
        running.close()
    assert len(api.calls_to(TEMPLATE)) == 2


def test_jobs_follow_moved_and_cancelled_events(db_url, api):
    service = service_for(db_url, api)
    try:
        service.step()  # takes the lock, starts APScheduler, reconciles
        assert service.leader
        start = utcnow() + timedelta(days=10)
        event_id = add_event(db_url, start)
        service.step()  # the knowledge version changed: reconciled at once
        with session_scope(db_url) as s:
            from kb.models import Event
            defaults = reminders.reminder_times(s.get(Event, event_id), TZ)
        assert reminder_jobs(service) == {job_id(event_id, t): t for t in defaults}

        with session_scope(db_url) as s:
            events.update_event(s, event_id, {"starts_at": (start + timedelta(days=7)).isoformat()}, tz=TZ)
        service.step()
        moved = {job_id(event_id, t + timedelta(days=7)): t + timedelta(days=7) for t in defaults}
        assert reminder_jobs(service) == moved

        soon = utcnow() + timedelta(hours=1)
        with session_scope(db_url) as s:
            events.update_event(s, event_id, {"remind_at": [soon.isoformat()]}, tz=TZ)
        service.step()
        assert reminder_jobs(service) == {job_id(event_id, soon): soon}

        with session_scope(db_url) as s:
            events.cancel_event(s, event_id)
        service.step()
        assert reminder_jobs(service) == {}
        # a job that fired anyway for the cancelled event sends nothing
        subscribe(db_url, "o1")
        run_reminder(event_id, soon.isoformat())
        assert api.calls == [] and rows(db_url) == []
    finally:
        service.close()


def test_stopped_before_the_reminder_and_started_after_it_sends_once(db_url, api):
    subscribe(db_url, "o1")
    first = service_for(db_url, api)
    first.step()  # leading
    t = utcnow() + timedelta(seconds=3)
    add_event(db_url, t + timedelta(hours=1), [t])
    first.step()  # the event changed: its job is stored
    assert len(reminder_jobs(first)) == 1
    first.close()
    assert datetime.now(timezone.utc) < t, "the first scheduler must stop before the reminder is due"
    wait_until(t + timedelta(seconds=1))
    assert api.calls == [] and rows(db_url) == []
    running = Running(service_for(db_url, api))
    try:
        wait_for("the missed reminder", lambda: len(rows(db_url, "sent")) == 1)
    finally:
        running.close()
    assert [c.body["touser"] for c in api.calls_to(TEMPLATE)] == ["o1"]


def test_a_reminder_reached_only_after_the_event_started_is_dropped(db_url, api):
    subscribe(db_url, "o1")
    first = service_for(db_url, api)
    first.step()
    t = utcnow() + timedelta(seconds=3)
    starts = t + timedelta(seconds=2)
    add_event(db_url, starts, [t])
    first.step()
    assert len(reminder_jobs(first)) == 1
    first.close()
    assert datetime.now(timezone.utc) < t, "the first scheduler must stop before the reminder is due"
    wait_until(starts + timedelta(seconds=1))
    running = Running(service_for(db_url, api))
    try:
        wait_for("the dropped reminder", lambda: len(rows(db_url, "dropped")) == 1)
    finally:
        running.close()
    assert api.calls == []
    (row,) = rows(db_url)
    assert row.openid == "o1" and "too late" in row.errmsg


def test_two_services_one_leader(db_url, api):
    a, b = service_for(db_url, api), service_for(db_url, api)
    try:
        a.step()
        b.step()
        assert a.leader and not b.leader and not b.scheduler.running
        a.close()
        b.step()
        assert b.leader
    finally:
        a.close()
        b.close()


# -- the locks ---------------------------------------------------------------------------------

def _exclusive(make: Callable[[], object]) -> None:
    a, b = make(), make()
    assert a.acquire() and a.held()
    assert not b.acquire() and not b.held()
    a.release()
    assert b.acquire() and b.held()
    b.release()


def test_file_lock(tmp_path):
    _exclusive(lambda: FileLock(tmp_path / "x.lock"))


def test_postgres_advisory_lock_is_released_when_the_holder_disconnects(pg):
    _exclusive(lambda: PostgresAdvisoryLock(pg))
    a, b = PostgresAdvisoryLock(pg), PostgresAdvisoryLock(pg)
    assert a.acquire()
    with get_engine(pg).connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE application_name = 'kexie-scheduler' AND pid <> pg_backend_pid()"))
    assert not a.held()
    assert b.acquire()
    b.release()


def test_redis_lease_expires_when_not_renewed():
    name = f"kexie-test:{uuid.uuid4().hex}:scheduler"
    _exclusive(lambda: RedisLeaseLock(REDIS_TEST_URL, name, ttl=30))
    a, b = RedisLeaseLock(REDIS_TEST_URL, name, ttl=0.5), RedisLeaseLock(REDIS_TEST_URL, name, ttl=30)
    assert a.acquire()
    wait_for("the lease to expire", b.acquire, timeout=10)
    assert not a.held()
    b.release()


def test_lock_choice(tmp_path):
    def lock(**env):  # noqa: ANN003
        return make_lock(load_settings(env, generate_secrets=False))
    assert isinstance(lock(DATABASE_URL="postgresql+psycopg2://u@h/db", REDIS_URL="redis://h"), PostgresAdvisoryLock)
    assert isinstance(lock(DATABASE_URL=f"sqlite:///{tmp_path}/a.db", REDIS_URL=REDIS_TEST_URL), RedisLeaseLock)
    file_lock = lock(DATABASE_URL=f"sqlite:///{tmp_path}/a.db")
    assert isinstance(file_lock, FileLock) and file_lock.path == tmp_path / "a.db.scheduler.lock"


# -- `bot scheduler` processes -------------------------------------------------------------------

def scheduler_env(url: str, api: FakeWeChatAPI) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "BOT_", "REDIS_", "DATABASE_"))}
    env.update(DATABASE_URL=url, BOT_TZ=TZ, WECHAT_APPID=api.appid, WECHAT_SECRET=api.secret,
               WECHAT_API_BASE_URL=api.base_url, BOT_PUSH_TEMPLATE_ID="tmpl-reminder", PYTHONUNBUFFERED="1")
    return env


def start_scheduler(name: str, url: str, api: FakeWeChatAPI, log_dir: Path):  # noqa: ANN201
    return start_process(name, [str(BIN / "bot"), "scheduler", "--tick", "0.3", "--reconcile-every", "1"],
                         scheduler_env(url, api), log_dir)


def log_of(name: str, log_dir: Path) -> str:
    path = log_dir / f"{name}.log"
    return path.read_text(errors="replace") if path.exists() else ""


def test_two_scheduler_processes_send_each_reminder_once_even_across_a_failover(pg, api, tmp_path):
    t = utcnow() + timedelta(seconds=5)
    first_event = add_event(pg, t + timedelta(hours=1), [t], title="第一场")
    subscribe(pg, "o1", "o2")
    procs = {name: start_scheduler(name, pg, api, tmp_path) for name in ("s1", "s2")}
    try:
        wait_for("a leader", lambda: any("is the leader" in log_of(n, tmp_path) for n in procs))
        wait_for("the first reminders", lambda: len(rows(pg, "sent")) == 2)
        leaders = [n for n in procs if "is the leader" in log_of(n, tmp_path)]
        assert len(leaders) == 1, {n: log_of(n, tmp_path) for n in procs}
        standby = next(n for n in procs if n not in leaders)
        assert "is a standby" in log_of(standby, tmp_path)

        stop_process(procs[leaders[0]])  # the standby takes over ...
        wait_for("the standby to lead", lambda: "is the leader" in log_of(standby, tmp_path))
        t2 = utcnow() + timedelta(seconds=2)
        second_event = add_event(pg, t2 + timedelta(hours=1), [t2], title="第二场")
        wait_for("the second reminders", lambda: len(rows(pg, "sent")) == 4)  # ... and sends only what is new
    finally:
        for proc in procs.values():
            stop_process(proc)
    sent = sorted((c.body["touser"], c.body["data"]["thing1"]["value"]) for c in api.calls_to(TEMPLATE))
    assert sent == [("o1", "第一场"), ("o1", "第二场"), ("o2", "第一场"), ("o2", "第二场")]
    assert {r.event_id for r in rows(pg)} == {first_event, second_event}


def test_scheduler_process_stopped_before_a_reminder_sends_it_once_after_restart(pg, api, tmp_path):
    subscribe(pg, "o1")
    proc = start_scheduler("before", pg, api, tmp_path)
    try:
        wait_for("the scheduler to lead", lambda: "is the leader" in log_of("before", tmp_path))
        t = utcnow() + timedelta(seconds=6)
        event_id = add_event(pg, t + timedelta(hours=1), [t])  # written as the web server writes it
        wait_for("the job to be scheduled", lambda: job_id(event_id, t) in stored_job_ids(pg))
    finally:
        stop_process(proc)
    assert datetime.now(timezone.utc) < t, "the scheduler must stop before the reminder is due"
    assert job_id(event_id, t) in stored_job_ids(pg)  # the job outlives the process
    wait_until(t + timedelta(seconds=1))
    assert api.calls_to(TEMPLATE) == [] and rows(pg) == []
    proc = start_scheduler("after", pg, api, tmp_path)
    try:
        wait_for("the missed reminder", lambda: len(rows(pg, "sent")) == 1)
        wait_for("the job to be gone", lambda: job_id(event_id, t) not in stored_job_ids(pg))
    finally:
        stop_process(proc)
    assert [c.body["touser"] for c in api.calls_to(TEMPLATE)] == ["o1"]
    assert "scheduler stopped" in log_of("before", tmp_path)  # SIGTERM: a clean stop, lock released
