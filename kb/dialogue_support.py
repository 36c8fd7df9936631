"""What the dialogue needs from the knowledge base besides a single answer.

- The names the knowledge base knows (regions, events and competitions,
  platforms), with the forms citizens write (绵阳市, 蓉城, 科创会) mapped to the
  form the reports use. The NLU lookup tables and the jieba dictionary are
  generated from them (bot/nlu_resources.py), so a new report brings its
  names with it; the actions use them to rewrite follow-ups ("那成都呢").
- Which places the reports answer a question for, so that a question that
  names no place, when the places' figures differ, is answered with "which
  city?" instead of one city's figure passed off as the answer.
- An answer that says so when the best passage is about another place than
  the one asked for (成都 asked, only 绵阳's figure found).

Everything goes through kb.search / kb.answer; nothing here ranks on its own.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb import answer as kb_answer
from kb.db import per_version
from kb.extract import ADMIN_PART, ADMIN_SUFFIXES, REGIONS, canonical_region
from kb.ingest import domain_terms
from kb.models import Document, Event, Synonym, Unanswered
from kb.search import get_index

# "成都市锦江区科协", "巴中市通江县委", "(新津区科协)": a district or county of two or
# three characters right after its parent unit or a bracket, before 科协/委/政府; or a
# heading line that is only a place ("锦江区"). Verbs before 市科协 (完善市科协)
# do not match.
_ADMIN_NAME = re.compile(r"(?<=[省市(（])([\u4e00-\u9fff]{2,3}?)([区县])(?=科协|委|政府|人民)"
                         r"|^([\u4e00-\u9fff]{2})([区县市])$", re.MULTILINE)
_NOT_A_PLACE = set("全各本该我市区县省")

EVENT_ENDINGS = ("大会", "大赛", "竞赛", "挑战赛", "杯", "科普日", "活动周", "工作者日", "年会", "论坛",
                 "科技节", "宣传周", "双创周", "科技周")
PLATFORM_HINTS = ("云", "科普中国", "科创中国", "e站", "平台", "app", "科技网", "之家")
_NAME_PREFIX = re.compile(r"^(?:20\d{2}年|第[一二三四五六七八九十\d]+届|首届)+")
_NAME_CHARS = re.compile(r"^[\u4e00-\u9fffA-Za-z0-9·]+$")

# the time words of nlu_data/nlu/regex.yml that name a year or a round
TIME_MENTION = re.compile(r"(20\d{2}年|今年|去年|前年|明年|第[一二三四五六七八九十\d]+届|首届|上届|本届)")
RELATIVE_YEARS = {"今年": 0, "去年": -1, "前年": -2, "明年": 1}

MAX_REGIONS_LISTED = 4


def _clean_name(name: str) -> str:
    """"2020年全国科普日" -> 全国科普日, "第三届天府科技云服务大会" -> 天府科技云服务大会; junk -> ""."""
    name = re.sub(r"^[^\u4e00-\u9fffA-Za-z0-9]+", "", name.strip())
    name = _NAME_PREFIX.sub("", name)
    if not (3 <= len(name) <= 20) or not _NAME_CHARS.match(name):
        return ""
    return name


@dataclass
class Names:
    """Surface form -> canonical form, per entity type."""

    region: dict[str, str] = field(default_factory=dict)
    event: dict[str, str] = field(default_factory=dict)
    platform: dict[str, str] = field(default_factory=dict)

    def kinds(self) -> dict[str, dict[str, str]]:
        return {"region": self.region, "event": self.event, "platform": self.platform}

    def mentions(self, kind: str, text: str) -> list[tuple[int, int, str]]:
        """(start, end, canonical) of each name of this kind in the text, longest form first."""
        table = self.kinds()[kind]
        found: list[tuple[int, int, str]] = []
        taken = [False] * len(text)
        for surface in sorted(table, key=lambda s: (-len(s), s)):
            for m in re.finditer(re.escape(surface), text, flags=re.IGNORECASE):
                if not any(taken[m.start():m.end()]):
                    found.append((m.start(), m.end(), table[surface]))
                    for i in range(m.start(), m.end()):
                        taken[i] = True
        return sorted(found)

    def regions_in(self, text: str) -> list[str]:
        """Canonical regions a text names, in the order it names them."""
        out: list[str] = []
        for _, _, canonical in self.mentions("region", text):
            if canonical not in out:
                out.append(canonical)
        return out


def _synonyms(session: Session, kind: str) -> list[tuple[str, str]]:
    return list(session.execute(select(Synonym.word, Synonym.canonical).where(Synonym.kind == kind)))


def region_names(session: Session) -> dict[str, str]:
    texts = [t for (t,) in session.execute(select(Document.text).where(Document.status == "active"))]
    doc_regions = [r for (r,) in session.execute(select(Document.region).where(Document.status == "active"))]
    corpus = "\n".join(texts)
    canon: set[str] = set(REGIONS)
    forms: dict[str, str] = {}
    for region in doc_regions:
        for part in ADMIN_PART.findall(region or ""):
            canon.add(canonical_region(part))
            forms[part] = canonical_region(part)
    for m in _ADMIN_NAME.finditer(corpus):
        stem, suffix = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        if not (set(stem) & _NOT_A_PLACE):
            canon.add(stem)
            forms[stem + suffix] = stem
    for stem in canon:
        forms.setdefault(stem, stem)
        for suffix in ADMIN_SUFFIXES:  # 通江县, 四川省: the forms the reports write
            if stem + suffix in corpus:
                forms.setdefault(stem + suffix, stem)
    for word, canonical in _synonyms(session, "region"):
        target = canonical_region(canonical)
        forms[word] = target
        forms.setdefault(canonical, target)
    return forms


def _named(session: Session, kind: str, accept) -> dict[str, str]:  # noqa: ANN001
    forms: dict[str, str] = {}
    for term in domain_terms(session):
        name = _clean_name(term)
        if name and accept(name) and (name == term.strip() or len(name) >= 4):  # not "@ 活动周" -> 活动周
            forms.setdefault(name, name)
    for word, canonical in _synonyms(session, kind):
        forms[word] = canonical
        forms.setdefault(canonical, canonical)
    return forms


def _is_event(name: str) -> bool:
    return name.endswith(EVENT_ENDINGS)


def _is_platform(name: str) -> bool:
    return not _is_event(name) and len(name) <= 12 and any(h in name.lower() for h in PLATFORM_HINTS)


def event_names(session: Session) -> dict[str, str]:
    forms = _named(session, "event", _is_event)
    for (title,) in session.execute(select(Event.title).where(Event.enabled.is_(True))):
        name = _clean_name(title or "")
        if name and 4 <= len(name) <= 15:
            forms.setdefault(name, name)
    return forms


def platform_names(session: Session) -> dict[str, str]:
    return _named(session, "platform", _is_platform)


def names(session: Session) -> Names:
    return Names(region=region_names(session), event=event_names(session), platform=platform_names(session))


def cached_names(session: Session) -> Names:
    """names(), rebuilt when the knowledge version changes (a new report, a staff synonym)."""
    return per_version(session, "names", names)


# --- follow-ups ------------------------------------------------------------------------------------


def resolve_relative_year(word: str, today: date) -> str:
    """去年 -> "2025年" in 2026: the reports speak in years, not in 去年."""
    if word in RELATIVE_YEARS:
        return f"{today.year + RELATIVE_YEARS[word]}年"
    return word


def rewrite_question(previous: str, names_: Names, *, regions: list[str] = (), times: list[str] = (),
                     events: list[str] = (), platforms: list[str] = (), today: date | None = None) -> str:
    """The previous question asked again with what the follow-up changed.

    "绵阳有多少个科普e站" + 成都 -> "成都有多少个科普e站"; a new year replaces the old one
    ("2020年" + 去年 -> "2025年"); a name the previous question did not have goes in front.
    """
    question = previous
    for kind, new_values in (("region", regions), ("event", events), ("platform", platforms)):
        for new in new_values:
            old = names_.mentions(kind, question)
            if old:
                start, end, _ = old[0]
                question = question[:start] + new + question[end:]
            elif new not in question:
                question = f"{new}{question}"
    for new in times:
        new = resolve_relative_year(new, today or date.today())
        old = TIME_MENTION.search(question)
        if old:
            question = question[:old.start()] + new + question[old.end():]
        elif new not in question:
            question = f"{new}{question}"
    return question


# --- which places the reports answer for -------------------------------------------------------------


def _source_regions(session: Session, result: kb_answer.Answer, names_: Names) -> tuple[list[str], str]:
    """(places the answer's passage names, the most specific place of its report)."""
    source = result.sources[0] if result.sources else {}
    named = names_.regions_in(source.get("text") or "")
    doc = session.get(Document, source["document_id"]) if source.get("document_id") else None
    doc_regions = names_.regions_in(doc.region if doc is not None else "")
    return named, (doc_regions[-1] if doc_regions else "")


def _is_report_answer(result: kb_answer.Answer) -> bool:
    return bool(result.answered and result.sources and result.sources[0].get("kind") == "report")


def regions_answering(session: Session, question: str, names_: Names, limit: int = 5) -> list[str]:
    """The places the reports answer this question for, in the order the search found them.

    The search's candidates suggest the places; each is then asked for
    ("成都" + question) through kb.answer itself and kept only when the answer
    is about that place. Empty when the question gets a staff answer (FAQ).
    """
    plain = kb_answer.answer(session, question, record_unanswered=False)
    if plain.answered and plain.sources and plain.sources[0].get("kind") == "faq":
        return []
    _, candidates = get_index(session).search(question, limit=20)
    suggested: list[str] = []
    for c in candidates:
        named = names_.regions_in(c.unit.text)
        doc = names_.regions_in(c.unit.region or "")
        for region in (named[:1] or doc[-1:]):
            if region not in suggested:
                suggested.append(region)
    found: list[str] = []
    for region in suggested[:limit]:
        result = kb_answer.answer(session, f"{region}{question}", record_unanswered=False)
        if _is_report_answer(result):
            named, doc_region = _source_regions(session, result, names_)
            if region in named or (not named and region == doc_region):
                found.append(region)
    return found


def which_region_reply(regions: list[str]) -> str:
    listed = "、".join(regions[:MAX_REGIONS_LISTED])
    return f"各地的数据不一样，知识库里有{listed}的。您想了解哪里的？回复地名就行，比如“{regions[0]}”。"


def answer_for_region(session: Session, question: str, asked: list[str], names_: Names, *,
                      openid: str = "", intent: str = "") -> kb_answer.Answer:
    """kb.answer.answer, but a passage about another place is not passed off as the answer.

    When the question names places and the passage found is about none of
    them, the reply says the knowledge base has nothing for the place asked,
    shows (labelled) what it found for the other place, and the question goes
    to the staff's unanswered queue.
    """
    result = kb_answer.answer(session, question, openid=openid, intent=intent)
    if not asked or not _is_report_answer(result):
        return result
    named, doc_region = _source_regions(session, result, names_)
    if set(asked) & (set(named) | {doc_region}):
        return result
    other = (named or [doc_region])[0] or "其他地方"
    if question.strip():  # the staff's queue: 成都 asked, only 绵阳 known
        session.add(Unanswered(openid=openid, text=question.strip()[:1000], intent=intent or ""))
        session.flush()
    reply = f"抱歉，知识库里暂时没有{'、'.join(asked)}的这项数据。我查到的是{other}的：{result.reply}"
    return kb_answer.Answer(reply=reply, answered=False, sources=result.sources, candidates=result.candidates,
                            query=result.query)
