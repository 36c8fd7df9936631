"""Rules that pull facts and events out of a report's passages.

No model: numbers with units and the words they count, dates with the verb
that makes them an event, names in 《》 and “”, 第N届. Every item keeps the
sentence it came from, so staff can check it against the report, and search
finds the same figures with the same rules (`figures`), so what staff review
is what the bot answers from.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from kb.text import chinese_to_int, leading_noun, split_sentences

UNITS = ("万人次|人次|场次|期次|亿次|万次|万元|亿元|万人|小时|个月|个|家|场|次|人|名|项|篇|条|所|期|批|届|支|座|"
         "处|件|部|种|位|册|份|天|户|台|套|本|门|村|站|元|亩|年|回|单|岁|%")
_NUM = r"\d+(?:\.\d+)?"
_CN_NUM = r"[〇零一二两三四五六七八九十百千]"
# A figure as the report prints it: "148个", "1.7万余家", "20余万人次", "10.4%", "1/3", "第三十五届", "连续三年".
FIGURE = re.compile(
    rf"(?P<ord>第)?(?P<value>(?<![\d./])\d/\d(?![\d./])|{_NUM}|[一二两三四五六七八九十]{_CN_NUM}+|{_CN_NUM}(?=[届年次批期大])"
    r"|首(?=届)"  # "首届": the first edition
    # "四项工程", "两个项目": one numeral before a measure word (not 一: "一个地区、一个产业" counts nothing)
    rf"|[二两三四五六七八九十](?=[项个家名位场所支条篇种座处件户台套本门]))"
    rf"(?P<unit>(?:余|多)?(?:万|亿)?(?:余|多)?(?:{UNITS})|(?<=[一二三四五六七八九十])大(?=[\u4e00-\u9fff]{{2}})"
    # "达到1/3以上": a share written as a fraction has no unit
    rf"|(?<=\d/\d))"
)

# Short names of places the reports speak about, most specific first within each city.
REGION_PARENT = {
    "安州": "绵阳", "游仙": "绵阳", "涪城": "绵阳", "北川": "绵阳", "盐亭": "绵阳", "三台": "绵阳", "江油": "绵阳",
    "梓潼": "绵阳", "平武": "绵阳", "通江": "巴中", "巴州": "巴中", "新津": "成都", "锦江": "成都",
    "蒲江": "成都", "北碚": "重庆", "曲阜": "济宁", "兖州": "济宁", "邹城": "济宁", "微山": "济宁",
    "鱼台": "济宁", "金乡": "济宁", "嘉祥": "济宁", "汶上": "济宁", "泗水": "济宁", "梁山": "济宁", "任城": "济宁",
    "成都": "四川", "绵阳": "四川", "巴中": "四川", "德阳": "四川", "资阳": "四川", "泸州": "四川", "宜宾": "四川",
    "南充": "四川", "达州": "四川", "广安": "四川", "乐山": "四川", "眉山": "四川", "雅安": "四川", "遂宁": "四川",
    "内江": "四川", "自贡": "四川", "攀枝花": "四川", "广元": "四川", "凉山": "四川", "甘孜": "四川", "阿坝": "四川",
    "济宁": "山东",
}
# The other districts and counties of the cities the reports cover (the administrative
# divisions, not knowledge from the reports): a citizen may name only their own district
# ("我在郫都，咱们市…"), and a question about a district the reports never mention must not
# be answered with the whole city's figure.
_OTHER_DISTRICTS = {
    "成都": ("青羊", "金牛", "武侯", "成华", "龙泉驿", "青白江", "新都", "温江", "双流", "郫都", "简阳",
             "都江堰", "彭州", "邛崃", "崇州", "金堂", "大邑"),
    "巴中": ("恩阳", "南江", "平昌"),
}
for _city, _districts in _OTHER_DISTRICTS.items():
    REGION_PARENT.update({d: _city for d in _districts})
# no homophone typo is mended into one of these unless a report names it (kb.search)
ADDED_DISTRICTS = frozenset(d for ds in _OTHER_DISTRICTS.values() for d in ds)
REGIONS = ("四川", "成都", "绵阳", "济宁", "通江", "巴中", "德阳", "资阳", "重庆", "山东", "泸州", "宜宾",
           "南充", "达州", "广安", "乐山", "眉山", "雅安", "遂宁", "内江", "自贡", "攀枝花", "广元",
           "凉山", "甘孜", "阿坝", "江油", "三台", "梓潼", "北川", "平武", "盐亭", "安州", "游仙", "涪城",
           "曲阜", "兖州", "邹城", "微山", "鱼台", "金乡", "嘉祥", "汶上", "泗水", "梁山", "任城",
           "巴州", "新津", "锦江", "蒲江", "北碚", *(d for ds in _OTHER_DISTRICTS.values() for d in ds))
# "咱们市", "我市": the city of the district the citizen names as where they are
_OUR_CITY = re.compile(r"(?:(?:咱们|我们|咱|我)全?市|本市)(?!场)")  # not 我们市场
_DISTRICT = "|".join(sorted((r for r in REGIONS if r in REGION_PARENT and REGION_PARENT[r] not in ("四川", "山东")),
                            key=len, reverse=True))
# where the citizen says they are: "我在郫都", "我是嘉祥的", "我家在江油", "梁山这边" (a bare district is what is
# asked about)
_SPEAKER = re.compile(rf"(?:我(?:是|在|住在?|来自)|我家(?:在|住在?)|来自)(?P<a>{_DISTRICT})(?:市|县|区)?(?:这边|那边|这里|的|人)?"
                      rf"|(?P<b>{_DISTRICT})(?:市|县|区)?(?:这边|那边|这里|的人|人)")
# the rest of a self-introduction, up to where the question starts ("的农民 ", "的老师，")
_INTRO_REST = re.compile(r"[\u4e00-\u9fff]{0,8}?[\s,，。!！;；]+")  # ("我是三台县的农户。想问问…")
PROVINCES = ("四川", "山东", "重庆")
# Unit families: a question that asks "多少人" wants a figure counted in people.
UNIT_CLASSES = {
    "person": ("人次", "人", "名", "位"),
    "money": ("元",),
    "percent": ("%",),
    "times": ("场次", "期次", "次", "场", "回", "期"),
    "edition": ("届",),
    "year": ("年",),
    "day": ("天",),  # "展示了2天": a duration, not a count of things
    "duration": ("小时", "个月"),  # "24小时服务热线"
    "household": ("户",),
    "area": ("亩",),
    "age": ("岁",),
    "weight": ("公斤", "千克", "斤", "吨"),
    "group": ("大",),  # "四大主导优势产业"
}
_CLAUSE = re.compile(r"[，,；;：:。！？!?]")
_LEAD = re.compile(r"^(其中|同时|此外|另外|目前|截至目前|截至\d+月|共|共计|累计|先后|全年|全市|目前已|已|并|还|五年来|八大以来)+")
_YEAR = re.compile(r"(20\d{2})年")
_DATE = re.compile(r"(?:(20\d{2})年)?(\d{1,2})月(\d{1,2})(?:日|号)")
_EVENT_VERB = re.compile(r"(召开|举办|举行|开幕|启动|闭幕|开展|组织)")
_EVENT_NAME = re.compile(
    r"(第[一二三四五六七八九十\d]+届)?[“\"]?([\u4e00-\u9fff\w（）()“”·]{2,30}?"
    r"(大会|论坛|活动周|科普日|大赛|竞赛|比赛|展览|博览会|讲座|培训班|座谈会|总结会|研讨会|交流会|宣讲会|"
    r"培训会|科普活动|宣传周|会议|主场活动|活动))"
)
_SUBJECT = re.compile(r"([\u4e00-\u9fff]{0,8}?(?:科协|学会|政府|公司|集团|村|中心|基地|科技馆|工作队|市|县|区))")


def unit_class(unit: str) -> str:
    """The family of a figure's unit: "万余人" -> person, "余万元" -> money, "个" -> items."""
    core = re.sub(r"^(余|多)?(万|亿)?(余|多)?", "", unit) or unit
    for name, units in UNIT_CLASSES.items():
        if core in units:
            return name
    return "items"


# one administrative level of a report's region: "四川省成都市" -> 四川省, 成都市
ADMIN_PART = re.compile(r"[\u4e00-\u9fff]{2,}?[省市州区县]")
ADMIN_SUFFIXES = "省市区县"


def canonical_region(name: str) -> str:
    """绵阳市 -> 绵阳, 锦江区 -> 锦江, 四川省 -> 四川; one-character stems keep their suffix (沙县)."""
    name = name.strip()
    if len(name) >= 3 and name[-1] in ADMIN_SUFFIXES:
        return name[:-1]
    return name


def regions_in(text: str) -> list[str]:
    """Region names a text mentions, most specific first (district before city before province)."""
    found = [r for r in REGIONS if r in text]
    depth = {r: _depth(r) for r in found}
    return sorted(found, key=lambda r: (-depth[r], text.find(r)))


def our_city(text: str) -> str:
    """Who asks is not what is asked.

    "我在郫都 想问咱们市…" -> " 想问成都…": where the citizen says they live stands for "our
    city". A self-introduction ("我是北川的农民 想问…", "我是绵阳一个学会的老会员，想问问市科协…")
    is dropped, and its place stands for what is asked about, as the city whose association's
    report covers it (北川 -> 绵阳), unless the question itself names a place. Both the search
    (kb.search) and the dialogue (actions.answer) read a question through this."""
    m = _SPEAKER.search(text)
    if m is not None and _OUR_CITY.search(text):
        city = REGION_PARENT[m.group("a") or m.group("b")]
        return _OUR_CITY.sub(city, text[:m.start()] + " " + text[m.end():], count=1)
    start, end, place = _introduction(text, m)
    if end <= start:
        return text
    rest = text[:start] + text[end:]
    return text[:start] + (place + " " if place and not regions_in(rest) else "") + text[end:]


# a citizen saying who they are before asking: "我是绵阳一个学会的老会员，想问问…", "我是高校老师，…"
_WHO_I_AM = re.compile(r"^[\s,，]*(?:你好|您好)?[\s,，]*(?:我|俺)是([^,，。?？!！\s]{0,16}?)的?"
                       r"(?:老|普通|一名|一个)?(?:会员|老师|教师|家长|学生|农民|村民|干部|记者|志愿者|科技工作者|工作者|"
                       r"员工|职工|党员|村干部|研究生|大学生|退休职工|退休人员|辅导员|企业主|老板|工程师)[\s,，]+(?=\S)")


def _introduction(text: str, speaker: re.Match[str] | None) -> tuple[int, int, str]:
    """Where a self-introduction starts and ends, and the place it stands for: a district's city
    ("我是北川的农民 " -> 绵阳), else the place a role's introduction names ("我是绵阳一个学会的老会员，"
    -> 绵阳)."""
    if speaker is not None and speaker.group("a") is not None:
        rest = _INTRO_REST.match(text, speaker.end())  # "…的农民 ": who they are, up to the question
        if rest is not None:
            return speaker.start(), rest.end(), REGION_PARENT[speaker.group("a")]
    m = _WHO_I_AM.match(text)
    if m is None:
        return 0, 0, ""
    named = regions_in(m.group(1))
    return m.start(), m.end(), named[0] if named else ""


def _depth(region: str) -> int:
    d = 0
    while region in REGION_PARENT:
        region = REGION_PARENT[region]
        d += 1
    return d


def ancestors(region: str) -> list[str]:
    out = []
    while region in REGION_PARENT:
        region = REGION_PARENT[region]
        out.append(region)
    return out


def region_of(text: str, doc_region: str) -> str:
    """The most specific place a sentence is about, else the report's."""
    for candidate in (text, doc_region):
        found = regions_in(candidate)
        if found:
            return found[0]
    return ""


@dataclass
class Figure:
    """A figure in a sentence and the words it counts ("label")."""

    text: str  # as printed: "1.7万余家"
    value: str  # digits: "1.7"
    unit: str  # "万余家"
    start: int
    end: int
    label: str  # the words this figure owns: "注册企事业单位"
    clause: str  # the clause it stands in
    ordinal: bool = False
    clause_start: int = 0  # where the clause starts in the sentence

    @property
    def unit_class(self) -> str:
        if "/" in self.value:
            return "percent"  # "1/3以上": a share
        return "ordinal" if self.ordinal else unit_class(self.unit)


def _value(raw: str) -> str | None:
    if raw == "首":
        return "1"  # "首届"
    if raw[0].isdigit():
        return raw
    value = chinese_to_int(raw)
    return None if value is None else str(value)


def figures(sentence: str) -> list[Figure]:
    """Every figure of a sentence with the text it owns.

    A figure owns the words since the previous figure (or the start of its
    clause) and the noun right after it up to "、": in "注册科技工作者14万余人、
    企事业单位1.7万余家" the second figure owns "企事业单位", and in "邀请孙家栋等
    20余名院士、王寿君等1000余名专家" the first owns "院士".
    """
    out: list[Figure] = []
    pos = 0
    for clause in re.split(r"(?<=[，,；;：:。！？!?])", sentence):
        matches = []
        for m in FIGURE.finditer(clause):
            value = _value(m.group("value"))
            if value is None:
                continue
            unit = m.group("unit")
            if not unit and "/" not in value:
                continue  # "2021/22": only a fraction stands without a unit
            if unit == "年" and (m.group("ord") or float(value) >= 1900):
                continue  # a year, not a duration
            if m.group("ord") and not re.search(r"[届批期次个]$", unit):
                continue
            # "2021—2025年": a span of years, not a figure
            if unit == "年" and clause[max(0, m.start() - 1):m.start()] in ("—", "-", "至", "~"):
                continue
            matches.append((m, value, unit))
        for i, (m, value, unit) in enumerate(matches):
            prev_end = matches[i - 1][0].end() if i else 0
            next_start = matches[i + 1][0].start() if i + 1 < len(matches) else len(clause)
            before = clause[prev_end:m.start()]
            if i:  # the previous figure owns what follows it up to "、"
                cut_at = before.find("、")
                before = before[cut_at + 1:] if cut_at >= 0 else before
            after = clause[m.end():next_start]
            after = re.split(r"[、，,；;。！？!?]", after)[0]
            quoted = re.match(r"“([^”]{1,12})”", after)  # "20个“硬核”项目": the quoted word is the noun's
            after = quoted.group(1) + leading_noun(after[quoted.end():]) if quoted else leading_noun(after)
            label = (before + after).strip("，,；;：:。、 ")
            out.append(Figure(
                text=m.group(0), value=value, unit=unit, start=pos + m.start(), end=pos + m.end(),
                label=label, clause=clause, ordinal=bool(m.group("ord")) or m.group("value") == "首", clause_start=pos,
            ))
        pos += len(clause)
    return out


def _metric(label: str) -> str:
    metric = _LEAD.sub("", label)
    for region in regions_in(metric):
        metric = re.sub(rf"{region}(市|县|区|省)?", "", metric)
    metric = re.sub(r"(已达到|已达|达到|达|为|有|超过|近|逾|约)$", "", metric.strip("的等 "))
    return metric.strip("的等 ")


def facts(text: str, *, heading: str = "", doc_region: str = "", scope_region: str = "",
          published_at: date | None = None) -> list[dict[str, Any]]:
    """Figures with what they count, where and when, one per figure of each sentence."""
    out = []
    for sentence in split_sentences(text):
        years = _YEAR.findall(sentence)
        as_of = f"{years[-1]}年" if years else (f"{published_at.year}年" if published_at else "")
        subject_m = _SUBJECT.search(sentence)
        region = region_of(sentence, scope_region or doc_region)
        for fig in figures(sentence):
            if fig.unit == "年" and not re.search(r"连续|连着|已|达|挂包", fig.clause):
                continue  # "五年来" is a time span, not a result
            metric = _metric(fig.label) or heading[:40]
            out.append(dict(
                subject=(subject_m.group(1) if subject_m else region)[:500], metric=metric[:200],
                value=fig.value, unit=("第" if fig.ordinal else "") + fig.unit, region=region,
                as_of=as_of, sentence=sentence,
            ))
    return out


def _to_datetime(year: int, month: int, day: int) -> datetime | None:
    try:
        return datetime(year, month, day, tzinfo=timezone.utc)
    except ValueError:
        return None


def names(text: str) -> list[str]:
    """Names a report sets apart: 《…》 titles, short “…” names and 第N届 editions."""
    out = re.findall(r"《([^》]{2,30})》", text)
    out += [m for m in re.findall(r"“([^”]{2,12})”", text) if not re.search(r"[,，、。]", m)]
    out += re.findall(r"第[一二三四五六七八九十\d]+届[\u4e00-\u9fff]{2,20}?(?:大会|大赛|竞赛|论坛|科普日)", text)
    return out


def events(text: str, *, doc_region: str = "", scope_region: str = "",
           published_at: date | None = None) -> list[dict[str, Any]]:
    """Dated sentences where something was held: "1月26日,省科协召开…总结会"."""
    out = []
    seen: set[str] = set()
    for sentence in split_sentences(text):
        date_m = _DATE.search(sentence)
        if not date_m or not _EVENT_VERB.search(sentence):
            continue
        quoted = re.search(r"(第[一二三四五六七八九十\d]+届)?[“\"]([^”\"]{2,30})[”\"]", sentence[date_m.end():])
        name_m = _EVENT_NAME.search(sentence[date_m.end():]) or _EVENT_NAME.search(sentence)
        if not name_m:
            continue
        title = name_m.group(0).strip("“”\"")
        title = re.sub(r"^.*?(召开|举办|举行|开幕|启动|开展|组织|在)", "", title) or title
        if quoted and quoted.group(2) in title:
            title = (quoted.group(1) or "") + quoted.group(2) + title.split(quoted.group(2), 1)[1].strip("”\"")
        title = title.strip("“”\"，,")
        if title in seen or len(title) < 4:
            continue
        seen.add(title)
        year = int(date_m.group(1)) if date_m.group(1) else None
        month, day = int(date_m.group(2)), int(date_m.group(3))
        if year is None and published_at is not None:
            year = published_at.year if month <= published_at.month else published_at.year - 1
        starts = _to_datetime(year, month, day) if year else None
        kind = "竞赛" if re.search(r"赛", title) else ("会议" if re.search(r"会|论坛", title) else "科普活动")
        place = re.search(r"在([\u4e00-\u9fff]{2,20}?)(召开|举办|举行|启动|开幕)", sentence)
        organiser = re.search(r"([\u4e00-\u9fff]{1,10}科协)(召开|举办|组织)", sentence)
        out.append(dict(
            title=title[:500], kind=kind, starts_at=starts, date_text=date_m.group(0),
            location=place.group(1) if place else "",
            organiser=organiser.group(1) if organiser else "",
            region=region_of(sentence, scope_region or doc_region), description=sentence,
        ))
    return out
