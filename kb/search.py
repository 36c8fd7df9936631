"""Ranking sentences and staff answers for a question.

BM25 is computed here, in Python, over jieba tokens, so SQLite and PostgreSQL
rank exactly alike and a score means the same thing on every deployment. The
index lives in memory and is rebuilt when the knowledge version changes, so an
edit in the console reaches every process on its next question.
"""
from __future__ import annotations

import math
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.db import kb_version
from kb.extract import FIGURE, REGIONS
from kb.ingest import domain_terms
from kb.models import Document, Faq, Passage, Synonym
from kb.text import add_terms, normalize, split_sentences, strip_fillers, tokenize

K1, B = 1.2, 0.75
FIGURE_QUESTION = re.compile(r"(多少|几[个家场次项人名条所届位篇年天]?|数量|规模|总数|人数|比例|占比|百分之|达到|有无|金额|资金)")


@dataclass
class Unit:
    """One searchable thing: a report sentence or a staff Q&A question."""

    kind: str  # sentence|faq
    text: str  # what would be said
    tokens: Counter
    length: int
    doc_id: int | None = None
    passage_id: int | None = None
    faq_id: int | None = None
    title: str = ""
    date_label: str = ""
    published_at: date | None = None
    region: str = ""
    heading: str = ""
    has_figure: bool = False
    question: str = ""


@dataclass
class Candidate:
    unit: Unit
    score: float
    coverage: float  # share of the question's idf mass the unit matched, 0..1
    matched: list[str] = field(default_factory=list)


@dataclass
class Query:
    text: str
    normalized: str
    tokens: list[str]
    regions: list[str]
    figure: bool


class Index:
    def __init__(self, units: list[Unit], synonyms: list[tuple[str, str]]) -> None:
        self.units = units
        self.synonyms = sorted(synonyms, key=lambda p: -len(p[0]))
        self.df: Counter = Counter()
        self.postings: dict[str, list[int]] = defaultdict(list)
        for i, unit in enumerate(units):
            for tok in unit.tokens:
                self.df[tok] += 1
                self.postings[tok].append(i)
        self.n = max(len(units), 1)
        self.avgdl = sum(u.length for u in units) / self.n if units else 1.0

    def idf(self, tok: str) -> float:
        df = self.df.get(tok, 0)
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def parse(self, text: str) -> Query:
        norm = normalize(strip_fillers(normalize(text)))
        expanded = norm
        for word, canonical in self.synonyms:
            w, c = normalize(word), normalize(canonical)
            if w and w in norm and c not in expanded:
                expanded += " " + c
        tokens = tokenize(expanded)
        regions = [r for r in REGIONS if r in expanded]
        return Query(text=text, normalized=expanded, tokens=tokens, regions=regions,
                     figure=bool(FIGURE_QUESTION.search(norm)))

    def search(self, text: str, limit: int = 5, kinds: tuple[str, ...] = ("sentence", "faq")) -> tuple[Query, list[Candidate]]:
        query = self.parse(text)
        qtoks = list(dict.fromkeys(query.tokens))
        if not qtoks:
            return query, []
        idf = {t: self.idf(t) for t in qtoks}
        total_idf = sum(idf.values()) or 1.0
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, list[str]] = defaultdict(list)
        for tok in qtoks:
            for i in self.postings.get(tok, ()):
                unit = self.units[i]
                tf = unit.tokens[tok]
                denom = tf + K1 * (1 - B + B * unit.length / self.avgdl)
                scores[i] += idf[tok] * tf * (K1 + 1) / denom
                matched[i].append(tok)
        out = []
        for i, score in scores.items():
            unit = self.units[i]
            if unit.kind not in kinds:
                continue
            coverage = sum(idf[t] for t in matched[i]) / total_idf
            score *= self._boost(query, unit)
            out.append(Candidate(unit, score, coverage, matched[i]))
        out.sort(key=lambda c: (-c.score, -(c.unit.published_at or date.min).toordinal()))
        return query, out[:limit]

    @staticmethod
    def _boost(query: Query, unit: Unit) -> float:
        boost = 1.0
        if unit.kind == "sentence":
            if query.figure:
                boost *= 1.25 if unit.has_figure else 0.7
            if query.regions:
                where = unit.text + unit.region + unit.title
                if any(r in where for r in query.regions):
                    boost *= 1.3
                else:
                    boost *= 0.6
        return boost


def _units(session: Session) -> list[Unit]:
    units: list[Unit] = []
    rows = session.execute(
        select(Passage, Document)
        .join(Document, Passage.document_id == Document.id)
        .where(Document.status == "active", Passage.enabled.is_(True))
        .order_by(Document.id, Passage.seq)
    )
    for passage, doc in rows:
        heading_toks = tokenize(normalize(passage.heading)) if passage.heading else []
        for sent in split_sentences(passage.text):
            toks = tokenize(normalize(sent))
            if not toks:
                continue
            counter = Counter(toks)
            for t in heading_toks:  # the heading says what the sentence is about
                counter.setdefault(t, 1)
            units.append(Unit(
                kind="sentence", text=sent, tokens=counter, length=sum(counter.values()),
                doc_id=doc.id, passage_id=passage.id, title=doc.title, date_label=doc.date_label(),
                published_at=doc.published_at, region=doc.region, heading=passage.heading,
                has_figure=bool(FIGURE.search(normalize(sent))),
            ))
    for faq in session.execute(select(Faq).where(Faq.enabled.is_(True))).scalars():
        for q in [faq.question, *(faq.alt_questions or [])]:
            toks = tokenize(normalize(strip_fillers(normalize(q))))
            if toks:
                units.append(Unit(kind="faq", text=faq.answer, tokens=Counter(toks), length=len(toks),
                                  faq_id=faq.id, question=q))
    return units


_cache_lock = threading.Lock()
_cache: dict[str, tuple[int, Index]] = {}


def get_index(session: Session) -> Index:
    """The index for the current knowledge version, rebuilt when staff changed something."""
    version = kb_version(session)
    key = str(session.get_bind().url)
    with _cache_lock:
        cached = _cache.get(key)
        if cached and cached[0] == version:
            return cached[1]
        add_terms(domain_terms(session))
        synonyms = [(w, c) for w, c in session.execute(select(Synonym.word, Synonym.canonical))]
        index = Index(_units(session), synonyms)
        _cache[key] = (version, index)
        return index
