"""Turning reports into documents and passages.

Reports arrive as OCR'd newspaper pages: bold markers, list dashes, page
numbers, photo captions, and sentences broken across blank lines. Passages
are cut at paragraph and sentence boundaries and keep the heading they sit
under, so an answer can be traced to where it stands in the report.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Iterable

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb import extract
from kb.db import bump_kb_version, get_setting, set_setting
from kb.models import Document, Edit, Event, Fact, Passage, Synonym, as_dict
from kb.text import SENTENCE_END, byline_names, normalize, split_sentences, tokenize

CORPUS_DIR = Path(__file__).parent / "corpus"
SEED_FILE = Path(__file__).parent / "seed.yaml"
MAX_PASSAGE = 360  # characters; long enough for a paragraph's point, short enough to cite

_JUNK_LINE = re.compile(r"^(\d{1,3}|[A-Za-z\s]+|欢迎关注.*|■.*|#+)$")


def clean_line(line: str) -> str:
    """Display text of a line: no markdown, no list dash, figures joined to units."""
    line = line.strip().replace("**", "")
    line = re.sub(r"^[-#]+\s*", "", line)
    line = re.sub(r"(?<=[\d.])\s+(?=[\u4e00-\u9fff%])", "", line)
    line = re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=\d)", "", line)
    return line.strip()


def _is_heading(line: str) -> bool:
    """A short line without a sentence's punctuation: a title, a section name or a caption.

    Parallel section titles such as "重引领、强服务,科技工作者之家建设迈上新台阶" are
    headings despite their comma.
    """
    if len(line) > 40 or line[-1] in SENTENCE_END + "，,：:、）)”\"":
        return False
    return (not re.search(r"[，,。；;]", line)
            or bool(re.match(r"^[\u4e00-\u9fff]{2,4}、[\u4e00-\u9fff]{2,4}[,，][^,，]+$", line)))


def _is_explicit_heading(raw: str) -> bool:
    """Markdown headings and whole-line bold items are headings whatever their length."""
    raw = raw.strip()
    return bool(re.match(r"^#+\s", raw) or re.fullmatch(r"-?\s*\*\*[^*]+\*\*", raw))


MIN_CAPTION = 12  # characters of a trailing line kept as a caption (shorter: a list of names, a tag)
HEADING_JOIN = " / "  # consecutive heading lines: a section title and its subtitle
_BYLINE = re.compile(r"[（(][^()（）]{1,30}[)）]")


@dataclass
class Para:
    heading: str
    text: str
    article: int = 0
    byline: bool = False  # who wrote the article ("本报记者 肖小江")


def paragraphs(text: str) -> list[Para]:
    """Paragraphs with their headings; sentences broken by a page or a photo are rejoined.

    A newspaper page holds several articles: a byline such as "(李加成)" or a
    top-level markdown heading ends one, so a paragraph is never glued to the
    next article and each article keeps its own headings (and its own place,
    see `scopes`).
    """
    out: list[Para] = []
    heading_parts: list[str] = []
    last_was_heading = False
    article = 0
    pending: Para | None = None  # a long paragraph that stopped mid-sentence
    trailing: list[str] = []  # caption-like lines since the last paragraph (kept if nothing follows)
    for raw in text.splitlines():
        line = clean_line(raw)
        if line and byline_names(line):
            # who wrote the article: kept as a paragraph under the article's own headings, so
            # "那篇纪实是哪个记者写的" finds it ("(本报记者 杨永忠)" ends the article, "■ 本报记者 肖小江" opens it)
            heading = HEADING_JOIN.join(heading_parts)[:500]  # a byline under the title: that title
            if _BYLINE.fullmatch(line):  # a byline that ends the article: the article's own title
                heading = next((p.heading for p in out if p.article == article and not p.byline), heading)
            out.append(Para(heading=heading, text=line.lstrip("■").strip(), article=article, byline=True))  # brackets kept: they mark it
            if _BYLINE.fullmatch(line):
                pending, heading_parts, last_was_heading, trailing = None, [], False, []
                article += 1
            continue
        if not line or _JUNK_LINE.match(line):
            continue
        if _BYLINE.fullmatch(line):
            pending, heading_parts, last_was_heading, trailing = None, [], False, []
            article += 1
            continue
        explicit = _is_explicit_heading(raw)
        if explicit and re.match(r"^#\s", raw.strip()) and out:
            article += 1
        if line == "本报讯":
            continue
        if explicit or (pending is None and _is_heading(line)):
            if explicit and pending is not None and len(pending.text) <= 60 and out and out[-1] is pending:
                # a long section title that looked like a broken sentence
                out.pop()
                heading_parts, last_was_heading = [pending.text], True
            pending = None
            heading_parts = heading_parts + [line] if last_was_heading else [line]
            last_was_heading = True
            trailing = [] if explicit else trailing + [line]
            continue
        if pending is not None:
            if _is_heading(line):
                trailing.append(line)
                continue  # while a sentence is broken, a short line is a photo caption: skip it
            pending.text += line
            trailing = []
            if pending.text[-1] in SENTENCE_END:
                pending = None
            continue
        if line.startswith("本报讯") and out and out[-1].article == article and not last_was_heading:
            article += 1
        last_was_heading = False
        trailing = []
        para = Para(heading=HEADING_JOIN.join(heading_parts)[:500], text=line, article=article)
        out.append(para)
        if line[-1] not in SENTENCE_END:
            pending = para
    # short lines after the last paragraph head nothing: they are the last photo captions
    # ("市科协党组书记、主席李艳华为表现突出的科技工作者颁奖"), not titles, and say who did what
    for line in trailing:
        if len(line) >= MIN_CAPTION and not re.search(r"[()（）]", line):
            out.append(Para(heading=out[-1].heading if out else "", text=line, article=article))
    return out


def passages_of(text: str) -> list[Para]:
    """Paragraphs cut to at most MAX_PASSAGE characters at sentence boundaries."""
    out: list[Para] = []
    for para in paragraphs(text):
        chunk = ""
        for sent in split_sentences(para.text):
            if chunk and len(chunk) + len(sent) > MAX_PASSAGE:
                out.append(Para(para.heading, chunk, para.article))
                chunk = ""
            chunk += sent
        if chunk:
            out.append(Para(para.heading, chunk, para.article))
    return out


def scopes(passages: list[tuple[str, str]], doc_region: str) -> list[str]:
    """The place each passage is about: its article's place, else the report's.

    Works from (heading, text) pairs alone, so the import (facts) and the search
    index (read back from the database) agree. An article starts with "本报讯"
    or under a new heading that names a place; its place is the first one its
    headings name, else the most specific one its first sentence names.
    """
    region_of, regions_in = extract.region_of, extract.regions_in
    default = region_of("", doc_region)
    out: list[str] = []
    current = default
    prev_heading = None
    for heading, text in passages:
        head_regions = regions_in(heading)
        new_article = text.startswith("本报讯") or (heading != prev_heading and bool(head_regions))
        if new_article:
            first = split_sentences(text)[0] if text else ""
            current = (head_regions[0] if head_regions else
                       (regions_in(first)[0] if regions_in(first) else default))
        prev_heading = heading
        out.append(current)
    return out


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def parse_month(value: str | date | None) -> date | None:
    """"2024-02", "2024-02-15", a date, or None."""
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    parts = [int(p) for p in re.findall(r"\d+", str(value))]
    if not parts:
        raise ValueError(f"not a date: {value!r}")
    year, month, day = (parts + [1, 1])[:3]
    return date(year, month, day)


@dataclass
class ImportResult:
    document_id: int
    version: int
    changed: bool
    passages: int = 0
    facts: int = 0
    events: int = 0
    superseded: list[int] = field(default_factory=list)


def import_document(
    session: Session,
    *,
    slug: str,
    title: str,
    text: str,
    source: str = "",
    region: str = "",
    published_at: date | None = None,
    date_approx: bool = False,
    kind: str = "",
    actor: str = "system",
    force: bool = False,
) -> ImportResult:
    """Add a report, or a new version of one, in the caller's transaction.

    The old version is retired in the same transaction as the new one goes in,
    so a reader sees either the old report or the new one, never half of each.
    `force` cuts and extracts an unchanged report again (the extraction rules changed).
    """
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise ValueError("empty document")
    digest = text_hash(text)
    current = session.execute(
        select(Document).where(Document.slug == slug, Document.status != "superseded")
        .order_by(Document.version.desc())
    ).scalars().first()
    meta = dict(title=title, source=source, region=region, published_at=published_at,
                date_approx=date_approx, kind=kind)
    if not force and current is not None and current.text_hash == digest and all(
        getattr(current, k) == v for k, v in meta.items()
    ):
        return ImportResult(current.id, current.version, changed=False)

    superseded = []
    version = 1
    latest = session.execute(
        select(Document.version).where(Document.slug == slug).order_by(Document.version.desc())
    ).scalars().first()
    if latest is not None:
        version = latest + 1
    for old in session.execute(
        select(Document).where(Document.slug == slug, Document.status != "superseded")
    ).scalars():
        old.status = "superseded"
        superseded.append(old.id)

    doc = Document(slug=slug, text=text, text_hash=digest, version=version, status="active", **meta)
    session.add(doc)
    session.flush()
    result = ImportResult(doc.id, version, changed=True, superseded=superseded)

    paras = passages_of(text)
    places = scopes([(p.heading, p.text) for p in paras], region)
    seen_headings: set[str] = set()
    for seq, (para, place) in enumerate(zip(paras, places)):
        passage = Passage(document_id=doc.id, seq=seq, heading=para.heading, text=para.text,
                          tokens=" ".join(tokenize(normalize(para.text))))
        session.add(passage)
        session.flush()
        result.passages += 1
        # headings and captions ("第三十五届绵阳市青少年科技创新大赛成功举办") hold facts too;
        # each is read once, with the first passage under it
        new_headings = [h for h in para.heading.split(HEADING_JOIN) if h and h not in seen_headings]
        seen_headings.update(new_headings)
        for fact in [f for h in new_headings for f in extract.facts(
                         h, doc_region=region, scope_region=place, published_at=published_at)] + \
                extract.facts(para.text, heading=para.heading, doc_region=region,
                              scope_region=place, published_at=published_at):
            session.add(Fact(document_id=doc.id, passage_id=passage.id, **fact))
            result.facts += 1
        for ev in extract.events(para.text, doc_region=region, scope_region=place,
                                 published_at=published_at):
            session.add(Event(document_id=doc.id, passage_id=passage.id, **ev))
            result.events += 1
    session.add(Edit(table_name="documents", row_id=doc.id, action="import", actor=actor,
                     before={"superseded": superseded} if superseded else None,
                     after={k: v for k, v in as_dict(doc).items() if k != "text"}))
    bump_kb_version(session)
    return result


def load_seed(session: Session, seed_file: Path = SEED_FILE) -> int:
    """Add the seed synonyms that are not there yet; staff edits are never overwritten."""
    data = yaml.safe_load(seed_file.read_text(encoding="utf-8"))
    existing = {(w, c) for w, c in session.execute(select(Synonym.word, Synonym.canonical))}
    added = 0
    for kind, pairs in (data.get("synonyms") or {}).items():
        for word, canonical in pairs.items():
            if (word, canonical) not in existing:
                session.add(Synonym(word=word, canonical=canonical, kind=kind or ""))
                added += 1
    if added:
        bump_kb_version(session)
    return added


def seed_terms(seed_file: Path = SEED_FILE) -> list[str]:
    data = yaml.safe_load(seed_file.read_text(encoding="utf-8"))
    return list(data.get("terms") or [])


@dataclass
class CorpusEntry:
    path: Path
    title: str
    region: str
    published_at: date | None
    date_approx: bool
    kind: str


def read_index(corpus_dir: Path = CORPUS_DIR) -> list[CorpusEntry]:
    """The corpus's index.yaml. A `# inferred` comment on `published` marks the date approximate."""
    index_file = corpus_dir / "index.yaml"
    raw = index_file.read_text(encoding="utf-8")
    entries = yaml.safe_load(raw) or []
    approx_files = set()
    current = None
    for line in raw.splitlines():
        m = re.match(r"\s*-?\s*file:\s*(\S+)", line)
        if m:
            current = m.group(1)
        if current and re.match(r"\s*published:.*#\s*inferred", line):
            approx_files.add(current)
    return [
        CorpusEntry(
            path=corpus_dir / e["file"], title=e["title"], region=e.get("region", ""),
            published_at=parse_month(e.get("published")),
            date_approx=bool(e.get("approximate", e["file"] in approx_files)),
            kind=e.get("kind", ""),
        )
        for e in entries
    ]


EXTRACTION_KEY = "extraction_version"


def extraction_version() -> str:
    """A hash of the code that turns a report into passages, facts and events."""
    digest = hashlib.sha256()
    for module in ("ingest.py", "extract.py", "text.py"):
        digest.update((Path(__file__).parent / module).read_bytes())
    return digest.hexdigest()[:16]


def build_corpus(session: Session, corpus_dir: Path = CORPUS_DIR,
                 progress: Callable[[str], None] | None = None) -> list[ImportResult]:
    """Import every report of the corpus; unchanged reports are left as they are.

    Unless the code that cuts and extracts reports changed since the last build: then
    every report is imported again, so an upgrade brings its better facts and events.
    """
    results = []
    load_seed(session)
    entries = read_index(corpus_dir)
    version = extraction_version()
    force = get_setting(session, EXTRACTION_KEY) != version
    for i, entry in enumerate(entries, 1):
        result = import_document(
            session, slug=entry.path.name, title=entry.title,
            text=entry.path.read_text(encoding="utf-8"), source=entry.title,
            region=entry.region, published_at=entry.published_at,
            date_approx=entry.date_approx, kind=entry.kind, force=force,
        )
        results.append(result)
        if progress:
            state = (f"v{result.version}: {result.passages} passages, {result.facts} facts, "
                     f"{result.events} events" if result.changed else "unchanged")
            progress(f"[{i}/{len(entries)}] {entry.path.name} {state}")
    set_setting(session, EXTRACTION_KEY, version)
    return results


def read_file(path: Path) -> str:
    """Text of a .txt, .md or .docx report."""
    suffix = path.suffix.lower()
    if suffix in {".txt", ".md", ".markdown"}:
        raw = path.read_bytes()
        for enc in ("utf-8-sig", "gb18030"):
            try:
                return raw.decode(enc)
            except UnicodeDecodeError:
                continue
        raise ValueError(f"{path.name}: not UTF-8 or GB18030 text")
    if suffix == ".docx":
        import docx  # python-docx

        document = docx.Document(str(path))
        return "\n\n".join(p.text for p in document.paragraphs)
    raise ValueError(f"{path.name}: only .txt, .md and .docx reports can be imported")


def domain_terms(session: Session) -> list[str]:
    """Names the tokenizers must keep whole: seed terms, 《…》 and short “…” names, synonyms."""
    terms: set[str] = set(seed_terms())
    for (text,) in session.execute(select(Document.text).where(Document.status == "active")):
        terms.update(m for m in re.findall(r"《([^》]{2,20})》", text))
        terms.update(m for m in re.findall(r"“([^”]{2,10})”", text) if not re.search(r"[,，、。]", m))
    for word, canonical in session.execute(select(Synonym.word, Synonym.canonical)):
        terms.update([word, canonical])
    return sorted(t for t in terms if t.strip())


def iter_sentences(passage_text: str) -> Iterable[str]:
    return split_sentences(passage_text)
