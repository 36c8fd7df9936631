"""Staff operations on the knowledge: validated, recorded in the edit history, live at once.

The API, the CLI and the console all call these, so a rule holds everywhere.
"""
from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.db import bump_kb_version
from kb.ingest import import_document, parse_month
from kb.models import Document, Edit, Faq, as_dict


class Invalid(ValueError):
    """Input a person must correct; the message says what."""


def import_text(session: Session, *, title: str, text: str, source: str = "", region: str = "",
                published_at: str | None = None, actor: str = "staff", slug: str | None = None) -> dict[str, Any]:
    if not title.strip() or not text.strip():
        raise Invalid("title and text are required")
    try:
        published = parse_month(published_at) if published_at else None
    except ValueError as exc:
        raise Invalid(f"published_at: {exc}") from None
    slug = slug or "staff-" + hashlib.sha1(title.strip().encode("utf-8")).hexdigest()[:16]
    result = import_document(session, slug=slug, title=title.strip(), text=text, source=source or title,
                             region=region, published_at=published, actor=actor)
    return {"id": result.document_id, "version": result.version, "changed": result.changed,
            "passages": result.passages, "facts": result.facts, "events": result.events}


def create_faq(session: Session, *, question: str, answer: str, alt_questions: list[str] | None = None,
               actor: str = "staff") -> dict[str, Any]:
    values = _clean("faqs", {"question": question, "answer": answer, "alt_questions": alt_questions or []},
                    partial=False)  # "answer is required": the message names the field
    faq = Faq(question=values["question"], answer=values["answer"], created_by=actor,
              alt_questions=values["alt_questions"])
    session.add(faq)
    session.flush()
    session.add(Edit(table_name="faqs", row_id=faq.id, action="create", actor=actor, after=as_dict(faq)))
    bump_kb_version(session)
    return as_dict(faq)


def active_documents(session: Session) -> list[Document]:
    return list(session.execute(select(Document).where(Document.status == "active")
                                .order_by(Document.id)).scalars())


# ===========================================================================================
# Staff operations of the console and the API: lists, edits, disable/delete, settings.
# Every change writes an `edits` row (who, when, before, after) and bumps the knowledge
# version, so every process answers from the new knowledge on its next question.
# ===========================================================================================

import json  # noqa: E402
import re  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from datetime import datetime as _datetime  # noqa: E402
from datetime import timezone as _timezone  # noqa: E402
from math import ceil  # noqa: E402

from sqlalchemy import Boolean as _Boolean  # noqa: E402
from sqlalchemy import Integer as _Integer  # noqa: E402
from sqlalchemy import String as _String  # noqa: E402
from sqlalchemy import cast, func, or_  # noqa: E402

from kb.db import get_setting, set_setting  # noqa: E402
from kb.models import Document as _Document  # noqa: E402
from kb.models import Edit as _Edit  # noqa: E402
from kb.models import Event as _Event  # noqa: E402
from kb.models import Faq as _Faq  # noqa: E402
from kb.models import Fact, Passage, Setting, Synonym  # noqa: E402
from kb.text import normalize, tokenize  # noqa: E402

MAX_PER_PAGE = 200


@dataclass(frozen=True)
class ListSpec:
    """What a list of one table can be searched, filtered and sorted by."""

    model: type
    search: tuple[str, ...]
    filters: tuple[str, ...]
    sort: tuple[str, ...]
    default_sort: str


LISTS: dict[str, ListSpec] = {
    "documents": ListSpec(_Document, ("title", "source", "slug", "region"), ("status", "region", "kind"),
                          ("id", "title", "published_at", "region", "status", "version", "created_at"),
                          "-published_at"),
    "passages": ListSpec(Passage, ("text", "heading"), ("document_id", "enabled"),
                         ("id", "document_id", "seq"), "document_id"),
    "facts": ListSpec(Fact, ("subject", "metric", "sentence", "region", "value"),
                      ("document_id", "region", "enabled"), ("id", "region", "metric", "as_of", "document_id"),
                      "id"),
    "faqs": ListSpec(_Faq, ("question", "answer", "alt_questions"), ("enabled", "created_by"),
                     ("id", "created_at", "updated_at"), "-updated_at"),
    "synonyms": ListSpec(Synonym, ("word", "canonical"), ("kind",), ("id", "word", "canonical", "kind"), "word"),
    "edits": ListSpec(_Edit, ("actor", "table_name", "action"), ("table_name", "action", "actor", "row_id"),
                      ("id", "at", "table_name", "actor"), "-id"),
}


@dataclass
class Page:
    items: list[dict[str, Any]]
    total: int
    page: int
    per_page: int
    sort: str

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    def as_json(self) -> dict[str, Any]:
        return {"items": self.items, "total": self.total, "page": self.page, "pages": self.pages,
                "per_page": self.per_page, "sort": self.sort}


def _spec(table: str) -> ListSpec:
    if table not in LISTS:
        raise Invalid(f"unknown table: {table}")
    return LISTS[table]


def _filter_value(column: Any, raw: str) -> Any:
    if isinstance(column.type, _Boolean):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise Invalid(f"{column.name}: expected true or false, got {raw!r}")
    if isinstance(column.type, _Integer):
        try:
            return int(raw)
        except ValueError:
            raise Invalid(f"{column.name}: expected a number, got {raw!r}") from None
    return raw


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _event_json(ev: Any) -> dict[str, Any]:
    data = as_dict(ev)
    data["location"] = ev.location
    return data


def row_json(table: str, row: Any) -> dict[str, Any]:
    """A row for lists and the API: documents without their (long) text."""
    data = as_dict(row)
    if table == "documents":
        data.pop("text", None)
        data["date_label"] = row.date_label()
    return data


def list_rows(session: Session, table: str, *, q: str = "", filters: dict[str, str] | None = None,
              sort: str = "", page: int = 1, per_page: int = 25) -> Page:
    """One page of a table: `q` searches the text columns, `filters` are exact, `sort` is "-col" or "col"."""
    spec = _spec(table)
    model = spec.model
    cols = model.__table__.columns
    stmt = select(model)
    count = select(func.count()).select_from(model)
    conditions = []
    for name, raw in (filters or {}).items():
        if raw is None or raw == "":
            continue
        if name not in spec.filters:
            raise Invalid(f"cannot filter {table} by {name}")
        conditions.append(cols[name] == _filter_value(cols[name], str(raw)))
    q = (q or "").strip()
    if q:
        matches = []
        for c in spec.search:
            if isinstance(cols[c].type, _String):
                matches.append(cols[c].ilike(_like(q), escape="\\"))
            else:  # JSON: stored as json.dumps wrote it, Chinese as \uXXXX escapes
                as_text = cast(cols[c], _String)
                matches.append(as_text.ilike(_like(q), escape="\\"))
                matches.append(as_text.ilike(_like(json.dumps(q)[1:-1]), escape="\\"))
        conditions.append(or_(*matches))
    for cond in conditions:
        stmt = stmt.where(cond)
        count = count.where(cond)
    sort = sort or spec.default_sort
    name = sort.lstrip("-")
    if name not in spec.sort:
        raise Invalid(f"cannot sort {table} by {name}")
    order = cols[name].desc().nullslast() if sort.startswith("-") else cols[name].asc().nullsfirst()
    per_page = max(1, min(int(per_page or 25), MAX_PER_PAGE))
    total = int(session.execute(count).scalar() or 0)
    page = max(1, min(int(page or 1), max(1, ceil(total / per_page))))
    rows = session.execute(stmt.order_by(order, cols["id"] if "id" in cols else cols[name])
                           .offset((page - 1) * per_page).limit(per_page)).scalars().all()
    items = [row_json(table, r) for r in rows]
    if table in ("passages", "facts"):  # which report each row is from
        ids = {r["document_id"] for r in items}
        titles = dict(session.execute(select(_Document.id, _Document.title).where(_Document.id.in_(ids))).all()) if ids else {}
        for r in items:
            r["document_title"] = titles.get(r["document_id"], "")
    return Page(items, total, page, per_page, sort)


def _row(session: Session, table: str, row_id: int) -> Any:
    row = session.get(_spec(table).model, row_id)
    if row is None:
        raise NotFound(f"{table} #{row_id} does not exist")
    return row


class NotFound(LookupError):
    """The row a staff member asked for is not there (deleted meanwhile?)."""


def get_row(session: Session, table: str, row_id: int) -> dict[str, Any]:
    row = _row(session, table, row_id)
    data = as_dict(row)
    if table == "documents":
        data["date_label"] = row.date_label()
    return data


def _record(session: Session, table: str, row_id: int | None, action: str, actor: str,
            before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
    session.add(_Edit(table_name=table, row_id=row_id, action=action, actor=actor, before=before, after=after))
    bump_kb_version(session)


def history(session: Session, table: str, row_id: int, limit: int = 100) -> list[dict[str, Any]]:
    rows = session.execute(select(_Edit).where(_Edit.table_name == table, _Edit.row_id == row_id)
                           .order_by(_Edit.id.desc()).limit(limit)).scalars()
    return [as_dict(e) for e in rows]


def document_detail(session: Session, doc_id: int) -> dict[str, Any]:
    """A report with its passages and what was extracted from it, for review after an import."""
    doc = _row(session, "documents", doc_id)
    data = get_row(session, "documents", doc_id)
    data["passages"] = [as_dict(p) for p in doc.passages]
    data["facts"] = [as_dict(f) for f in session.execute(
        select(Fact).where(Fact.document_id == doc_id).order_by(Fact.passage_id, Fact.id)).scalars()]
    data["events"] = [_event_json(e) for e in session.execute(
        select(_Event).where(_Event.document_id == doc_id).order_by(_Event.id)).scalars()]
    data["versions"] = [
        {"id": d.id, "version": d.version, "status": d.status, "created_at": d.created_at.isoformat()}
        for d in session.execute(select(_Document).where(_Document.slug == doc.slug)
                                 .order_by(_Document.version.desc())).scalars()
    ]
    return data


# -- validated fields per table ---------------------------------------------------------

def _text(value: Any, name: str, *, required: bool = False, limit: int | None = None) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(f"{name} must be text")
    value = value.strip()
    if required and not value:
        raise Invalid(f"{name} is required")
    if limit and len(value) > limit:
        raise Invalid(f"{name} is longer than {limit} characters")
    return value


def _bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("1", "true", "on", "yes", "0", "false", "off", "no"):
        return value.lower() in ("1", "true", "on", "yes")
    raise Invalid(f"{name} must be true or false")


def _alts(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):  # one per line, as a form sends them
        value = value.splitlines()
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise Invalid("alt_questions must be a list of strings")
    return list(dict.fromkeys(a.strip() for a in value if a.strip()))


def _published(value: Any) -> Any:
    if value in (None, ""):
        return None
    try:
        return parse_month(value)
    except (ValueError, TypeError):
        raise Invalid(f"published_at: not a date: {value!r}") from None


SYNONYM_KINDS = ("", "region", "event", "platform")

# field -> converter(value) for each editable table
_FIELDS: dict[str, dict[str, Any]] = {
    "documents": {
        "title": lambda v: _text(v, "title", required=True, limit=500),
        "source": lambda v: _text(v, "source", limit=500),
        "region": lambda v: _text(v, "region", limit=100),
        "kind": lambda v: _text(v, "kind", limit=50),
        "published_at": _published,
    },
    "passages": {
        "heading": lambda v: _text(v, "heading", limit=500),
        "text": lambda v: _text(v, "text", required=True, limit=5000),
        "enabled": lambda v: _bool(v, "enabled"),
    },
    "facts": {
        "subject": lambda v: _text(v, "subject", limit=500),
        "region": lambda v: _text(v, "region", limit=100),
        "metric": lambda v: _text(v, "metric", limit=200),
        "value": lambda v: _text(v, "value", required=True, limit=50),
        "unit": lambda v: _text(v, "unit", limit=50),
        "as_of": lambda v: _text(v, "as_of", limit=50),
        "sentence": lambda v: _text(v, "sentence", limit=5000),
        "enabled": lambda v: _bool(v, "enabled"),
    },
    "faqs": {
        "question": lambda v: _text(v, "question", required=True, limit=500),
        "answer": lambda v: _text(v, "answer", required=True, limit=2000),
        "alt_questions": _alts,
        "enabled": lambda v: _bool(v, "enabled"),
    },
    "synonyms": {
        "word": lambda v: _text(v, "word", required=True, limit=100),
        "canonical": lambda v: _text(v, "canonical", required=True, limit=100),
        "kind": lambda v: _choice(_text(v, "kind", limit=20), "kind", SYNONYM_KINDS),
    },
}


def _choice(value: str, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise Invalid(f"{name} must be one of: {', '.join(c or '(empty)' for c in choices)}")
    return value


def editable_fields(table: str) -> tuple[str, ...]:
    return tuple(_FIELDS.get(table, {}))


def _clean(table: str, data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    fields = _FIELDS.get(table)
    if fields is None:
        raise Invalid(f"{table} cannot be edited here")
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise Invalid(f"unknown field(s) for {table}: {', '.join(unknown)}")
    out = {}
    for name, convert in fields.items():
        if name in data:
            out[name] = convert(data[name])
        elif not partial and name in ("question", "answer", "word", "canonical"):
            out[name] = convert(None)  # raises "required"
    return out


def _check_synonym_unique(session: Session, word: str, canonical: str, row_id: int | None = None) -> None:
    stmt = select(Synonym.id).where(Synonym.word == word, Synonym.canonical == canonical)
    if row_id is not None:
        stmt = stmt.where(Synonym.id != row_id)
    if session.execute(stmt).first():
        raise Invalid(f"synonym {word} -> {canonical} already exists")


def update_row(session: Session, table: str, row_id: int, data: dict[str, Any], actor: str = "staff") -> dict[str, Any]:
    """Change some fields of a document, passage, fact, Q&A pair or synonym; recorded, live at once."""
    values = _clean(table, data, partial=True)
    row = _row(session, table, row_id)
    before = as_dict(row)
    if table == "synonyms":
        _check_synonym_unique(session, values.get("word", row.word), values.get("canonical", row.canonical), row_id)
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    if not changed:
        return row_json(table, row)
    for name, value in changed.items():
        setattr(row, name, value)
    if table == "passages" and "text" in changed:
        row.tokens = " ".join(tokenize(normalize(row.text)))
        refreshed = _refresh_facts(session, row, before["text"], actor)
    if table == "faqs":
        row.updated_at = _datetime.now(_timezone.utc)
    session.flush()
    after = as_dict(row)
    if table == "documents":  # the history keeps what changed, not the whole report twice
        before.pop("text", None)
        after.pop("text", None)
    if table == "passages" and "text" in changed:
        after["facts"] = refreshed
    _record(session, table, row_id, "update", actor, before, after)
    return row_json(table, row)


def _refresh_facts(session: Session, passage: Passage, old_text: str, actor: str) -> dict[str, int]:
    """Re-read the figures of an edited passage, so the search's figures match the new sentences.

    A fact whose sentence and figure are unchanged is kept as it is (a staff edit or a
    disable survives); facts of sentences that changed are replaced by what the new text
    says; facts read from the heading are not touched. Removed facts go into the history.
    """
    from kb import extract
    from kb.ingest import scopes
    from kb.text import split_sentences

    doc = session.get(_Document, passage.document_id)
    siblings = list(session.execute(select(Passage).where(Passage.document_id == doc.id)
                                    .order_by(Passage.seq)).scalars())
    places = dict(zip([p.id for p in siblings], scopes([(p.heading, p.text) for p in siblings], doc.region)))
    fresh = extract.facts(passage.text, heading=passage.heading, doc_region=doc.region,
                          scope_region=places.get(passage.id, ""), published_at=doc.published_at)
    old_sentences = set(split_sentences(old_text))
    old = [f for f in session.execute(select(Fact).where(Fact.passage_id == passage.id)).scalars()
           if f.sentence in old_sentences]
    key = lambda f: (f["sentence"], f["value"], f["unit"])  # noqa: E731
    fresh_keys = {key(f) for f in fresh}
    old_keys = {key(as_dict(f)) for f in old}
    removed = [f for f in old if key(as_dict(f)) not in fresh_keys]
    for f in removed:
        session.delete(f)
    added = [f for f in fresh if key(f) not in old_keys]
    for f in added:
        session.add(Fact(document_id=doc.id, passage_id=passage.id, **f))
    session.flush()
    if removed or added:
        session.add(_Edit(table_name="facts", row_id=None, action="reextract", actor=actor,
                          before={"passage_id": passage.id, "removed": [as_dict(f) for f in removed]},
                          after={"passage_id": passage.id, "added": added}))
    return {"kept": len(old) - len(removed), "removed": len(removed), "added": len(added)}


def set_enabled(session: Session, table: str, row_id: int, enabled: bool, actor: str = "staff") -> dict[str, Any]:
    """Take something out of the answers (or put it back) without deleting it."""
    row = _row(session, table, row_id)
    if table == "documents":
        if row.status == "superseded":
            raise Invalid("this is an old version of the report; import the report again to change it")
        status = "active" if enabled else "disabled"
        if row.status == status:
            return row_json(table, row)
        before = {"status": row.status}
        row.status = status
        after = {"status": status}
    else:
        if not hasattr(row, "enabled"):
            raise Invalid(f"{table} cannot be disabled")
        if row.enabled == enabled:
            return row_json(table, row)
        before, after = {"enabled": row.enabled}, {"enabled": enabled}
        row.enabled = enabled
    session.flush()
    _record(session, table, row_id, "enable" if enabled else "disable", actor, before, after)
    return row_json(table, row)


def delete_row(session: Session, table: str, row_id: int, actor: str = "staff") -> dict[str, Any]:
    """Delete for good; the history keeps the whole row (a report with its text), so nothing is lost."""
    if table not in _FIELDS:
        raise Invalid(f"{table} cannot be deleted here")
    row = _row(session, table, row_id)
    before = as_dict(row)
    if table == "documents":
        before["passages"] = len(row.passages)
    session.delete(row)
    session.flush()
    _record(session, table, row_id, "delete", actor, before, None)
    return before


def create_synonym(session: Session, *, word: str, canonical: str, kind: str = "",
                   actor: str = "staff") -> dict[str, Any]:
    values = _clean("synonyms", {"word": word, "canonical": canonical, "kind": kind}, partial=False)
    _check_synonym_unique(session, values["word"], values["canonical"])
    syn = Synonym(**values)
    session.add(syn)
    session.flush()
    _record(session, "synonyms", syn.id, "create", actor, None, as_dict(syn))
    return as_dict(syn)


# -- settings staff may change: shown to citizens at once ------------------------------------

SETTING_KEYS = ("welcome_text", "handoff_text", "menu", "reminder_days_before", "reminder_time")
MAX_SETTING_TEXT = 600  # about 1800 bytes: one WeChat text reply (2048 bytes) with room to spare


def _menu(value: str) -> str:
    """A WeChat custom menu as JSON, checked against WeChat's limits before anyone publishes it."""
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise Invalid(f"menu: not valid JSON ({exc})") from None
    buttons = data.get("button") if isinstance(data, dict) else None
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
        raise Invalid('menu: {"button": [...]} with 1 to 3 buttons')

    def check(button: Any, top: bool) -> None:
        if not isinstance(button, dict) or not str(button.get("name") or "").strip():
            raise Invalid("menu: every button needs a name")
        name = str(button["name"])
        limit = 16 if top else 60
        if len(name.encode("utf-8")) > limit:
            raise Invalid(f"menu: button name {name!r} is longer than {limit} bytes")
        subs = button.get("sub_button")
        if top and subs:
            if not isinstance(subs, list) or len(subs) > 5:
                raise Invalid(f"menu: {name!r} may have at most 5 sub-buttons")
            for sub in subs:
                check(sub, False)
            return
        kind = button.get("type")
        if kind == "click":
            key = str(button.get("key") or "")
            if not key or len(key.encode("utf-8")) > 128:
                raise Invalid(f"menu: click button {name!r} needs a key of at most 128 bytes")
        elif kind == "view":
            url = str(button.get("url") or "")
            if not url.startswith(("http://", "https://")) or len(url) > 1024:
                raise Invalid(f"menu: view button {name!r} needs an http(s) url")
        elif kind in ("miniprogram",):
            if not button.get("appid") or not button.get("pagepath") or not button.get("url"):
                raise Invalid(f"menu: miniprogram button {name!r} needs appid, pagepath and url")
        elif kind not in ("scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album",
                          "pic_weixin", "location_select"):
            raise Invalid(f"menu: button {name!r} has no valid type")

    for button in buttons:
        check(button, True)
    return json.dumps(data, ensure_ascii=False, indent=2)


def _days(value: str) -> str:
    parts = [p for p in re.split(r"[,，\s]+", value.strip()) if p]
    try:
        days = sorted({int(p) for p in parts}, reverse=True)
    except ValueError:
        raise Invalid("reminder_days_before: whole numbers of days, e.g. 3,1") from None
    if not days or any(d < 0 or d > 60 for d in days):
        raise Invalid("reminder_days_before: between 0 and 60 days, e.g. 3,1")
    return ",".join(str(d) for d in days)


def _clock(value: str) -> str:
    m = re.fullmatch(r"(\d{1,2})[:：](\d{2})", value.strip())
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise Invalid("reminder_time: a time of day such as 09:00")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def _setting_text(key: str) -> Any:
    def convert(value: str) -> str:
        if len(value) > MAX_SETTING_TEXT:
            raise Invalid(f"{key} is longer than {MAX_SETTING_TEXT} characters")
        return value
    return convert


_SETTING_CHECKS = {
    "welcome_text": _setting_text("welcome_text"),
    "handoff_text": _setting_text("handoff_text"),
    "menu": _menu,
    "reminder_days_before": _days,
    "reminder_time": _clock,
}


def read_settings(session: Session) -> dict[str, str]:
    """The stored values of the staff settings ("" when the built-in default applies)."""
    return {key: get_setting(session, key, "") for key in SETTING_KEYS}


def update_settings(session: Session, values: dict[str, Any], actor: str = "staff") -> dict[str, str]:
    """Save changed settings; an empty value goes back to the built-in default."""
    unknown = sorted(set(values) - set(SETTING_KEYS))
    if unknown:
        raise Invalid(f"unknown setting(s): {', '.join(unknown)}")
    cleaned: dict[str, str] = {}
    for key, value in values.items():
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise Invalid(f"{key} must be text")
        value = value.replace("\r\n", "\n").strip()
        cleaned[key] = _SETTING_CHECKS[key](value) if value else ""
    current = read_settings(session)
    for key, value in cleaned.items():
        if current[key] == value:
            continue
        if value:
            set_setting(session, key, value)
        else:
            row = session.get(Setting, key)
            if row is not None:
                session.delete(row)
        session.add(_Edit(table_name="settings", row_id=None, action="update", actor=actor,
                         before={"key": key, "value": current[key]}, after={"key": key, "value": value}))
    session.flush()
    return read_settings(session)
