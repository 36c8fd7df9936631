"""The database: knowledge, and what the bot keeps about its conversations.

One schema for SQLite (the embedded default) and PostgreSQL (production),
migrated by Alembic (`kb/migrations`). Written in SQLAlchemy's 2.0 style on
1.4, which is the version Rasa 3.6 pins.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Document(Base):
    """One version of a report. Re-importing adds a version and retires the old one."""

    __tablename__ = "documents"
    id = Column(Integer, primary_key=True)
    slug = Column(String(200), nullable=False, index=True)  # stable key, e.g. the file name
    title = Column(String(500), nullable=False)
    source = Column(String(500), nullable=False, default="")
    region = Column(String(100), nullable=False, default="")
    published_at = Column(Date, nullable=True)
    date_approx = Column(Boolean, nullable=False, default=False)
    kind = Column(String(50), nullable=False, default="")
    text = Column(Text, nullable=False)
    text_hash = Column(String(64), nullable=False)
    status = Column(String(20), nullable=False, default="active")  # active|disabled|superseded
    version = Column(Integer, nullable=False, default=1)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)

    passages = relationship("Passage", back_populates="document", cascade="all, delete-orphan",
                            order_by="Passage.seq")

    def date_label(self) -> str:
        """"2024年2月", or "约2021年6月" when the date was inferred from the text."""
        if not self.published_at:
            return "日期不详"
        label = f"{self.published_at.year}年{self.published_at.month}月"
        return f"约{label}" if self.date_approx else label


class Passage(Base):
    __tablename__ = "passages"
    id = Column(Integer, primary_key=True)
    document_id = Column(Integer, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False, index=True)
    seq = Column(Integer, nullable=False)
    heading = Column(String(500), nullable=False, default="")
    text = Column(Text, nullable=False)
    tokens = Column(Text, nullable=False, default="")  # jieba-cut normalised text, space separated
    enabled = Column(Boolean, nullable=False, default=True)

    document = relationship("Document", back_populates="passages")


class Fact(Base):
    """A figure from a report: "成都 高校科协 15家", linked to the passage it came from."""

    __tablename__ = "facts"
    id = Column(Integer, primary_key=True)
    document_id = Column(Integer, ForeignKey("documents.id", ondelete="CASCADE"), nullable=False, index=True)
    passage_id = Column(Integer, ForeignKey("passages.id", ondelete="CASCADE"), nullable=True, index=True)
    subject = Column(String(500), nullable=False, default="")
    region = Column(String(100), nullable=False, default="")
    metric = Column(String(200), nullable=False, default="")
    value = Column(String(50), nullable=False)
    unit = Column(String(50), nullable=False, default="")
    as_of = Column(String(50), nullable=False, default="")
    sentence = Column(Text, nullable=False, default="")
    enabled = Column(Boolean, nullable=False, default=True)


class Event(Base):
    __tablename__ = "events"
    id = Column(Integer, primary_key=True)
    title = Column(String(500), nullable=False)
    kind = Column(String(20), nullable=False, default="科普活动")  # 科普活动|竞赛|会议
    starts_at = Column(DateTime(timezone=True), nullable=True)
    ends_at = Column(DateTime(timezone=True), nullable=True)
    date_text = Column(String(100), nullable=False, default="")  # as the report says it
    location = Column(String(500), nullable=False, default="")
    region = Column(String(100), nullable=False, default="")
    organiser = Column(String(500), nullable=False, default="")
    description = Column(Text, nullable=False, default="")
    registration = Column(Text, nullable=False, default="")
    remind_at = Column(JSON, nullable=False, default=list)  # ISO 8601 strings; empty: defaults
    document_id = Column(Integer, ForeignKey("documents.id", ondelete="CASCADE"), nullable=True, index=True)
    passage_id = Column(Integer, ForeignKey("passages.id", ondelete="SET NULL"), nullable=True)
    enabled = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class Faq(Base):
    """A question and answer written by staff; it wins over anything extracted."""

    __tablename__ = "faqs"
    id = Column(Integer, primary_key=True)
    question = Column(Text, nullable=False)
    alt_questions = Column(JSON, nullable=False, default=list)
    answer = Column(Text, nullable=False)
    enabled = Column(Boolean, nullable=False, default=True)
    created_by = Column(String(100), nullable=False, default="")
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)


class Synonym(Base):
    """A word citizens use and the word the reports use: 蓉城 -> 成都, 科创会 -> 天府科技云服务大会."""

    __tablename__ = "synonyms"
    __table_args__ = (UniqueConstraint("word", "canonical"),)
    id = Column(Integer, primary_key=True)
    word = Column(String(100), nullable=False, index=True)
    canonical = Column(String(100), nullable=False)
    kind = Column(String(20), nullable=False, default="")  # region|event|platform|""


class Edit(Base):
    """Who changed what, when, with the row before and after."""

    __tablename__ = "edits"
    id = Column(Integer, primary_key=True)
    table_name = Column(String(50), nullable=False)
    row_id = Column(Integer, nullable=True)
    action = Column(String(20), nullable=False)  # create|update|delete|import|disable
    actor = Column(String(100), nullable=False, default="system")
    before = Column(JSON, nullable=True)
    after = Column(JSON, nullable=True)
    at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class Unanswered(Base):
    __tablename__ = "unanswered"
    id = Column(Integer, primary_key=True)
    openid = Column(String(100), nullable=False, default="")
    text = Column(Text, nullable=False)
    intent = Column(String(50), nullable=False, default="")
    best_score = Column(Float, nullable=True)
    handled = Column(Boolean, nullable=False, default=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)


class Message(Base):
    """Every incoming message and every reply."""

    __tablename__ = "messages"
    id = Column(Integer, primary_key=True)
    openid = Column(String(100), nullable=False, index=True)
    direction = Column(String(3), nullable=False)  # in|out
    msg_type = Column(String(30), nullable=False, default="text")
    msg_id = Column(String(64), nullable=True)
    text = Column(Text, nullable=False, default="")
    intent = Column(String(50), nullable=True)
    answered = Column(Boolean, nullable=True)
    latency_ms = Column(Integer, nullable=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)


class Subscriber(Base):
    __tablename__ = "subscribers"
    id = Column(Integer, primary_key=True)
    openid = Column(String(100), nullable=False, unique=True)
    topics = Column(JSON, nullable=False, default=list)
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)


class Setting(Base):
    """Texts staff can change without a deploy (welcome, handoff contact, ...)."""

    __tablename__ = "settings"
    key = Column(String(100), primary_key=True)
    value = Column(Text, nullable=False, default="")
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)


class StaffUser(Base):
    """A staff account of the console. Roles: admin (accounts, settings), editor, viewer."""

    __tablename__ = "staff_users"
    id = Column(Integer, primary_key=True)
    username = Column(String(100), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(20), nullable=False, default="viewer")
    active = Column(Boolean, nullable=False, default=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    last_login_at = Column(DateTime(timezone=True), nullable=True)


class PushLog(Base):
    """One reminder to one subscriber, written *before* the send: its key makes a second send impossible."""

    __tablename__ = "push_log"
    id = Column(Integer, primary_key=True)
    key = Column(String(200), nullable=False, unique=True)  # event:subscriber:remind-time
    event_id = Column(Integer, ForeignKey("events.id", ondelete="SET NULL"), nullable=True, index=True)
    openid = Column(String(100), nullable=False, index=True)
    remind_at = Column(DateTime(timezone=True), nullable=False)
    channel = Column(String(20), nullable=False, default="")  # template|custom
    status = Column(String(20), nullable=False, default="pending")  # pending|sent|failed|skipped|dropped
    errcode = Column(Integer, nullable=True)
    errmsg = Column(String(500), nullable=False, default="")
    attempts = Column(Integer, nullable=False, default=0)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    sent_at = Column(DateTime(timezone=True), nullable=True)


def as_dict(row: Base) -> dict:
    """A row as JSON-able data, for the edit history and the API."""
    out = {}
    for col in row.__table__.columns:
        value = getattr(row, col.name)
        if isinstance(value, (datetime, date)):
            value = value.isoformat()
        out[col.name] = value
    return out
