"""Ranking report sentences, their figures and staff answers for a question.

BM25 is computed here, in Python, over jieba tokens, so SQLite and PostgreSQL
rank exactly alike and a score means the same thing on every deployment. The
index lives in memory and is rebuilt when the knowledge version changes, so an
edit in the console reaches every process on its next question.

Ranking is lexical (BM25 on the sentence plus a little of its passage), then
the question's shape decides: a figure question ("多少", "几场") wants a figure
of the right kind (people, money, times...) whose own words match the
question; a place, a year or an edition named in the question must be where the
sentence is about. A candidate that breaks such a constraint stays in the list
(staff see why) but is marked not eligible, and the answer layer never uses it.
"""
from __future__ import annotations

import math
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.db import kb_version
from kb.extract import REGIONS, Figure, ancestors, figures, regions_in
from kb.ingest import HEADING_JOIN, domain_terms, scopes
from kb.models import Document, Fact, Faq, Passage, Synonym
from kb.text import (
    add_terms,
    cut,
    general_word_freq,
    is_token,
    mend_typos,
    normalize,
    person_names,
    pinyin_key,
    split_sentences,
    strip_fillers,
    tokenize,
)

K1, B = 1.2, 0.75
PASSAGE_WEIGHT = 0.3  # how much the rest of the passage (and its heading) adds to a sentence's score
COVERAGE_POWER = 2.0  # the score is BM25 times coverage squared: every word of the question counts
DEMOTE = 0.3  # score factor of a candidate that breaks a constraint of the question

_QUESTION_WORD = re.compile(r"(多少|(?<!哪)几(?![乎])|好多|多大|多长|多久|数量|规模|总数|人数|比例|占比|百分之几|百分比|金额)")
# What kind of figure a question wants, from the words around its question word.
_UNIT_HINTS: list[tuple[str, str]] = [
    (r"百分之几|百分比|比例|占比|几成|%", "percent"),
    (r"多少钱|金额|资金|经费|投资|多少万元|多少元|几万元|收入多少|捐了多少|奖金", "money"),
    (r"第几届|第几批|第几期|第几", "ordinal"),
    (r"几届|多少届", "edition"),
    (r"几户|多少户", "household"),
    (r"多少亩|几亩", "area"),
    (r"多大|几岁|多少岁|年龄", "age"),
    (r"(?:几|多少)(?:人次|个人|人|名|位)|人数|多少万人", "person"),
    (r"(?:几|多少)(?:场次|场|次|回|期)", "times"),
    (r"(?:几|多少)年|哪几年", "year"),
    (r"几大", "group"),
    (r"多长时间|多久|多长", "duration"),
    (r"(?:几|多少)(?:家|所|项|条|篇|支|件|种|批|册|份|单)|(?:几|多少)(?:座|处|部|台|套|本|门|村|站)(?![\u4e00-\u9fff])",
     "items"),
]
# A count of people even when the question says "几个": "来绵阳的院士有几个", "有多少会员".
_PERSON_NOUN = re.compile(r"(院士|专家|人才|志愿者|工作者|村民|学生|干部|人员|选手|会员|群众|农民|代表|带头人|科普员|"
                          r"老师|教师|委员|同志|博士|辅导员|党员|职工|用户)$")
_HOW_TO = re.compile(r"(怎么|如何|怎样|咋|在哪|哪里|去哪)(才能|可以|能)?(注册|报名|申请|参加|下载|登录|加入|联系|办理|使用|用|"
                     r"预约|认证|买|购买|投稿|参观|进|找)")
_PROCEDURE = re.compile(r"(步骤|登录|点击|扫码|网址|下载|电话|热线|报名方式|申请方式|报名时间|报名地址)")
_WHERE_Q = re.compile(r"(在哪|哪里|什么地方|哪儿|在什么地方|哪个城市|地点)")
_HELD_AT = re.compile(r"在[\u4e00-\u9fff·]{2,20}?(举行|召开|举办|开幕|启动|签约)")
_AT_PLACE = re.compile(r"在[\u4e00-\u9fff]{2,12}?(省|市|县|区|镇|村|馆|中心|大厅|学校|中学|大学|基地|园区)")
_DATE_Q = re.compile(r"(哪天|哪一天|什么时候|啥时候|何时|几月几[号日]|几号|哪年|哪一年|什么时间|日期)")
_DAY_Q = re.compile(r"(哪天|哪一天|几月几[号日]|几号|日期)")
_YEAR_Q = re.compile(r"(哪年|哪一年|什么年份|哪个年份|几几年)")
_DAY = re.compile(r"\d{1,2}月\d{1,2}[日号]")
_WHO_Q = re.compile(r"(谁|哪位|什么人|名字)")
_RECENT_Q = re.compile(r"(现在|目前|最新|现任|如今|当前)")
_HAS_DATE = re.compile(r"(\d{1,2}月\d{1,2}[日号]|20\d{2}年|\d{1,2}月)")
_PERSON_HINT = re.compile(r"(书记|主席|院士|部长|主任|馆长|局长|县长|市长|常委|博士|教授|同志|第一书记|记者|负责人)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_MEASURE_WORDS = set("家个场次届项人名条所年月日期位篇部种批支座处件天户台套本门村站元亩回单")


@dataclass
class Unit:
    """One searchable thing: a report sentence (or heading) or a staff Q&A question."""

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
    slug: str = ""
    scope: tuple[str, ...] = ()  # places the sentence is about, most specific first
    norm: str = ""  # normalised text
    context: str = ""  # normalised heading + text: what "matched" means
    figures: list[Figure] = field(default_factory=list)
    passage_index: int = -1
    passage_norm: str = ""  # normalised passage and heading: where a year or an edition may be named
    names: list[str] = field(default_factory=list)  # people the sentence names
    answer: str = ""  # faq: the staff's answer
    updated_label: str = ""


@dataclass
class Candidate:
    unit: Unit
    score: float
    coverage: float  # share of the question's idf mass the unit (and its context) matched, 0..1
    matched: list[str] = field(default_factory=list)
    eligible: bool = True
    why: list[str] = field(default_factory=list)  # boosts and penalties, for `bot kb search`
    figure: Figure | None = None
    label_coverage: float = 0.0  # figure questions: how well the figure's own words match
    bm25: float = 0.0


@dataclass
class Query:
    text: str
    normalized: str
    tokens: list[str]
    regions: list[str]
    figure: bool
    unit_class: str = ""  # person|money|percent|times|edition|ordinal|year|household|area|"" (any)
    qtype: str = "other"  # figure|date|who|where|how|other
    numbers: list[str] = field(default_factory=list)  # figures the question itself names: years, editions
    focus: list[str] = field(default_factory=list)  # the words next to the question word
    counted: bool = False  # the focus follows the question word ("多少个学会"): it names what is counted
    optional: set[str] = field(default_factory=set)  # tokens added by synonyms: they help, never count against
    fixes: list[tuple[str, str]] = field(default_factory=list)  # typos mended
    recent: bool = False
    words: list[str] = field(default_factory=list)  # the question's content words (jieba, precise mode)
    alternatives: dict[str, list[str]] = field(default_factory=dict)  # word -> synonyms the reports use
    raw: str = ""  # normalised question before places lost their suffix ("济宁市科协")


class Index:
    def __init__(self, units: list[Unit], synonyms: list[tuple[str, str]],
                 passages: list[tuple[Counter, int]] | None = None, terms: Iterable[str] = ()) -> None:
        self.units = units
        self.synonyms = sorted(((normalize(w), normalize(c)) for w, c in synonyms), key=lambda p: -len(p[0]))
        self.df: Counter = Counter()
        self.postings: dict[str, list[int]] = defaultdict(list)
        for i, unit in enumerate(units):
            if unit.kind != "sentence":
                continue
            for tok in unit.tokens:
                self.df[tok] += 1
                self.postings[tok].append(i)
        sentences = [u for u in units if u.kind == "sentence"]
        self.n = max(len(sentences), 1)
        self.avgdl = sum(u.length for u in sentences) / self.n if sentences else 1.0
        # passage-level statistics: a sentence borrows a little of its passage's score
        self.passages = passages or []
        self.pdf: Counter = Counter()
        for toks, _ in self.passages:
            self.pdf.update(toks.keys())
        self.pn = max(len(self.passages), 1)
        self.pavgdl = (sum(n for _, n in self.passages) / self.pn) if self.passages else 1.0
        # FAQ statistics are separate: staff answers are matched question to question
        self.faqs = [u for u in units if u.kind == "faq"]
        self.known: set[str] = set(self.df)
        self.corpus_text = "\n".join(u.norm for u in sentences)
        self.vocabulary = self._vocabulary(list(terms))

    # -- vocabulary and typos --------------------------------------------------

    def _vocabulary(self, terms: list[str]) -> dict[str, str]:
        """pinyin -> the one knowledge-base word that sounds like that (ambiguous sounds dropped)."""
        words = {normalize(t) for t in terms} | set(REGIONS) | {w for w, _ in self.synonyms}
        words |= {c for _, c in self.synonyms}
        # only words of this knowledge base, not common Chinese: "有几" must not become "有机"
        words |= {t for t in self.df if len(t) >= 2 and general_word_freq(t) < 500}
        by_key: dict[str, set[str]] = defaultdict(set)
        for w in words:
            if 2 <= len(w) <= 8 and re.fullmatch(r"[\u4e00-\u9fff]+", w):
                by_key[pinyin_key(w)].add(w)
        self.known |= words
        return {k: next(iter(v)) for k, v in by_key.items() if len(v) == 1}

    def idf(self, tok: str) -> float:
        df = self.df.get(tok, 0)
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def pidf(self, tok: str) -> float:
        df = self.pdf.get(tok, 0)
        return math.log(1 + (self.pn - df + 0.5) / (df + 0.5))

    # -- the question ----------------------------------------------------------

    def parse(self, text: str) -> Query:
        norm = normalize(strip_fillers(normalize(text)))
        # "安州区带了几个": the place's suffix would glue to the next word
        raw = norm
        suffix = rf"({'|'.join(REGIONS)})(?:(?:市|县|区)(?![委政])|省(?!科协|委|政))"
        norm = re.sub(suffix, r"\1 ", norm)
        norm, fixes = mend_typos(norm, self.vocabulary, self.known)
        norm = re.sub(suffix, r"\1 ", norm)
        optional: set[str] = set()
        alternatives: dict[str, list[str]] = {}
        for word, canonical in self.synonyms:
            if not word or word not in norm or canonical in norm:
                continue
            if word not in self.corpus_text or canonical in REGIONS:
                norm = norm.replace(word, canonical)  # the reports never say it: replace
            else:
                alternatives.setdefault(word, []).append(canonical)
        expanded = " ".join([norm, *(c for alts in alternatives.values() for c in alts)])
        tokens = tokenize(expanded)
        optional = set(tokens) - set(tokenize(norm))
        words = []
        for w in cut(norm):
            w = w.strip()
            if not is_token(w) or _QUESTION_WORD.fullmatch(w) or (len(w) == 1 and w in _MEASURE_WORDS):
                continue
            if w not in self.df and w not in self.corpus_text:
                w = re.sub(r"^(有|是)|(了|过|着|上|下|到|完|好|起|得|的|啦|吗|呢|吧)$", "", w) or w
            words.append(w)
        for word, alts in list(alternatives.items()):
            for w in words:
                if word in w or w in word:
                    alternatives.setdefault(w, alts)
        regions = regions_in(expanded)
        # a city named with its province ("四川绵阳"): the city is what is asked about
        regions = [r for r in regions if not any(r in ancestors(o) for o in regions)] or regions
        unit_class = ""
        for pattern, name in _UNIT_HINTS:
            if re.search(pattern, expanded):
                unit_class = name
                break
        figure = bool(_QUESTION_WORD.search(expanded)) or unit_class in ("ordinal",)
        focus, counted = _focus(norm)
        if figure and not unit_class and focus and any(_PERSON_NOUN.search(f) for f in focus[-1:] + focus[:1]):
            unit_class = "person"
        if _HOW_TO.search(expanded):
            qtype = "how"
            figure = False
        elif _DATE_Q.search(expanded):
            qtype = "date"
            figure = False
        elif figure:
            qtype = "figure"
        elif _WHO_Q.search(expanded):
            qtype = "who"
        elif _WHERE_Q.search(expanded):
            qtype = "where"
        else:
            qtype = "other"
        numbers = [n for n in _NUMBER.findall(expanded)]
        return Query(text=text, normalized=expanded, tokens=tokens, regions=regions, figure=figure,
                     unit_class=unit_class, qtype=qtype, numbers=numbers, focus=focus, counted=counted,
                     optional=optional, fixes=fixes, recent=bool(_RECENT_Q.search(expanded)),
                     words=list(dict.fromkeys(words)), alternatives=alternatives, raw=raw)

    # -- ranking -----------------------------------------------------------------

    def _bm25(self, qtoks: list[str]) -> tuple[dict[int, float], dict[int, list[str]]]:
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, list[str]] = defaultdict(list)
        for tok in qtoks:
            idf = self.idf(tok)
            for i in self.postings.get(tok, ()):
                unit = self.units[i]
                tf = unit.tokens[tok]
                denom = tf + K1 * (1 - B + B * unit.length / self.avgdl)
                scores[i] += idf * tf * (K1 + 1) / denom
                matched[i].append(tok)
        return scores, matched

    def _passage_scores(self, qtoks: list[str]) -> list[float]:
        out = []
        for toks, length in self.passages:
            s = 0.0
            for tok in qtoks:
                tf = toks.get(tok, 0)
                if tf:
                    s += self.pidf(tok) * tf * (K1 + 1) / (tf + K1 * (1 - B + B * length / self.pavgdl))
            out.append(s)
        return out

    def search(self, text: str, limit: int = 5, kinds: tuple[str, ...] = ("sentence", "faq")) -> tuple[Query, list[Candidate]]:
        query = self.parse(text)
        qtoks = list(dict.fromkeys(query.tokens))
        if not qtoks:
            return query, []
        out: list[Candidate] = []
        if "sentence" in kinds:
            out += self._rank_sentences(query, qtoks)
        if "faq" in kinds:
            out += self._rank_faqs(query, qtoks)
        out.sort(key=lambda c: (not c.eligible, -c.score, -(c.unit.published_at or date.min).toordinal()))
        return query, out[:limit]

    def _weights(self, query: Query, qtoks: list[str]) -> dict[str, float]:
        """idf of each question word: a word the reports never use weighs most."""
        out = {}
        for w in query.words:
            if w in self.df:
                out[w] = self.idf(w)
            else:
                subs = [t for t in tokenize(w) if t in self.df]
                out[w] = max((self.idf(t) for t in subs), default=self.idf(w))
            if len(w) == 1:
                out[w] *= 0.3  # "开", "带": one character says little
        return out

    def hit(self, query: Query, word: str, text: str, partial: bool = True) -> float:
        """1 when the text says the word (or a synonym of it); part of it for part of a long word."""
        if word in text or any(a in text for a in query.alternatives.get(word, ())):
            return 1.0
        if "、" in text and word in text.replace("、", ""):  # "县、区" says "县区"
            return 1.0
        if len(word) >= 4 and partial:
            subs = [t for t in tokenize(word) if len(t) >= 2 and t != word]
            if subs:
                return 0.5 * sum(1 for t in subs if t in text) / len(subs)
        return 0.0

    def _rank_sentences(self, query: Query, qtoks: list[str]) -> list[Candidate]:
        scores, matched = self._bm25(qtoks)
        pscores = self._passage_scores(qtoks) if self.passages else []
        weights = self._weights(query, qtoks)
        total = sum(weights.values()) or 1.0
        # the rarest word of the question that the reports use must be there ("信息学竞赛")
        known_words = [w for w in weights if w in self.df and len(w) >= 3 and not regions_in(w)]
        key = max(known_words, key=lambda w: weights[w]) if known_words else ""
        # sub-words of a longer question word ("天府", "科技" of "天府科技云") are
        # matched when the longer one is
        out = []
        for i, unit in enumerate(self.units):
            if unit.kind != "sentence":
                continue
            base = scores.get(i, 0.0)
            if unit.passage_index >= 0 and pscores:
                base += PASSAGE_WEIGHT * pscores[unit.passage_index]
            if base <= 0:
                continue
            cand = Candidate(unit=unit, score=base, coverage=0.0, matched=matched.get(i, []), bm25=base)
            # a place counts fully when the sentence names it, partly when its article is about it
            # and a word the passage around it says (the meeting a sentence speaks of) counts half
            got = {}
            for w in weights:
                h = self.hit(query, w, unit.context)
                if w in query.regions and w in unit.scope:
                    h = max(h, 0.7)
                elif h < 1.0 and w in unit.passage_norm:
                    h = max(h, 0.5)
                got[w] = h
            cand.coverage = sum(weights[w] * got[w] for w in weights) / total
            cand.matched = [w for w in weights if got[w] >= 1.0]
            if key and got.get(key, 0.0) < 0.5:
                cand.eligible = False
                cand.why.append(f"does not speak of {key}")
            cand.score *= cand.coverage ** COVERAGE_POWER
            self._judge(query, qtoks, weights, cand)
            out.append(cand)
        return out

    def _judge(self, query: Query, qtoks: list[str], weights: dict[str, float], cand: Candidate) -> None:
        """Boosts and constraints from the question's shape; they explain themselves in `why`."""
        unit = cand.unit
        factor = 1.0
        # places, and which level of association
        if query.regions:
            level = _region_match(query.regions, unit)
            if level == "exact":
                factor *= 1.2
                cand.why.append("place ×1.2")
            elif level == "part":
                factor *= 0.8
                cand.why.append("part of the place ×0.8")
            else:
                cand.eligible = False
                cand.why.append(f"not about {'/'.join(query.regions)}")
        # figures the question names (a year, an edition, "前50") must be there: an edition
        # or a year anywhere in the passage (or the report's title), anything else in the sentence
        wide = unit.context + " " + unit.passage_norm + " " + normalize(unit.title)
        missing = []
        for n in query.numbers:
            if re.search(rf"第{re.escape(n)}[届批期]", query.normalized):
                ok = bool(re.search(rf"第{re.escape(n)}[届批期]", unit.context + " " + unit.passage_norm))
            elif re.search(rf"(?<![\d.]){re.escape(n)}年", query.normalized) and len(n) == 4:
                ok = bool(re.search(rf"(?<![\d.]){re.escape(n)}(?![\d.])", wide))
            else:
                ok = bool(re.search(rf"(?<![\d.]){re.escape(n)}(?![\d.])", unit.context))
            if not ok:
                missing.append(n)
        if missing:
            cand.eligible = False
            cand.why.append(f"does not say {','.join(missing)}")
        if query.qtype == "figure":
            best, best_cov = self._best_figure(query, weights, unit)
            if best is None:
                cand.eligible = False
                cand.why.append(f"no {query.unit_class or 'figure'} here")
            else:
                cand.figure, cand.label_coverage = best, best_cov
                factor *= 0.6 + best_cov
                cand.why.append(f"figure {best.text} ({best.unit_class}), its words match {best_cov:.2f}")
        elif query.qtype == "date":
            wants_day = bool(_DAY_Q.search(query.normalized))
            wants_year = bool(_YEAR_Q.search(query.normalized))
            if wants_year:
                if re.search(r"20\d{2}年", unit.text):
                    factor *= 1.3
                    cand.why.append("has a year ×1.3")
                else:
                    cand.eligible = False
                    cand.why.append("no year here")
            elif _DAY.search(unit.text):
                factor *= 1.3
                cand.why.append("has a date ×1.3")
            elif _HAS_DATE.search(unit.text) and not wants_day:
                cand.why.append("has a year or month")
            else:
                cand.eligible = False
                cand.why.append("no date here")
        elif query.qtype == "who":
            if unit.names:
                factor *= 1.5
                cand.why.append(f"names {','.join(unit.names[:3])} ×1.5")
            else:
                cand.eligible = False
                cand.why.append("names nobody")
        elif query.qtype == "where":
            if _HELD_AT.search(unit.text):
                factor *= 2.0
                cand.why.append("says where it was held ×2")
            elif _AT_PLACE.search(unit.text) or any(f"在{r}" in unit.text for r in REGIONS):
                cand.why.append("names a place")
            else:
                cand.eligible = False
                cand.why.append("says no place")
        elif query.qtype == "how":
            if not _PROCEDURE.search(unit.text):
                cand.eligible = False
                cand.why.append("the reports tell no procedure")
        level_clash = _level_clash(query.raw, unit.text) or _title_clash(query.normalized, unit.text)
        if level_clash:
            cand.eligible = False
            cand.why.append(level_clash)
        pairs = _phrase_pairs(query, unit.context)
        if pairs:
            factor *= 1 + 0.15 * min(pairs, 3)
            cand.why.append(f"{pairs} phrase(s) as asked ×{1 + 0.15 * min(pairs, 3):.2f}")
        if not cand.eligible:
            factor *= DEMOTE
        cand.score *= factor

    def _best_figure(self, query: Query, weights: dict[str, float], unit: Unit) -> tuple[Figure | None, float]:
        """The figure of a sentence that answers the question, and how well its own words match.

        The words next to the question word ("受益群众多少") weigh double: they name
        what is counted. A figure alone in its clause ("累计成交307单,逾2000万元")
        counts what the clause before it says.
        """
        content = [t for t in query.words if t not in query.regions and weights.get(t, 0) > 0]
        w = {t: weights[t] * (2.0 if any(t in f or f in t for f in query.focus) else 1.0) for t in content}
        total = sum(w.values()) or 1.0
        best, best_cov = None, 0.0
        for fig in unit.figures:
            if not _compatible(query, fig):
                continue
            label, clause = normalize(fig.label), normalize(fig.clause)
            before = normalize(_previous_clause(unit.text, fig))
            before_weight = 0.8 if len(re.sub(r"[^\u4e00-\u9fff]", "", label)) <= 2 else 0.2
            cov = 0.0
            for t, v in w.items():
                partial = t not in query.focus  # the thing counted must be named, not half of it
                cov += v * max(self.hit(query, t, label, partial), 0.4 * self.hit(query, t, clause, partial),
                               before_weight * self.hit(query, t, before, partial))
            cov /= total
            # the thing counted ("多少个学会") must be named by the figure or its clause
            focus = [t for t in w if t in query.focus] if query.counted else []
            if focus and not any(max(self.hit(query, t, label, False), self.hit(query, t, clause, False),
                                     before_weight * self.hit(query, t, before, False)) > 0 for t in focus):
                continue
            if best is None or cov > best_cov:
                best, best_cov = fig, cov
        if best is not None and best_cov <= 0 and content:
            return None, 0.0
        return best, best_cov

    def _rank_faqs(self, query: Query, qtoks: list[str]) -> list[Candidate]:
        """Staff answers, matched question to question in both directions."""
        out = []
        weights = {t: self.idf(t) for t in qtoks if t not in query.optional}
        total = sum(weights.values()) or 1.0
        for unit in self.faqs:
            hit = [t for t in weights if t in unit.context]
            forward = sum(weights[t] for t in hit) / total
            own = {t: self.idf(t) for t in unit.tokens}
            back_hit = [t for t in own if t in query.normalized]
            backward = sum(own[t] for t in back_hit) / (sum(own.values()) or 1.0)
            coverage = min(forward, backward)
            if coverage <= 0:
                continue
            score = coverage * sum(weights[t] for t in hit)
            out.append(Candidate(unit=unit, score=score, coverage=coverage, matched=hit, bm25=score,
                                 why=[f"staff answer: question matched {forward:.2f}, its words found {backward:.2f}"]))
        return out


def _focus(normalized: str) -> tuple[list[str], bool]:
    """The words right next to the question word: "受益群众多少" -> 受益, 群众."""
    words = cut(normalized)
    idx = next((i for i, w in enumerate(words) if _QUESTION_WORD.search(w)), None)
    if idx is None:
        return [], False
    def useful(w: str) -> bool:
        return is_token(w) and not _QUESTION_WORD.search(w) and not (len(w) == 1 and w in _MEASURE_WORDS)

    # "多少个学会": what follows names the thing counted; "受益群众多少": what precedes
    after = [w for w in words[idx + 1:] if useful(w) and len(w) >= 2 and not w.isdigit()][:1]
    before = [w for w in words[max(0, idx - 3):idx] if useful(w) and w not in REGIONS and len(w) >= 2][-2:]
    return (after, True) if after else (before, False)


def _level_clash(question: str, text: str) -> str:
    """The provincial association asked about, the city's in the text (or the reverse)."""
    if "省科协" in question and "市科协" in text and "省科协" not in text:
        return "about a city's association, not the province's"
    if re.search(r"(市|县|区)科协", question) and "省科协" in text and not re.search(r"(市|县|区)科协", text):
        return "about the provincial association"
    return ""


_TITLE = re.compile(r"(?<!副)(主席|书记|主任|部长|馆长|局长|院长|理事长|秘书长)")


def _title_clash(question: str, text: str) -> str:
    """Asked for the chairman ("主席"), the text only names a vice-chairman ("副主席")."""
    for m in _TITLE.finditer(question):
        if m.group(1) in text and not _TITLE.search(text.replace("第一书记", "")) and "副" not in question:
            return f"names a deputy, not the {m.group(1)}"
        if m.group(1) in text and not re.search(rf"(?<!副){m.group(1)}", text):
            return f"names a deputy, not the {m.group(1)}"
    return ""


def _phrase_pairs(query: Query, context: str) -> int:
    """Neighbouring question words that stand together in the text too ("科协主席")."""
    words = query.words
    return sum(1 for a, b in zip(words, words[1:]) if len(a + b) >= 3 and a + b in context)


def _region_match(regions: list[str], unit: Unit) -> str:
    scope = set(unit.scope) | set(regions_in(unit.text))
    if any(r in scope for r in regions):
        return "exact"
    if any(any(r in ancestors(s) for s in scope) for r in regions):
        return "part"
    return "none"


def _previous_clause(sentence: str, fig: Figure) -> str:
    parts = [p for p in re.split(r"(?<=[，,；;：:])", sentence[:fig.clause_start]) if p]
    return parts[-1] if parts else ""


def _compatible(query: Query, fig: Figure) -> bool:
    kind = fig.unit_class
    if query.unit_class == "ordinal":
        return kind == "ordinal"
    if kind == "ordinal":
        return False
    if query.unit_class == "duration":
        return kind == "year" or fig.unit.endswith(("天", "小时", "个月", "周"))
    if query.unit_class:
        return kind == query.unit_class
    return kind not in ("year",)


# -- building the index from the database ---------------------------------------


def _units(session: Session) -> tuple[list[Unit], list[tuple[Counter, int]]]:
    units: list[Unit] = []
    passages: list[tuple[Counter, int]] = []
    docs = list(session.execute(select(Document).where(Document.status == "active").order_by(Document.id)).scalars())
    facts_by_passage: dict[int, list[Fact]] = defaultdict(list)
    for fact in session.execute(select(Fact).where(Fact.enabled.is_(True)).order_by(Fact.id)).scalars():
        if fact.passage_id is not None:
            facts_by_passage[fact.passage_id].append(fact)
    for doc in docs:
        rows = list(session.execute(
            select(Passage).where(Passage.document_id == doc.id).order_by(Passage.seq)).scalars())
        places = scopes([(p.heading, p.text) for p in rows], doc.region)
        doc_scope = tuple(regions_in(doc.region))
        seen_headings: set[str] = set()
        label = doc.date_label()
        for passage, place in zip(rows, places):
            if not passage.enabled:
                continue
            scope = tuple(dict.fromkeys([place, *ancestors(place), *doc_scope]))
            heading_norm = normalize(passage.heading.replace(HEADING_JOIN, " "))
            heading_toks = tokenize(heading_norm)
            passage_norm = normalize(passage.text)
            ptoks = Counter(tokenize(normalize(passage.text)))
            for t in tokenize(heading_norm):
                ptoks[t] += 1
            passages.append((ptoks, sum(ptoks.values())))
            pidx = len(passages) - 1
            enabled_figures = _enabled_figures(facts_by_passage.get(passage.id, []))
            texts = [(h, True) for h in passage.heading.split(HEADING_JOIN) if h and h not in seen_headings]
            seen_headings.update(h for h, _ in texts)
            texts += [(s, False) for s in split_sentences(passage.text)]
            for sent, is_heading in texts:
                norm = normalize(sent)
                toks = tokenize(norm)
                if not toks:
                    continue
                counter = Counter(toks)
                if not is_heading:
                    for t in heading_toks:  # the heading says what the sentence is about
                        counter.setdefault(t, 1)
                figs = [f for f in figures(sent)
                        if (sent, f.value, ("第" if f.ordinal else "") + f.unit) in enabled_figures]
                units.append(Unit(
                    kind="sentence", text=sent, tokens=counter, length=sum(counter.values()),
                    doc_id=doc.id, passage_id=passage.id, title=doc.title, date_label=label,
                    published_at=doc.published_at, region=doc.region, heading=passage.heading,
                    has_figure=bool(figs), slug=doc.slug, scope=tuple(dict.fromkeys(
                        [*regions_in(sent), *scope])),
                    norm=norm, context=norm + " " + ("" if is_heading else heading_norm),
                    passage_norm=passage_norm + " " + heading_norm,
                    figures=figs, passage_index=pidx, names=person_names(sent),
                ))
    for faq in session.execute(select(Faq).where(Faq.enabled.is_(True)).order_by(Faq.id)).scalars():
        questions = [faq.question, *(faq.alt_questions or [])]
        norm = " ".join(normalize(strip_fillers(normalize(q))) for q in questions)
        toks = tokenize(norm)
        if not toks:
            continue
        when = faq.updated_at or faq.created_at
        units.append(Unit(kind="faq", text=faq.answer, tokens=Counter(toks), length=len(toks),
                          faq_id=faq.id, question=faq.question, norm=norm, context=norm,
                          answer=faq.answer, title="科协工作人员解答",
                          date_label=f"{when.year}年{when.month}月" if when else "",
                          published_at=when.date() if when else None))
    return units, passages


def _enabled_figures(facts: list[Fact]) -> set[tuple[str, str, str]]:
    """The figures of a passage that the facts table holds and staff left on."""
    return {(f.sentence, f.value, f.unit) for f in facts}


_cache_lock = threading.Lock()
_cache: dict[str, tuple[int, Index]] = {}


def build_index(session: Session) -> Index:
    terms = domain_terms(session)
    add_terms(terms)
    synonyms = [(w, c) for w, c in session.execute(select(Synonym.word, Synonym.canonical))]
    units, passages = _units(session)
    return Index(units, synonyms, passages, terms)


def get_index(session: Session) -> Index:
    """The index for the current knowledge version, rebuilt when staff changed something."""
    version = kb_version(session)
    key = str(session.get_bind().url)
    with _cache_lock:
        cached = _cache.get(key)
        if cached and cached[0] == version:
            return cached[1]
        index = build_index(session)
        _cache[key] = (version, index)
        return index
