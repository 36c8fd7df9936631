"""`bot scheduler`: the one process that runs timed jobs (event reminders, log retention).

How reminders follow events. The web server, the CLI and the console only
write the `events` table. This process keeps APScheduler's jobs (SQLAlchemy job
store, in the bot's own database, so they survive restarts) in step with it:
at start, whenever the knowledge version changes (every event change bumps it;
checked every `tick` seconds) and every `reconcile_every` seconds in any case.
One job per (event, reminder time), id `reminder:<event>:<UTC time>`; a moved
event gets new ids (old jobs removed, new ones added), a cancelled one loses
its jobs. A reminder time that has passed gets a job only while it is still
owed to somebody (kb.reminders), so a job that has run is not added again.

Exactly one scheduler runs the jobs, however many are started: each first
takes a leader lock and only the holder starts APScheduler at all (the others
wait as standbys and take over when the holder goes). The lock is
- PostgreSQL: a session advisory lock (`pg_try_advisory_lock`) on a connection
  held open: it lives in the very database that holds the jobs, and PostgreSQL
  releases it the moment the holder's connection ends (crash, kill, network);
- else, when REDIS_URL is set: a Redis lease (redis-py's Lock, SET NX PX with a
  token, renewed every tick), which expires if the holder stops renewing;
- else (SQLite): an exclusive `flock` on a file beside the database file. SQLite
  lives on one machine, and the kernel drops the lock when the process dies.
Behind the lock, the push log's unique key stops a second send even if two
schedulers ever ran at once (a lease that expired during a long pause).

Late reminders: jobs keep `coalesce` and a `misfire_grace_time` that lasts until
the event starts. A reminder that fell due while everything was stopped runs
once when the scheduler is back; one that is only reached after its event
started is not sent but logged as "dropped" (the job itself, or the
EVENT_JOB_MISSED listener, asks kb.reminders.plan, which decides on the event's
current start time).
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Protocol

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from bot.config import Settings
from bot.push import Pusher
from kb import reminders
from kb.conversations import purge_messages
from kb.db import PROJECT_ROOT, kb_version, resolve_url, session_scope
from kb.events import as_utc
from kb.models import Event

log = logging.getLogger("bot.scheduler")

JOB_PREFIX = "reminder:"
RECONCILE_EVERY = 30.0
TICK = 5.0


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


# -- the leader lock ---------------------------------------------------------------------------

class LeaderLock(Protocol):
    description: str

    def acquire(self) -> bool: ...  # non-blocking
    def held(self) -> bool: ...  # still ours? (renews a lease)
    def release(self) -> None: ...


def _lock_name(database_url: str) -> str:
    return "kexie-scheduler:" + hashlib.sha1(resolve_url(database_url).encode()).hexdigest()[:16]


class PostgresAdvisoryLock:
    """A session-level advisory lock on a dedicated connection (never through a transaction pooler)."""

    def __init__(self, database_url: str) -> None:
        self.description = "PostgreSQL advisory lock"
        self.engine = create_engine(resolve_url(database_url), future=True, poolclass=NullPool, connect_args={
            "connect_timeout": 5, "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5,
            "keepalives_count": 3, "application_name": "kexie-scheduler"})
        digest = hashlib.sha1(b"kexie-scheduler").digest()
        self.key = int.from_bytes(digest[:8], "big", signed=True)  # advisory locks are per database
        self.conn = None

    def acquire(self) -> bool:
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
        except Exception:
            conn.close()
            raise
        if got:
            self.conn = conn
        else:
            conn.close()
        return got

    def held(self) -> bool:
        if self.conn is None:
            return False
        try:
            return bool(self.conn.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = pg_backend_pid() AND objid = CAST(CAST(:k AS bigint) & 4294967295 AS oid)"),
                {"k": self.key}).scalar())
        except Exception as exc:  # the connection is gone, and the lock with it
            log.warning("scheduler lock connection failed: %s", exc)
            self._close()
            return False

    def release(self) -> None:
        if self.conn is not None:
            try:
                self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
            except Exception:
                pass
            self._close()

    def _close(self) -> None:
        try:
            if self.conn is not None:
                self.conn.close()
        except Exception:
            pass
        self.conn = None


class RedisLeaseLock:
    """redis-py's Lock (a token under SET NX PX, released and extended only by its owner)."""

    def __init__(self, redis_url: str, name: str, ttl: float) -> None:
        import redis

        self.description = f"Redis lease {name} ({ttl:.0f} s)"
        self.client = redis.Redis.from_url(redis_url, socket_timeout=2.0)
        self.lock = self.client.lock(name, timeout=ttl, thread_local=False)

    def acquire(self) -> bool:
        return bool(self.lock.acquire(blocking=False))

    def held(self) -> bool:
        from redis.exceptions import LockError, RedisError

        try:
            return bool(self.lock.reacquire())  # back to the full TTL; fails if someone else holds it
        except (LockError, RedisError) as exc:
            log.warning("scheduler lease lost: %s", exc)
            return False

    def release(self) -> None:
        from redis.exceptions import LockError, RedisError

        try:
            self.lock.release()
        except (LockError, RedisError):
            pass


class FileLock:
    """An exclusive flock on a file beside the SQLite database."""

    def __init__(self, path: Path) -> None:
        self.description = f"file lock {path}"
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return True

    def held(self) -> bool:
        return self.fd is not None

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def make_lock(settings: Settings, ttl: float = 3 * TICK) -> LeaderLock:
    url = make_url(resolve_url(settings.database_url))
    backend = url.get_backend_name()
    if backend == "postgresql":
        return PostgresAdvisoryLock(settings.database_url)
    if settings.redis_url:
        return RedisLeaseLock(settings.redis_url, "kexie:" + _lock_name(settings.database_url), ttl)
    if backend == "sqlite" and url.database and url.database != ":memory:":
        return FileLock(Path(url.database + ".scheduler.lock"))
    return FileLock(PROJECT_ROOT / "var" / "scheduler.lock")


# -- jobs ----------------------------------------------------------------------------------------

_PUSHER: Pusher | None = None  # the pusher of this process's scheduler; jobs are stored by name, not by object
_RUNNING: set[str] = set()  # reminder jobs being run right now (APScheduler removes a date job when it starts)
_RUNNING_LOCK = threading.Lock()


def job_id(event_id: int, remind_at: datetime) -> str:
    return f"{JOB_PREFIX}{event_id}:{as_utc(remind_at):%Y%m%dT%H%M%SZ}"


def parse_job_id(value: str) -> tuple[int, datetime] | None:
    if not value.startswith(JOB_PREFIX):
        return None
    try:
        event_part, time_part = value[len(JOB_PREFIX):].split(":", 1)
        when = datetime.strptime(time_part, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        return int(event_part), when
    except ValueError:
        return None


def run_reminder(event_id: int, remind_at: str) -> None:
    """A reminder job (referenced by name in the job store): send, or log as dropped, via the pusher."""
    if _PUSHER is None:
        raise RuntimeError("no reminder sender in this process")
    when = datetime.fromisoformat(remind_at)
    jid = job_id(event_id, when)
    with _RUNNING_LOCK:
        _RUNNING.add(jid)
    try:
        _PUSHER.run_reminder(event_id, when)
    finally:
        with _RUNNING_LOCK:
            _RUNNING.discard(jid)


def purge_old_messages(database_url: str, days: int) -> None:
    with session_scope(database_url) as session:
        removed = purge_messages(session, days)
    if removed:
        log.info("message log retention: removed %d entries older than %d days", removed, days)


@dataclass
class Reconciled:
    added: int = 0
    removed: int = 0
    kept: int = 0


def reconcile(scheduler: BackgroundScheduler, database_url: str, tz: str, now: datetime) -> Reconciled:
    """Make the job store's reminder jobs match the events table (see the module docstring)."""
    result = Reconciled()
    existing = {job.id: job for job in scheduler.get_jobs(jobstore="default") if job.id.startswith(JOB_PREFIX)}
    with session_scope(database_url) as session:
        grace_of: dict[str, int] = {}
        for jid, job in existing.items():
            parsed = parse_job_id(jid)
            ev = session.get(Event, parsed[0]) if parsed else None
            if parsed is None or ev is None or parsed[1] not in reminders.reminder_times(ev, tz):
                scheduler.remove_job(jid, jobstore="default")
                result.removed += 1
                continue
            grace = _grace(ev, parsed[1])
            if job.misfire_grace_time != grace:  # the event moved but this reminder time stayed
                scheduler.modify_job(jid, jobstore="default", misfire_grace_time=grace)
            grace_of[jid] = grace
            result.kept += 1
        for ev in reminders.upcoming_events(session, now):
            owed = reminders.owed_time(ev, now, tz)
            for t in reminders.reminder_times(ev, tz):
                jid = job_id(ev.id, t)
                with _RUNNING_LOCK:
                    running = jid in _RUNNING
                if jid in grace_of or running:  # a running job still owes people: it is sending to them
                    continue
                if t > now or (t == owed and reminders.recipients(session, ev, t)):
                    scheduler.add_job("bot.scheduler:run_reminder", "date", run_date=t, id=jid,
                                      name=f"reminder: {ev.title[:40]}", args=[ev.id, t.isoformat()],
                                      jobstore="default", replace_existing=True, coalesce=True,
                                      misfire_grace_time=_grace(ev, t), max_instances=1)
                    result.added += 1
    return result


def _grace(ev: Event, remind_at: datetime) -> int:
    """Late is fine until the event starts; after that the reminder is dropped."""
    return max(1, int((as_utc(ev.starts_at) - remind_at).total_seconds()))  # type: ignore[operator]


# -- the service ------------------------------------------------------------------------------

class ReminderService:
    """The scheduler of one process: waits for the lock, then runs and reconciles the jobs."""

    def __init__(self, settings: Settings, *, lock: LeaderLock | None = None, pusher: Pusher | None = None,
                 reconcile_every: float = RECONCILE_EVERY, tick: float = TICK,
                 clock: Callable[[], datetime] = utcnow) -> None:
        global _PUSHER
        self.settings = settings
        self.url = settings.database_url
        self.lock = lock or make_lock(settings, ttl=max(3 * tick, 10.0))
        self.pusher = pusher or Pusher(settings, clock=clock)
        _PUSHER = self.pusher
        self.reconcile_every, self.tick_seconds, self.clock = reconcile_every, tick, clock
        self.leader = False
        self._last_reconcile = float("-inf")
        self._last_version: int | None = None
        engine_options = ({"connect_args": {"timeout": 30}} if self.url.startswith("sqlite")
                          else {"pool_pre_ping": True})
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(url=resolve_url(self.url), engine_options=engine_options)},
            job_defaults={"coalesce": True, "misfire_grace_time": 3600, "max_instances": 1},
            timezone=settings.tz,
        )
        self.scheduler.add_listener(self._on_missed, EVENT_JOB_MISSED)

    def _on_missed(self, event: JobExecutionEvent) -> None:
        parsed = parse_job_id(event.job_id)
        if parsed is not None:  # past the grace: the plan logs it as dropped (or sends, if the event moved later)
            try:
                self.pusher.run_reminder(*parsed)
            except Exception:
                log.exception("handling the missed reminder %s failed", event.job_id)

    def step(self) -> None:
        """One turn: take or check the lock, then reconcile when something changed or it is time."""
        if not self.leader:
            if not self.lock.acquire():
                return
            self.leader = True
            log.info("scheduler is the leader (%s)", self.lock.description)
            if not self.scheduler.running:
                self.scheduler.start(paused=True)
            self.scheduler.add_job(purge_old_messages, "cron", hour=3, minute=30, id="retention",
                                   args=[self.url, self.settings.message_retention_days], replace_existing=True)
            try:
                self.reconcile()
            finally:
                self.scheduler.resume()
            return
        if not self.lock.held():
            log.error("scheduler lost its lock: pausing the jobs until it is the leader again")
            self.scheduler.pause()
            self.leader = False
            return
        with session_scope(self.url) as session:
            version = kb_version(session)
        if version != self._last_version or time.monotonic() - self._last_reconcile >= self.reconcile_every:
            self.reconcile()

    def reconcile(self) -> Reconciled:
        with session_scope(self.url) as session:
            version = kb_version(session)
        result = reconcile(self.scheduler, self.url, self.settings.tz, self.clock())
        self._last_version, self._last_reconcile = version, time.monotonic()
        if result.added or result.removed:
            log.info("reconciled reminder jobs: %d added, %d removed, %d kept",
                     result.added, result.removed, result.kept)
        else:
            log.debug("reconciled reminder jobs: %d kept", result.kept)
        return result

    def serve(self, stop: threading.Event) -> None:
        standby_logged = False
        while True:
            try:
                self.step()
                if not self.leader and not standby_logged:
                    log.info("scheduler is a standby: another scheduler holds the lock (%s)", self.lock.description)
                standby_logged = not self.leader
            except Exception:
                log.exception("scheduler step failed; trying again in %.0f s", self.tick_seconds)
            if stop.wait(self.tick_seconds):
                return

    def close(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)  # a send in progress finishes and records its result
        if self.leader:
            self.lock.release()
            self.leader = False


def run(settings: Settings, reconcile_every: float = RECONCILE_EVERY, tick: float = TICK) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    service = ReminderService(settings, reconcile_every=reconcile_every, tick=tick)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("scheduler started (time zone %s, reconcile every %.0f s)", settings.tz, reconcile_every)
    try:
        service.serve(stop)
    finally:
        service.close()
        log.info("scheduler stopped")
    return 0
