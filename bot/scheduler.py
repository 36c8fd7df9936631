"""`bot scheduler`: the one process that runs timed jobs.

APScheduler with its SQLAlchemy job store in the bot's own database, so jobs
survive restarts; run exactly one of these (in `bot run`, and as a single
service in docker-compose.yml), never one per web worker.
"""
from __future__ import annotations

import logging

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.config import Settings
from kb.conversations import purge_messages
from kb.db import resolve_url, session_scope

log = logging.getLogger("bot.scheduler")


def purge_old_messages(database_url: str, days: int) -> None:
    with session_scope(database_url) as session:
        removed = purge_messages(session, days)
    if removed:
        log.info("message log retention: removed %d entries older than %d days", removed, days)


def build_scheduler(settings: Settings) -> BlockingScheduler:
    scheduler = BlockingScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=resolve_url(settings.database_url))},
        job_defaults={"coalesce": True, "misfire_grace_time": 3600, "max_instances": 1},
        timezone=settings.tz,
    )
    scheduler.add_job(purge_old_messages, "cron", hour=3, minute=30, id="retention",
                      args=[settings.database_url, settings.message_retention_days], replace_existing=True)
    return scheduler


def run(settings: Settings) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    scheduler = build_scheduler(settings)
    log.info("scheduler started (time zone %s)", settings.tz)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0
