"""Rules that pull facts and events out of a report's passages.

No model: numbers with units and the clause they stand in, dates with the
verb that makes them an event, names in 《》 and “”, 第N届. Every item keeps the
sentence it came from, so staff can check it against the report.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Any

from kb.text import split_sentences

UNITS = ("万人次|人次|场次|余场|万余人|万余名|亿次|万次|万元|亿元|万人|个|家|场|次|人|名|项|篇|条|所|期|批|届|支|座|"
         "处|件|部|种|位|册|份|天|户|台|套|本|门|村|站|%|余人|余名|余项|余个|余家|余次|余条|余篇|余所")
FIGURE = re.compile(
    rf"(?P<value>\d+(?:\.\d+)?)(?P<unit>(?:余|多)?(?:万|亿)?(?:余|多)?(?:{UNITS}))"
)
REGIONS = ("四川", "成都", "绵阳", "济宁", "通江", "巴中", "德阳", "资阳", "重庆", "山东", "泸州", "宜宾",
           "南充", "达州", "广安", "乐山", "眉山", "雅安", "遂宁", "内江", "自贡", "攀枝花", "广元",
           "凉山", "甘孜", "阿坝", "江油", "三台", "梓潼", "北川", "平武", "盐亭", "安州", "游仙", "涪城",
           "曲阜", "兖州", "邹城", "微山", "鱼台", "金乡", "嘉祥", "汶上", "泗水", "梁山", "任城")
_CLAUSE = re.compile(r"[，,；;：:。！？]")
_LEAD = re.compile(r"^(其中|同时|此外|另外|目前|截至目前|共|共计|累计|先后|全年|全市|目前已)")
_YEAR = re.compile(r"(20\d{2})年")
_DATE = re.compile(r"(?:(20\d{2})年)?(\d{1,2})月(\d{1,2})(?:日|号)")
_EVENT_VERB = re.compile(r"(召开|举办|举行|开幕|启动|闭幕|开展|组织)")
_EVENT_NAME = re.compile(
    r"(第[一二三四五六七八九十\d]+届)?[“\"]?([\u4e00-\u9fff\w（）()“”]{2,30}?"
    r"(大会|论坛|活动周|科普日|大赛|竞赛|比赛|展览|博览会|讲座|培训班|座谈会|总结会|研讨会|交流会|科普活动|宣传周))"
)


def region_of(text: str, doc_region: str) -> str:
    for name in REGIONS:
        if name in text and name not in ("四川", "山东"):
            return name
    for name in REGIONS:
        if name in doc_region and name not in ("四川", "山东"):
            return name
    for name in ("四川", "山东"):
        if name in text or name in doc_region:
            return name
    return ""


def facts(text: str, *, heading: str = "", doc_region: str = "",
          published_at: date | None = None) -> list[dict[str, Any]]:
    out = []
    for sentence in split_sentences(text):
        years = _YEAR.findall(sentence)
        as_of = f"{years[-1]}年" if years else (f"{published_at.year}年" if published_at else "")
        start = 0
        for clause in _CLAUSE.split(sentence):
            for m in FIGURE.finditer(clause):
                if m.group("unit") == "年" or re.match(r"20\d{2}$", m.group("value")):
                    continue
                subject = _LEAD.sub("", clause[: m.start()]).strip() or clause
                metric = clause[m.end():].strip("的") or subject[-8:]
                out.append(dict(
                    subject=subject[:500], metric=metric[:200], value=m.group("value"),
                    unit=m.group("unit"), region=region_of(sentence, doc_region), as_of=as_of,
                    sentence=sentence,
                ))
            start += len(clause) + 1
    return out


def _to_datetime(year: int, month: int, day: int) -> datetime | None:
    try:
        return datetime(year, month, day, tzinfo=timezone.utc)
    except ValueError:
        return None


def events(text: str, *, doc_region: str = "", published_at: date | None = None) -> list[dict[str, Any]]:
    """Dated sentences where something was held: "1月26日,省科协召开…总结会"."""
    out = []
    seen: set[str] = set()
    for sentence in split_sentences(text):
        date_m = _DATE.search(sentence)
        if not date_m or not _EVENT_VERB.search(sentence):
            continue
        name_m = _EVENT_NAME.search(sentence[date_m.end():]) or _EVENT_NAME.search(sentence)
        if not name_m:
            continue
        title = name_m.group(0).strip("“”\"")
        title = re.sub(r"^.*?(召开|举办|举行|开幕|启动|开展|组织|在)", "", title) or title
        if title in seen or len(title) < 4:
            continue
        seen.add(title)
        year = int(date_m.group(1)) if date_m.group(1) else None
        month, day = int(date_m.group(2)), int(date_m.group(3))
        if year is None and published_at is not None:
            year = published_at.year if month <= published_at.month else published_at.year - 1
        starts = _to_datetime(year, month, day) if year else None
        kind = "竞赛" if re.search(r"赛", title) else ("会议" if re.search(r"会|论坛", title) else "科普活动")
        out.append(dict(
            title=title[:500], kind=kind, starts_at=starts, date_text=date_m.group(0),
            region=region_of(sentence, doc_region), description=sentence,
        ))
    return out
