"""From a question to a short, cited reply — or an honest "I don't know".

The reply is the part of a sentence that holds the answer (the figure and the
words it counts), not its paragraph, followed by the report and its date.
Where reports disagree, the newest speaks and the older figure is mentioned.
Below the thresholds the bot says the knowledge base has no answer and the
question goes to the staff's unanswered queue: a wrong figure from a
government body is worse than none.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.db import get_setting, is_current, per_version, session_scope
from kb import gate as kb_gate
from kb.extract import ADMIN_PART, Figure, canonical_region, regions_in
from kb.models import Document, Unanswered
from kb.search import NAME_KINDS, Candidate, Index, Query, get_index
from kb.text import byline_text, normalize, tokenize



@dataclass(frozen=True)
class Thresholds:
    """When the bot may answer. Report sentences: the gate in kb/gate.json, a logistic
    regression fitted with `python -m kb.gate --fit` on the development splits (never on
    the test split; see kb.gate). Staff answers: coverage both ways, question to question."""

    faq: float = 0.6  # staff answers: coverage both ways, question to question
    gate: float | None = None  # the gate's probability threshold; None: the one it was fitted with


THRESHOLDS = Thresholds()
RECENT_RATIO = 0.6  # a newer report's candidate within this share of the best may replace it
MAX_REPLY = 100  # characters of the quoted answer, before the source
MAX_FIGURE_REPLY = 80  # a figure needs its clause and what it counts, not the whole list

# Until staff set "handoff_text" in the console, say only what is true: no contact route is
# configured, and the message is kept in the message log (which staff can read).
DEFAULT_HANDOFF = "人工服务的联系方式还没有设置，我暂时没法为您转人工。您的留言会被记录下来，供科协工作人员查看。"
NO_ANSWER = "抱歉，我的知识库里暂时没有这个问题的答案，不想随便猜给您。"
EXAMPLE_QUESTION = "成都有多少家高校科协"  # offered as an example only while it is answered


@dataclass
class Answer:
    reply: str
    answered: bool
    sources: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    query: Query | None = None
    reason: str = ""  # why it answered or abstained, for staff and `bot kb search`

    def payload(self) -> dict[str, Any]:
        """What an action sends along with the text (the bot turns it into JSON for /api/ask)."""
        return {"answered": self.answered, "sources": self.sources}


def handoff_text(session: Session) -> str:
    return get_setting(session, "handoff_text", DEFAULT_HANDOFF)


def no_answer_text(session: Session) -> str:
    """What to say when the knowledge base has no answer: that, and what it can answer, as
    the reports it holds now say (their places), remade when staff change the reports."""
    return NO_ANSWER + what_it_can_answer(session)


def what_it_can_answer(session: Session) -> str:
    """The sentence the no-answer reply and the default welcome share: the places of the
    reports it holds and, while it is answered, the example question ("" with no reports)."""
    places, example = what_it_covers(session)
    if not places:
        return ""
    hint = f"（比如“{example}”）" if example else ""
    return f"我能回答{places}科协的工作报告和报道里的数据和事情{hint}，包括科普活动、竞赛和平台。"


def what_it_covers(session: Session) -> tuple[str, str]:
    """("成都、绵阳、济宁和四川省", "成都有多少家高校科协"): the places of the active reports, cities
    first, and the example question while it is answered ("" when not); per knowledge version."""
    return per_version(session, "what_it_covers", _what_it_covers)


def _what_it_covers(session: Session) -> tuple[str, str]:
    cities: list[str] = []
    provinces: list[str] = []
    regions = session.execute(select(Document.region).where(Document.status == "active").order_by(Document.id))
    for (region,) in regions:  # "四川省成都市" -> 成都, "四川省成都市高新区" -> 成都, "四川省" -> 四川省
        parts = ADMIN_PART.findall(region or "") or ([region.strip()] if (region or "").strip() else [])
        if not parts:
            continue
        place = next((p for p in reversed(parts) if p[-1] in "市州"), parts[0])  # the city, else the province
        group, name = (provinces, place) if place.endswith("省") else (cities, canonical_region(place))
        if name not in group:
            group.append(name)
    places = cities + provinces
    if not places:
        return "", ""
    listed = places[0] if len(places) == 1 else f"{'、'.join(places[:-1])}和{places[-1]}"
    index = get_index(session)
    query, candidates = index.search(EXAMPLE_QUESTION, limit=30)
    return listed, (EXAMPLE_QUESTION if decide(query, candidates, index).ok else "")


def warm_up(database_url: str, also: Iterable[Callable[[Session], Any]] = ()) -> float:
    """Build the search index and load jieba's dictionaries (words and parts of speech) now.

    Without it the first question after a start pays for them (about 2 s on a 2-core
    machine); a server calls this once at start, in a background thread, so it still
    starts at once. `also`: more per-version builds the process needs (the action server's
    names). Writes nothing. Returns the seconds it took.
    """
    start = time.perf_counter()
    with session_scope(database_url) as session:
        get_index(session)
        what_it_covers(session)  # the no-answer reply's places; with reports, the example question's answer
        for build in also:
            build(session)
        session.rollback()
    return time.perf_counter() - start


def keep_warm_in_background(database_url: str, logger: str, every: float,
                            also: Iterable[Callable[[Session], Any]] = (),
                            stop: threading.Event | None = None) -> threading.Thread:
    """Rebuild the index soon after staff change the knowledge base, off the reply path.

    The index is built per knowledge version (`kb.db.per_version`), and a change made in the
    staff console or the CLI only bumps the version in the database: without this, the first
    citizen to ask afterwards waits for the rebuild (about 2 s) inside WeChat's 5-second
    window. Every `every` seconds this thread reads the version (one small query) and, when
    it changed, builds what `warm_up` builds. A question asked during a rebuild waits for it
    (per_version's lock) rather than building it twice. Stops when `stop` is set.
    """
    stop = stop or threading.Event()
    builds = tuple(also)
    log = logging.getLogger(logger)

    def run() -> None:
        failing = False
        while not stop.wait(every):
            try:
                with session_scope(database_url) as session:
                    stale = not is_current(session, "index")
                    session.rollback()
                if stale:
                    log.info("knowledge base changed: index rebuilt in %.1f s", warm_up(database_url, builds))
                failing = False
            except Exception as exc:  # noqa: BLE001 - a database restarting: try again next time
                if not failing:
                    log.warning("knowledge base refresh skipped: %s", type(exc).__name__)
                failing = True

    thread = threading.Thread(target=run, name="kb-keep-warm", daemon=True)
    thread.start()
    return thread


def warm_up_in_background(database_url: str, logger: str) -> threading.Thread:
    """`warm_up` in a daemon thread, so a server starts at once; a failure (no database yet)
    is logged and the first question builds the index instead."""

    def run() -> None:
        try:
            seconds = warm_up(database_url)
            logging.getLogger(logger).info("knowledge base index ready in %.1f s", seconds)
        except Exception as exc:  # noqa: BLE001
            logging.getLogger(logger).warning("knowledge base warm-up skipped: %s", exc)

    thread = threading.Thread(target=run, name="kb-warm-up", daemon=True)
    thread.start()
    return thread


# -- the quoted part of a sentence ------------------------------------------------

_CLAUSES = re.compile(r"(?<=[，,；;：:。！？!?])")
_DAY = re.compile(r"\d{1,2}月\d{1,2}[日号]")
_YEAR = re.compile(r"20\d{2}年")
_MANNER_SAID = ["方式", "办法", "模式", "机制", "采取", "采用", "通过"]  # what a report says how with


def _clauses(sentence: str) -> list[tuple[int, int, str]]:
    out, pos = [], 0
    for part in _CLAUSES.split(sentence):
        if part:
            out.append((pos, pos + len(part), part))
            pos += len(part)
    return out


def excerpt(sentence: str, words: list[str], figure: Figure | None = None,
            places: list[str] = (), limit: int = MAX_REPLY, when: bool = False,  # type: ignore[assignment]
            kinds: Iterable[str] = (), names: Iterable[str] = (), asked: Iterable[str] = ()) -> str:
    """The clauses of a sentence that answer: the figure's clause first (or the clause that
    says the kind of thing asked for, "哪个栏目" -> the clause with 栏目), then the clauses
    naming the question's place and words, then a short lead ("五年来,"). For a who-question
    (`names`: the people the sentence names) the clause naming the person nearest to that is
    always in: "……承接了…宣讲会" alone does not say who spoke. A clause that names which one of the kind
    of thing asked (`asked`: "什么中药材" -> "种植中药材枳壳510亩") is in wherever it stands."""
    sentence = sentence.strip()
    if len(sentence) <= limit:
        return sentence
    parts = _clauses(sentence)
    norm_parts = [normalize(p) for _, _, p in parts]

    def hits(i: int) -> float:
        return sum(1 for w in words if w in norm_parts[i]) + (0.5 if re.search(r"\d", parts[i][2]) else 0)

    dated = ([i for i, (_, _, p) in enumerate(parts) if _DAY.search(p)]
             or [i for i, (_, _, p) in enumerate(parts) if _YEAR.search(p)])
    if figure is not None:
        core = next((i for i, (s, e, _) in enumerate(parts) if s <= figure.start < e), 0)
    elif when and dated:
        core = max(dated, key=lambda i: (hits(i), -i))
    elif kinds and any(k in n for k in kinds for n in norm_parts):
        core = max((i for i, n in enumerate(norm_parts) if any(k in n for k in kinds)), key=lambda i: (hits(i), -i))
    else:
        core = max(range(len(parts)), key=lambda i: (hits(i), -i))
    named = [i for i, (_, _, p) in enumerate(parts) if any(n in p for n in names)]
    if named and core not in named:
        core, near = min(named, key=lambda i: (abs(i - core), i)), core
    else:
        near = None
    chosen = {core}
    size = len(parts[core][2])

    def add(i: int) -> None:
        nonlocal size
        if i not in chosen and size + len(parts[i][2]) <= limit:
            chosen.add(i)
            size += len(parts[i][2])

    if near is not None:
        add(near)  # what the question matched, next to the person it names
    for i, norm in enumerate(norm_parts):  # "…中药材枳壳…": the kind asked, and which one it is
        if any(re.search(re.escape(a) + r"[\u4e00-\u9fff“《]", norm) for a in asked):
            add(i)
    # the clause before the core often names what is counted ("绵阳市注册科技工作者已达12万余人、")
    for i, norm in enumerate(norm_parts):
        if any(p in norm for p in places) and abs(i - core) <= 2:
            add(i)
    ranked = sorted((i for i in range(len(parts)) if hits(i) >= 1 and abs(i - core) <= 2),
                    key=lambda i: (-hits(i), abs(i - core)))
    for i in ranked:
        add(i)
    if len(parts[0][2]) <= 12:
        add(0)  # "五年来,", "2020年,", "八大以来，": when the figure holds
    # fill in small gaps so the quote reads as one piece
    lo, hi = min(chosen), max(chosen)
    for i in range(lo, hi + 1):
        if i not in chosen and len(parts[i][2]) <= 20:
            add(i)
    text = ""
    prev = None
    for i in sorted(chosen):
        if prev is not None and i != prev + 1:
            text = text.rstrip("，,；;：:") + "……"
        text += parts[i][2]
        prev = i
    text = text.rstrip("，,；;：:、")
    if min(chosen) > 0 and not text.startswith("……") and len(parts[0][2]) > 12:
        text = "……" + text
    if not text.endswith(("。", "！", "？", "……")):
        text += "。" if max(chosen) == len(parts) - 1 else "……"
    return text


# -- conflicting reports ----------------------------------------------------------

_METRIC_NOISE = re.compile(r"(注册|发布|开设|委托|建立|新建|建成|已达|达到|共|累计|已|达|市|县|区|省|等)")


def _metric_tokens(figure: Figure) -> set[str]:
    label = _METRIC_NOISE.sub(" ", normalize(figure.label))
    return {t for t in tokenize(label) if not re.fullmatch(r"[\d.]+", t)}


def _same_measure(a: Candidate, b: Candidate) -> bool:
    """Two figures count the same thing in the same place (from different reports)."""
    if a.figure is None or b.figure is None or a.figure.unit_class != b.figure.unit_class:
        return False
    if not a.unit.scope or not b.unit.scope or a.unit.scope[0] != b.unit.scope[0]:
        return False
    ta, tb = _metric_tokens(a.figure), _metric_tokens(b.figure)
    if not ta or not tb:
        return False
    return ta <= tb or tb <= ta or len(ta & tb) / len(ta | tb) >= 0.5


def _newest(best: Candidate, others: list[Candidate], query: Query) -> tuple[Candidate, Candidate | None]:
    """The candidate from the newest report that says the same kind of thing, and the one it replaces."""
    def when(c: Candidate) -> date:
        return c.unit.published_at or date.min

    if query.qtype == "figure" and best.figure is not None:
        rivals = [c for c in others if c.eligible and c.unit.doc_id != best.unit.doc_id and _same_measure(best, c)
                  and normalize(c.figure.text) != normalize(best.figure.text)]  # type: ignore[union-attr]
        # a newer figure replaces the best only if it answers the question nearly as well: "杰出科技
        # 工作者…8名" is not replaced by a newer report's "注册科技工作者已达12万余人", a tenth of its score
        rivals = [c for c in rivals if when(c) <= when(best) or c.score >= RECENT_RATIO * best.score]
    elif query.qtype == "who" or query.recent:
        rivals = [c for c in others if c.eligible and c.unit.doc_id != best.unit.doc_id
                  and c.score >= RECENT_RATIO * best.score]
    else:
        return best, None
    newer = [c for c in rivals if when(c) > when(best)]
    if newer:
        newest = max(newer, key=lambda c: (when(c), c.score))
        return newest, best
    older = [c for c in rivals if when(c) < when(best)]
    if older:
        return best, max(older, key=lambda c: (when(c), c.score))
    return best, None


# -- the decision -----------------------------------------------------------------


def _source(c: Candidate) -> dict[str, Any]:
    u = c.unit
    if u.kind == "faq":
        return {"title": u.title, "date": u.date_label, "kind": "faq", "faq_id": u.faq_id}
    return {"title": u.title, "date": u.date_label, "kind": "report", "document_id": u.doc_id,
            "passage_id": u.passage_id, "text": u.text}


def _cite(c: Candidate) -> str:
    return f"（来源：《{c.unit.title}》，{c.unit.date_label}）"


@dataclass
class Decision:
    best: Candidate | None  # the candidate the answer would come from
    ok: bool  # the gate trusts it
    reason: str
    margin: float = 0.0
    probability: float = 0.0  # the gate's estimate that answering from `best` is right
    features: dict[str, float] = field(default_factory=dict)


def choose(query: Query, candidates: list[Candidate], index: Index) -> Decision:
    """The candidate to answer from, its lead over a rival answer and the gate's features;
    not yet judged (`ok` is False)."""
    eligible = [c for c in candidates if c.unit.kind == "sentence" and c.eligible]
    if not eligible:
        return Decision(None, False, "no candidate fits the question's place, year or kind of figure")
    best = eligible[0]
    runner = next((c for c in eligible[1:] if _rival(best, c, query)), None)
    margin = (best.score - runner.score) / best.score if runner and best.score > 0 else 1.0
    x = kb_gate.features(index, query, candidates, best, runner, margin)
    return Decision(best, False, "", margin, 0.0, x)


def decide(query: Query, candidates: list[Candidate], index: Index, limits: Thresholds = THRESHOLDS) -> Decision:
    """The candidate to answer from and whether the gate trusts it, with the reason."""
    d = choose(query, candidates, index)
    if d.best is None:
        return d
    gate = kb_gate.load()
    d.probability = gate.probability(d.features)
    t = gate.threshold if limits.gate is None else limits.gate
    d.ok = d.probability >= t
    d.reason = (f"gate {d.probability:.2f} {'≥' if d.ok else '<'} {t} (coverage {d.best.coverage:.2f}, "
                f"margin {d.margin:.2f}; {gate.explain(d.features)})")
    return d


def _rival(best: Candidate, other: Candidate, query: Query | None = None) -> bool:
    """Another candidate that would give a different answer. Not a rival: the same figure
    (in any report), the same measure in an older or newer report (the reply gives both),
    the same person for a "who" question, whoever a report of another date names for it
    (the newest speaks, the older is mentioned), or a sentence that matches only through
    the heading that is the best candidate itself."""
    if _answer_key(other) == _answer_key(best):
        return False
    if best.figure is not None and other.figure is not None and \
            normalize(best.figure.text) == normalize(other.figure.text):
        return False
    if query is not None and query.qtype == "who" and best.unit.names and \
            best.unit.names[0] in other.unit.names and best.unit.names[0] not in query.normalized:
        return False  # (a person the question names is not its answer: "李艳华给谁颁的奖")
    if query is not None and (query.qtype == "who" or query.recent) and other.unit.doc_id != best.unit.doc_id \
            and other.unit.published_at != best.unit.published_at:
        return False  # the same role at another date: the newest speaks, the older is mentioned
    if best.figure is not None and other.unit.doc_id != best.unit.doc_id and _same_measure(best, other):
        return False
    if best.unit.is_heading and best.unit.text in other.unit.heading and best.unit.text not in other.unit.text:
        return False
    if query is not None and query.qtype == "figure" and not query.regions and best.figure is not None and \
            other.figure is not None and not regions_in(best.unit.norm) and regions_in(other.unit.norm):
        return False  # asked of no place: "第二届科创会遴选出的5740个", not a city's part of it ("绵阳…遴选513个")
    if query is not None and query.qtype == "date":
        # a date question: a sentence that gives no date, or the same date, gives no other answer
        theirs, ours = _dates(other.unit.text), _dates(best.unit.text)
        if not theirs or ours <= theirs or (_DAY.search(best.unit.text) and not _DAY.search(other.unit.text)):
            return False  # (nor does one that only names a year when the best gives the day)
        day_of = _DAY_OF.search(best.unit.norm)
        if day_of and day_of.group(1) in query.normalized:
            return False  # "5月30日“全国科技工作者日”当天": the day itself; "5月29日,庆祝…" is a day of events for it
    return True


_DAY_OF = re.compile(r"\d{1,2}月\d{1,2}[日号][“\"]([^”\"]{2,15})[”\"]当天")


def _dates(text: str) -> set[str]:
    """The days (and, without a day, the months and years) a sentence gives: "5月30日" -> 5月30日."""
    days = {m.group(0).replace("号", "日") for m in _DAY.finditer(text)}
    return days or set(re.findall(r"20\d{2}年\d{1,2}月|(?<!\d)\d{1,2}月(?!\d)|20\d{2}年", text))


def _answer_key(c: Candidate) -> str:
    if c.figure is not None:
        return f"{c.unit.doc_id}:{normalize(c.figure.text)}"
    return normalize(c.unit.text)


def answer(session: Session, question: str, *, openid: str = "", intent: str = "",
           record_unanswered: bool = True, index: Index | None = None,
           limits: Thresholds | None = None) -> Answer:
    """Answer a citizen's question from staff Q&A and the reports, or say that it cannot.

    `index` and `limits` are for evaluation and calibration; the bot leaves them out.
    """
    limits = limits or THRESHOLDS
    index = index or get_index(session)
    query, candidates = index.search(question, limit=30)
    shown = candidates[:10]

    faqs = [c for c in candidates if c.unit.kind == "faq"]
    if faqs and faqs[0].coverage >= limits.faq:
        c = faqs[0]
        reply = f"{c.unit.answer}{_cite(c) if c.unit.date_label else ''}"
        return Answer(reply, True, [_source(c)], shown, query, reason=f"staff answer, coverage {c.coverage:.2f}")

    decision = decide(query, candidates, index, limits)
    best, reason = decision.best, decision.reason
    if best is None or not decision.ok:
        if record_unanswered and question.strip():
            top = candidates[0] if candidates else None
            session.add(Unanswered(openid=openid, text=question.strip()[:1000], intent=intent or "",
                                   best_score=round(top.score, 4) if top else None))
            session.flush()
        reply = f"{no_answer_text(session)}{handoff_text(session)}"
        return Answer(reply, False, [], shown, query, reason=reason)

    reply, sources, ordered = compose(query, candidates, best)
    return Answer(reply, True, sources, ordered[:10], query, reason=reason)


def compose(query: Query, candidates: list[Candidate],
            best: Candidate) -> tuple[str, list[dict[str, Any]], list[Candidate]]:
    """The reply for a chosen candidate: its excerpt and source, the newest report first."""
    main, older = _newest(best, [c for c in candidates if c is not best], query)
    words = list(dict.fromkeys([*(t for t in query.tokens if len(t) >= 2), *query.also_asked]))  # (a synonym's words once)
    kinds = [k for k in query.answer_type if k in NAME_KINDS]
    if query.qtype == "other" and query.asks_how:
        kinds += _MANNER_SAID  # "那笔钱是怎么凑起来的": the clause that says how ("采取…的方式")
    text = excerpt(main.unit.text, words, main.figure, query.regions, when=query.qtype == "date",
                   limit=MAX_FIGURE_REPLY if main.figure is not None else MAX_REPLY, kinds=kinds,
                   names=main.unit.names if query.qtype == "who" else (),
                   asked=[k for k in query.answer_type if k not in NAME_KINDS] if query.qtype == "other" else ())
    if main.unit.byline:
        text = f"署名：{byline_text(main.unit.text)}"  # "本报记者 肖小江", "(李加成)": as printed
    elif main.unit.caption and query.qtype == "who":
        text = f"{main.unit.caption}：{text}"  # the caption names the person the sentence speaks of
    reply = text + _cite(main)
    sources = [_source(main)]
    if older is not None:
        said = older.figure.text if (older.figure is not None and main.figure is not None) else \
            excerpt(older.unit.text, words, None, query.regions, limit=60)
        reply += f"较早的《{older.unit.title}》（{older.unit.date_label}）中为：{said.rstrip('。')}。"
        sources.append(_source(older))
    ordered = [main] + [c for c in candidates if c is not main]
    return reply, sources, ordered
