"""Chinese text handling shared by building and searching.

Questions and reports go through the *same* normalisation and tokenisation, so
that "十五家", "１５家" and "15家" meet in the index, whatever the writer typed.
Citizens type on phones: homophone typos ("棉阳" for 绵阳, "科写" for 科协) are
mended against the knowledge base's own vocabulary by pinyin, never guessed
from a general dictionary.
"""
from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from pathlib import Path
from typing import Iterable

import jieba
from pypinyin import lazy_pinyin

jieba.setLogLevel(logging.WARNING)

_NUMERALS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
             "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
# A run of Chinese numerals is only converted when it is clearly a number: two
# or more characters ("十五", "二十一"), or one character before a measure word
# ("三届", "五年"). "统一", "一些" and "一下" stay words.
_MEASURE = "家个场次届项人名条所年月日期位篇部种批支座处件万亿天周回户元成"
_NUM_RUN = re.compile(rf"[零〇一二两三四五六七八九十百千]{{2,}}|(?<![哪这那每同单唯统])[一二两三四五六七八九十](?=[{_MEASURE}])")
# Idioms and names that look like numbers but are words.
_NOT_NUMBERS = ("千方百计", "一一", "一五一十", "三三两两", "十全十美", "百花齐放", "千千万万", "一二三",
                "几十", "几百", "几千", "几万", "上一届", "上一年", "下一届",
                "十三五", "十四五", "十五五")  # "几十次吗": a question, not a figure

# Filler a citizen adds that carries no meaning for search.
_FILLERS = re.compile(
    r"(请问一下|请问|问一下|问下|想问一下|想问下|想问|想知道|我想了解|了解一下|麻烦问下|麻烦|"
    r"你好|您好|哈喽|谢谢|告诉我|知道吗|一下|"
    # an official's courtesy: "烦请告知…", "请提供…的相关数据"
    r"烦请告知|烦请|敬请告知|请告知|请提供|请予告知|相关数据|相关情况|具体情况|"
    # when-ish asides of a figure question: "全国科普日那段时间全市搞了多少场"
    r"那段时间|这段时间|那段日子)"
)

SENTENCE_END = "。！？!?；;"
_SENT_SPLIT = re.compile(r"(?<=[。！？!?；;])(?![”’」』\"）)])|(?<=[。！？!?；;][”’」』\"）)])")
CLAUSE_PUNCT = "，,；;：:。！？!?"

STOPWORDS = frozenset(
    """的 了 是 在 和 与 及 等 有 吗 呢 啊 呀 吧 嘛 哦 么 什么 怎么 怎么样 怎样 如何 多少 几 哪 哪些 哪里 哪个
    我 你 他 她 它 我们 你们 他们 这 那 这个 那个 个 也 都 就 还 又 而 并 对 从 把 被 为 以 于 之 其 或
    年来 来 中 上 下 里 过 到 给 让 说 要 会 能 可以 一 共 共计 累计 请 问 下 次 呀 啦 着 地 得 所 向
    啥 咋 嘞 哈 呗 咧 哇 喔 噢 嗯 诶 谁 哪儿 哪天 何时 多久 多大 几个 几家 几场 几次 几回 几项 几名 几位 几届
    几年 几条 几所 几人 好多 多少次 多少场 多少家 多少项 多少名 多少位 多少条 多少篇 多少钱 一共 总共 总计 到底
    究竟 大概 大约 左右 是不是 有没有 是否 没有 知道 一些 这些 那些 现在 目前 已经 都是 搞 弄 整 干 过去 跟
    个人次 请教 咨询 具体 情况 方面 相关 以及 还是 或者 然后 那么 这么 这样 那样 么样 一个 啊啊 么么
    哪几 哪几个 几名 多少个 多少人 几人 年 市 县 区 省 月 日 号 里面 属于 有关 关于 哪一 哪一个 哪一年 去 来 呀 哎 名字 叫 叫什么 姓名 哪位 什么样 时候 百分 百分之 百分比
    为什么 次数 个数 哪几天 哪家 哪所 哪种 哪两个 哪几家 哪一家 咋样 啥样 几天 多少天
    以前 之前 原来 曾经 当时 那时 以往 从前 没 了没 没呢
    为了 几句话 哪几句 几句 第几 第几个 第几届 第几次 第几名 第几位 老几
    """.split()
)

# Words of chat, not of the question: who is spoken to, who speaks, when-ish and how-ish
# ("小编", "咱们", "这几年", "来着"). Reports never need them, so a sentence that lacks them
# has not missed anything. Only a question's content words are filtered with them; the
# reports' own statistics keep them.
QUESTION_NOISE = frozenset(
    """小编 亲 咱们 咱 们 儿 名儿 的话 这边 那边 这里 那里 这阵子 那阵子 近年 近年来 第
    一直 总共是 一共是 大伙 大家 人家 听说 据说 好像 似乎 应该 到底是 具体是 打听 打听打听 问问 请教一下
    打扰 打扰一下 来着 着呢 所在 老说 常说 算是 点名 提到 新闻 报道里
    里头 那种 这种 那次 那回 那批 这回 上头 咋个 啥子 一摊子 那一摊子 晓得 莫得 要得 嘛 那篇 这篇 那份 这份
    就是 也就是 看看 专门 很多 比较 举个 例子 我要 大不大 数就行 数据
    些 想 起来 是指 指 报道 印象 印象里 印象中 记得 我记得
    就是说 然后 嗯 呃 额 那个啥
    """.split()
)

# Everyday words and the report words that say the same thing. Citizens ask
# "谁领队", the report writes "率"; "被授予什么称号", the report "表彰为". General
# Chinese, not a list per question: a question word that is in one family may be
# met by any other member of it (partly: a related word is weaker evidence than
# the word itself, see kb.search.RELATED_HIT).
RELATED_FAMILIES: tuple[tuple[str, ...], ...] = (
    ("举办", "举行", "召开", "开展", "组织", "承办", "主办", "办", "搞", "开", "办了"),
    ("评为", "表彰为", "授予", "获评", "荣获", "评选为", "命名为", "认定为", "被评", "表彰", "表扬", "评上", "夸奖", "嘉奖", "评"),
    ("称号", "荣誉", "殊荣", "荣誉称号", "头衔", "名号", "名头"),
    ("率", "带队", "领队", "带领", "率队", "领着", "带着", "领头", "带头"),
    ("参加", "参与", "出席", "参会", "到会", "参赛", "到场", "露面"),
    ("建立", "建成", "创建", "新建", "设立", "成立", "建设", "创办", "组建", "开设", "建", "建了", "搭建", "建起",
     "修建"),
    ("邀请", "请", "聘请", "请来", "引进", "引入", "找来"),
    ("柔性", "灵活", "不调关系", "不转关系"),
    ("最近", "近日", "近期", "日前"),
    ("站点", "工作站"),  # 站点 may be either, but a 工作站 is no 服务站: families of their own
    ("站点", "服务站"),
    ("站点", "站"),  # "带e字的科普小站点": 科普e站
    ("交流会", "交流活动", "研讨会", "学术交流"),
    ("应急", "临时", "突发"),
    ("学术", "学问"),
    ("打算", "计划", "下一步", "准备"),
    ("推荐", "举荐", "推选", "选派", "选送"),
    ("获得", "获", "斩获", "取得", "荣获", "赢得", "拿到", "拿了", "得到", "拿", "得奖", "获奖", "拿奖"),
    ("遴选", "选出", "评选", "选拔", "挑选", "精选", "征集", "选了", "选", "挑", "筛选", "挑出", "挑出来", "选出来"),
    ("投资", "投入", "出资", "总投资", "出钱", "掏钱", "投钱"),
    ("携", "携带", "带去", "带了", "带来"),
    ("捐", "捐助", "捐赠", "捐款", "捐了", "捐钱", "捐献", "捐物", "募捐"),
    ("培训", "培养", "授课", "讲座", "辅导", "培训班", "培育", "讲课", "上课", "办班"),
    ("调研", "考察", "走访", "参观", "交流", "视察"),
    ("发布", "推出", "上传", "公布", "推送", "发了", "发", "公开", "贴出"),
    ("签订", "签署", "签约", "签了", "签", "签合同"),
    ("开通", "开设", "上线"),
    ("受益", "惠及", "受惠", "获益", "沾光", "好处"),
    ("接待", "接纳", "迎接", "招待"),
    ("演出", "表演", "上演", "演了", "演", "巡演", "汇演"),
    ("讲话", "发言", "致辞", "强调", "指出", "表示"),
    ("群众", "居民", "市民", "村民", "老百姓", "公众", "百姓", "民众", "大众", "乡亲", "乡亲们"),
    ("企业", "公司", "厂子", "厂家", "工厂", "企事业单位"),
    ("比例", "占比", "比率", "百分比"),
    ("资金", "经费", "金额", "钱", "费用", "款项", "拨款"),
    ("比赛", "竞赛", "大赛", "赛事", "比拼", "挑战赛"),
    ("考核", "考评", "测评", "评价", "打分", "评分"),
    ("排名", "位居", "位于", "排进", "进入", "进了", "排"),
    ("注册", "登记", "入驻"),
    ("带动", "帮助", "促成", "帮忙", "协助"),
    ("增长", "提高", "提升", "增加", "涨", "多了", "上升", "上涨", "增多", "变多", "增幅"),
    ("上届", "上一届", "去年", "上年", "上一年"),
    ("连续", "一连", "连着", "接连", "连年", "年年"),
    # what the reports did, in the words a parent, villager or clerk types
    ("挖掘", "挖出来", "挖出", "发掘", "找出"),
    ("入选", "选中", "上榜", "入围"),
    ("征集", "收集", "搜集", "征求"),
    ("入驻", "进驻", "住进", "上架"),
    ("筹集", "筹", "凑", "募集", "筹措", "凑钱", "筹钱", "筹资", "凑齐"),
    ("颁奖", "发奖", "授奖", "颁发"),
    ("涵盖", "涉及", "包括", "包含", "囊括"),
    ("走访", "拜访", "上门", "登门", "看望", "探望", "慰问", "跑"),  # "往企业跑了多少趟": 走访企业
    ("入户", "上门", "挨家挨户", "走家串户"),
    ("上传", "传上去"),
    ("收入", "挣", "赚", "挣钱", "赚钱", "进账", "收益", "能收", "收", "年收入"),  # "一亩地能收好多钱": 每亩收入
    ("获批", "批下来", "批准", "批了"),  # "高级职称都批下来了吗": 全部获批
    ("增收", "多赚", "增加收入"),
    ("分红", "分钱", "红利"),
    ("种植", "栽种", "栽", "种地"),
    ("开垦", "开荒", "垦荒"),
    ("撂荒地", "荒地", "撂荒", "荒田"),
    ("流转", "租地", "租用", "承包"),
    ("贫困户", "穷人", "困难户", "贫困家庭"),
    ("贫困村", "穷村"),
    ("脱贫", "脱贫摘帽", "摘帽"),
    ("帮扶", "扶贫", "挂包", "包村", "对口帮扶", "对口帮", "对口", "结对", "结对帮扶"),
    ("驻村", "蹲点"),
    ("回引", "回乡", "回村"),
    ("务工", "外出务工", "打工"),
    ("青壮年", "壮劳力"),
    ("老人", "老年人"),
    ("工资", "工钱", "薪水", "薪资"),
    ("受灾户", "受灾", "遭灾", "灾民"),
    ("大病", "重病"),
    ("分配", "分给"),
    ("产值", "产出", "营业额"),
    ("村集体", "村级集体经济", "集体经济", "村集体经济"),  # "村集体一年收入"
    ("具备", "够得", "够得上", "达标"),  # "够得上科学素质标准的占好多": 具备科学素质的比例
    ("人均", "每人"),
    ("每亩", "一亩"),
    ("中药材", "药材", "中草药", "草药"),
    ("食用菌", "蘑菇", "菌子", "菌菇"),
    ("果蔬", "水果", "蔬菜", "瓜果", "蔬果"),
    ("蛋鸡", "养鸡", "母鸡"),
    ("水电路网", "路网", "修路"),
    ("科服保姆", "保姆式", "保姆"),  # the 科服保姆 give the 保姆式 service
    # who
    ("科技工作者", "科研人员", "科技人员", "科技人才", "科技界", "科研"),  # "搞科研的人"
    ("青少年", "中小学生", "中小学", "学生", "少年", "孩子", "小孩", "小孩子", "娃娃", "娃", "娃儿", "小朋友"),
    ("学校", "中小学校", "中小学", "校园"),
    ("学校", "高校"),  # "多少所学校参赛": 71所参赛高校
    ("高校", "大学", "高等院校", "高等学校"),
    ("科研院所", "院所", "科研单位", "科研机构"),
    ("辅导员", "科技辅导员", "老师", "教师", "指导老师"),
    ("农民", "农户", "庄稼人", "老乡", "种地"),
    ("专家", "教授", "大牛"),
    ("人才", "顶尖人才", "大牛", "牛人"),  # "请了几个行业大牛": 4名行业顶尖人才
    ("带头人", "领头人", "领头羊", "能人", "领路人"),
    ("志愿者", "义工"),
    ("负责人", "管事", "头头", "头儿"),
    ("主席", "会长"),
    ("干部", "干部职工", "工作人员", "职工"),
    ("医务", "医生", "大夫", "医护", "医务人员"),
    ("服刑人员", "犯人", "罪犯", "囚犯"),
    ("选手", "参赛选手", "参赛人员"),
    ("参赛队伍", "参赛队", "战队"),
    # what and where
    ("科技馆", "科普场馆", "科学馆", "科普馆"),
    ("品牌", "牌子", "招牌", "金字招牌"),  # "叫得响的科普活动牌子": 活动品牌
    ("技术难题", "科技难题", "难题", "科技需求", "技术需求"),  # "给企业看技术难题": 开展科技需求问诊
    ("党组织", "党委", "中共"),  # "给科技社团成立的党组织叫什么": “中共成都市科学技术协会科技社团委员会”
    ("科普大篷车", "大篷车"),
    ("公众号", "微信公众号", "公号"),
    ("服务热线", "热线", "热线电话"),
    ("心理援助", "心理咨询"),
    ("疫情", "新冠", "新冠肺炎", "新型冠状病毒", "抗疫", "防疫"),
    ("防震", "地震"),
    ("药物", "药品"),
    ("海外", "国外", "境外"),
    ("年龄", "岁数", "年纪"),
    ("农技协", "农协", "专业技术协会"),
    ("学会", "协会", "学术团体", "研究会"),  # "所属学(协)会": a citizen calls a 学会 a 协会
    ("园区", "产业园", "工业园"),
    ("社区", "小区"),
    ("公民", "老百姓", "百姓"),  # "老百姓里够得上科学素质标准的": 公民具备科学素质的比例
    ("读物", "图书", "书籍", "刊物"),
    ("资料", "传单", "小册子"),
    ("推文", "文章", "帖子"),
    ("专题片", "纪录片", "片子"),
    ("电视台", "电视"),
    ("报纸", "日报", "报社"),
    ("协议", "合同", "合约"),
    ("难题", "技术难题", "难处", "卡脖子"),
    ("倡议书", "倡议", "号召", "呼吁"),
    ("奖项", "奖励", "大奖"),
    ("国家标准", "国标"),
    ("科技大学", "科大"),  # "西南科大": 西南科技大学
    ("职称", "专业技术职称", "高级职称"),
    ("飞行器", "航模"),
    ("信息学", "信息学竞赛", "编程", "信奥"),
    ("人工智能", "ai"),
    ("诺贝尔奖", "诺贝尔", "诺奖"),
    ("示范", "样板", "标杆"),
    ("座谈会", "座谈", "茶话会"),
    ("开会", "会议", "召开"),
    ("线上", "网上", "在线"),
    ("网站", "官网", "门户网站", "网页"),
    ("科学素质", "科学素养"),
    # doing
    ("阅读", "阅读总量", "浏览", "浏览量", "点击"),
    ("排查", "筛查"),
    ("申请", "申报"),
    ("提拔", "升职", "晋升", "升官", "提职"),
    ("换届", "换届选举"),
    ("整改", "整顿", "整治"),
    ("巡察", "巡视"),
    ("廉洁", "廉政", "反腐", "反腐败", "清廉"),
    ("监狱", "牢房", "大牢"),
    ("参展", "展出", "展示", "展览", "亮相", "展了"),  # "展区展了几天": 进行了2天的集中展示
    ("推介", "路演"),
    ("对接", "撮合", "牵线", "搭桥", "牵线搭桥", "配对", "匹配"),
    ("成交", "谈成", "做成", "成单"),
    ("落地", "落户", "安家"),
    ("开发", "研发", "研制"),
    ("解决", "搞定", "攻克", "破解"),
    ("节约", "节省", "省钱"),
    ("检索", "查询", "搜索"),
    ("制定", "制订", "起草", "编制", "出台"),
    ("印发", "编印", "下发"),
    ("分享", "转发"),
    ("刊登", "登报", "刊发", "见报"),
    ("拍摄", "录制"),
    ("启动", "开幕", "揭幕", "开启", "开场"),
    ("揭牌", "挂牌", "授牌"),
    ("领先", "前列", "名列前茅", "数一数二"),
    ("下降", "降到", "降低", "减少", "下滑"),
    ("率先", "最早", "首个"),
    ("推广", "推开", "铺开"),
    ("肯定", "认可", "好评", "赞扬", "称赞", "点赞", "夸赞", "夸奖"),
    ("咨询", "解答", "问诊"),
    ("合作", "联手", "携手", "协作"),
    ("扶持", "资助", "补贴", "补助"),
    ("讨论", "商量", "商议", "探讨"),
    ("发动", "动员", "鼓动"),
    ("预计", "估计", "预期"),
    ("开工", "动工", "开建"),
    ("发放", "分发", "派发", "赠送", "送出"),
    ("牵头", "主导", "挑头"),
    ("新增", "新加", "新添", "增设"),
    ("发布", "发出", "挂出", "贴出"),
)
_RELATED: dict[str, tuple[str, ...]] = {}
for _family in RELATED_FAMILIES:
    for _word in _family:
        _RELATED[_word] = tuple(dict.fromkeys((*_RELATED.get(_word, ()), *(w for w in _family if w != _word))))


# heads of a body ("党组书记、副主席毛大付"): kb.search reads a question about a post with them
POSTS = "主席|书记|主任|部长|馆长|局长|院长|理事长|秘书长|组长|会长|校长|所长|站长|村长|队长"
# a word any of these says, though none of them says another: "哪个大领导讲的话" is answered by
# "党组书记…毛大付…讲话", but a 书记 is no 主席 (a family would make every post stand for every other)
for _word, _said_by in {"领导": tuple(POSTS.split("|"))}.items():
    _RELATED[_word] = tuple(dict.fromkeys((*_RELATED.get(_word, ()), *_said_by)))


def related_words(word: str) -> tuple[str, ...]:
    """Words that may stand for `word` in a report ("领队" -> 率, 带队, 带领 …)."""
    return _RELATED.get(word, ())


_jieba_lock = threading.Lock()
_loaded_terms: set[str] = set()


def chinese_to_int(run: str) -> int | None:
    """Value of a Chinese numeral run such as "二十一" or "一五" (digit by digit)."""
    if not any(ch in _UNITS for ch in run):
        # digit-by-digit: "二〇二〇" -> 2020
        digits = [_NUMERALS.get(ch) for ch in run]
        if None in digits:
            return None
        return int("".join(str(d) for d in digits))
    total, current = 0, 0
    for ch in run:
        if ch in _NUMERALS:
            current = _NUMERALS[ch]
        elif ch in _UNITS:
            total += (current or 1) * _UNITS[ch]
            current = 0
        else:
            return None
    return total + current


_RANGE_DIGITS = "一二三四五六七八九"


def _replace_numerals(text: str) -> str:
    protected: dict[str, str] = {}
    for i, word in enumerate(w for w in _NOT_NUMBERS if w in text):
        key = f"\x00{i}\x00"
        protected[key] = word
        text = text.replace(word, key)

    def repl(m: re.Match[str]) -> str:
        run = m.group(0)
        a, b = (run[:2].replace("两", "二") + "  ")[:2]
        if a in _RANGE_DIGITS and b in _RANGE_DIGITS and _RANGE_DIGITS.index(b) == _RANGE_DIGITS.index(a) + 1 and \
                run[2:] in ("", "十", "百", "千", "万"):
            return run  # "五六年", "两三千场", "二三等奖": five or six, not 56; 二、三等奖, not 23
        value = chinese_to_int(run)
        return run if value is None else str(value)

    text = _NUM_RUN.sub(repl, text)
    for key, word in protected.items():
        text = text.replace(key, word)
    return text


# a decimal as it is spoken (a voice message's transcript): "十一点七" is 11.7; not a time ("九点五十分")
_SPOKEN_DECIMAL = re.compile(r"([零〇一二两三四五六七八九十百千]+)点([零〇一二三四五六七八九]+)(?![十百千分时刻点钟])")


def _decimal(m: re.Match[str]) -> str:
    whole = chinese_to_int(m.group(1).replace("两", "二"))
    digits = [_NUMERALS.get(ch) for ch in m.group(2)]
    if whole is None or None in digits:
        return m.group(0)
    return f"{whole}." + "".join(str(d) for d in digits)


def normalize(text: str) -> str:
    """Full-width to half-width, lower case, Chinese numerals to digits, no markup.

    "百分之十" becomes "10%" and "1.396 亿次" becomes "1.396亿次", the way the reports write them.
    """
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("**", "").lower()
    text = _SPOKEN_DECIMAL.sub(_decimal, text)
    text = re.sub(r"百分之([零〇一二两三四五六七八九十百]+)",
                  lambda m: f"{chinese_to_int(m.group(1))}%" if chinese_to_int(m.group(1)) is not None
                  else m.group(0), text)
    text = _replace_numerals(text)
    text = re.sub(r"百分之(\d+(?:\.\d+)?)", r"\1%", text)
    # "1.396 亿次" -> "1.396亿次": reports set figures apart with spaces.
    text = re.sub(r"(?<=[\d.])\s+(?=[\u4e00-\u9fff%])", "", text)
    text = re.sub(r"(?<=[\u4e00-\u9fff])\s+(?=[\d])", "", text)
    return text.strip()


def strip_fillers(text: str) -> str:
    return _FILLERS.sub(" ", text)


def split_sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENT_SPLIT.split(paragraph) if s.strip()]


def add_terms(terms: Iterable[str]) -> None:
    """Teach jieba the knowledge base's domain terms (天府科技云, 大禹杯, ...)."""
    with _jieba_lock:
        for term in terms:
            term = normalize(term)
            if len(term) >= 2 and term not in _loaded_terms and not re.search(r"\s", term):
                jieba.add_word(term, freq=200000)
                _loaded_terms.add(term)


def is_token(tok: str) -> bool:
    tok = tok.strip()
    if not tok or tok in STOPWORDS:
        return False
    return any(ch.isalnum() for ch in tok)


def tokenize(text: str) -> list[str]:
    """Search tokens of normalised text: jieba's search mode, without stop words.

    Search mode adds the parts of long words ("天府科技云" also gives "天府", "科技"),
    so a question that uses part of a name still meets it.
    """
    with _jieba_lock:
        toks = jieba.lcut_for_search(text)
    return [t for t in toks if is_token(t)]


def cut(text: str) -> list[str]:
    """Plain jieba words (precise mode), stop words kept: for reading a question's shape."""
    with _jieba_lock:
        return [t for t in jieba.lcut(text) if t.strip()]


def pos_cut(text: str) -> list[tuple[str, str]]:
    """jieba words with their part-of-speech tags ("李艳华", "nr")."""
    import jieba.posseg

    with _jieba_lock:
        return [(w.word, w.flag) for w in jieba.posseg.lcut(text)]


_NOUNISH = ("n", "j", "l", "b", "a", "vn", "an", "eng", "zg", "f", "s")


def leading_noun(text: str) -> str:
    """The noun phrase a text starts with: "院士、王寿君等" -> "院士", "企业推广发明专利信息" -> "企业"."""
    out = ""
    for i, (word, flag) in enumerate(pos_cut(text)):
        if i == 0 and word == "的":
            continue  # "10年的巴州区科协干部职工"
        if not flag.startswith(_NOUNISH):
            break
        out += word
    return out


_TITLES = re.compile(r"(书记|主席|院士|部长|主任|馆长|局长|县长|市长|区长|常委|博士|教授|委员|院长|记者|组长|站长|校长|主持人|负责人|党员|会长|理事长|董事长)$")


SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
             "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔"
             "向汤文经")
_TITLED_NAME = re.compile(
    rf"{_TITLES.pattern[:-1]}([{SURNAMES}][\u4e00-\u9fff]{{1,2}}?)"
    r"(?=率|出席|主持|表示|公布|指出|强调|讲话|等|向|为|赴|在|介绍|参加|带队|到会|一行|投资|带领|担任|当选|入选|获|[,，、。;；])"
)


# what people are called ("多少名专家", "20余名院士"): kb.search reads a count of them as one of people
PERSON_NOUNS = ("院士|专家|人才|志愿者|工作者|村民|学生|干部|人员|选手|会员|群众|农民|代表|带头人|科普员|"
                "老师|教师|委员|同志|博士|辅导员|党员|职工|用户|大牛")
# "邀请孙家栋等20余名院士、王寿君等1000余名专家", "评选赵剑衡等“绵阳杰出科技工作者”8名": a name
# that heads a count of people
_NAME_HEADING_COUNT = re.compile(
    rf"([{SURNAMES}][\u4e00-\u9fff]{{1,2}})等(?:\d+(?:余|多)?[名位][\u4e00-\u9fff]{{0,4}}?(?:{PERSON_NOUNS})"
    r"|“[^”]{2,20}”\d+(?:余|多)?[名位])")
_FOREIGN_NAME = re.compile(r"(?:得主|教授|博士|院士|专家|学者|主席|^|[，,、“\s])([\u4e00-\u9fff]{2,4}·[\u4e00-\u9fff]{2,4}?)"
                           r"(?=等|、|，|,|。|在|来|到|的|先生|女士|教授|$)")


_BYLINE_ROLE = re.compile(r"^(?:本报)?(?:特约)?(?:记者|通讯员)$")


def byline_names(line: str) -> list[str]:
    """The people a byline names ("■ 本报记者 肖小江", "(谭舒予 本报记者 肖小红)", "(李加成)"),
    or [] when the line is not a byline of people ("(宜宾市科协)", a sentence)."""
    bracketed = bool(re.fullmatch(r"[（(].+[)）]", line.strip().lstrip("■").strip()))
    parts = byline_text(line).split()
    if not parts or len(parts) > 6:
        return []
    roles = [p for p in parts if _BYLINE_ROLE.match(p)]
    names = [p for p in parts if not _BYLINE_ROLE.match(p)]
    if not (bracketed or roles) or not names or not all(
            re.fullmatch(r"[\u4e00-\u9fff]{2,3}", n) and n[0] in SURNAMES and n[-1] not in "区县市镇乡村省"
            and (roles or general_word_freq(n) < 50) for n in names):
        return []  # "(高新区)", "(方案)", "(高原)": a place or a word, not a person
    return names


def byline_text(line: str) -> str:
    """A byline as a reply shows it: "本报记者 肖小江", "李加成" (no ■, no brackets)."""
    return line.strip().lstrip("■").strip().strip("（()）")


def person_names(text: str) -> list[str]:
    """Names of people in a sentence: a name after a title ("主席李艳华") or before what they did."""
    words = pos_cut(text)
    out = [m.group(2) for m in _TITLED_NAME.finditer(text)]
    out += _FOREIGN_NAME.findall(text)  # "罗伯特·胡贝尔"
    out += [n for n in _NAME_HEADING_COUNT.findall(text) if general_word_freq(n) < 50]
    for i, (word, flag) in enumerate(words):
        if flag != "nr" or not 2 <= len(word) <= 4:
            continue
        prev = words[i - 1][0] if i else ""
        nxt = words[i + 1][1] if i + 1 < len(words) else ""
        after = words[i + 1][0] if i + 1 < len(words) else ""
        if re.fullmatch(POSTS, after) and len(word) == 3 and general_word_freq(word) < 1000:
            out.append(word)  # "省委彭清华书记": the press names a province's head before the post (a name
            continue  # jieba knows, so the dictionary's count does not tell it from a word)
        if general_word_freq(word) >= 50:
            continue  # "青少年", "北斗": words of the dictionary, not names
        if _TITLES.search(prev) or (len(word) == 3 and nxt.startswith(("v", "p"))):
            out.append(word)
    # "党员王茂全": jieba's 王茂 is part of the titled name, not another person
    return [n for n in dict.fromkeys(out) if not any(n != o and o.startswith(n) for o in out)]


def general_word_freq(word: str) -> int:
    """How common a word is in jieba's general dictionary (0: not a word there)."""
    with _jieba_lock:
        jieba.dt.check_initialized()
        return int(jieba.dt.FREQ.get(word) or 0)


def pinyin_key(word: str) -> str:
    """Toneless pinyin: "棉阳" and "绵阳" share "mian yang"."""
    return " ".join(lazy_pinyin(word))


@functools.lru_cache(maxsize=65536)
def pinyin_keys(word: str, limit: int = 16) -> tuple[str, ...]:
    """The toneless readings of a span (the usual one first, then up to `limit` combinations of
    its characters' readings): a typo's character may be read otherwise alone than in the word
    it stands in for ("城都" is read cheng dou; 成都 is cheng du)."""
    from itertools import islice, product

    from pypinyin import Style, pinyin

    readings = pinyin(word, style=Style.NORMAL, heteronym=True)
    keys = [pinyin_key(word)]
    for combo in islice(product(*readings), limit):
        key = " ".join(combo)
        if key not in keys:
            keys.append(key)
    return tuple(keys)


_HAN = re.compile(r"[\u4e00-\u9fff]+")
# A typo is inside a word: a span that starts or ends with a particle or a
# measure word straddles two words ("赛到" of "竞赛到第几届" is no typo of 赛道).
_EDGE_CHARS = set("的了到是在有和与及把被给让向从对为以就都也还又很太更最几多少个家场次届项名位条么吗呢啊吧呀们这那哪谁啥")


_CUT_WORD_FREQ = 50  # a two-character word this common in general Chinese is not cut by a place's typo


def mend_typos(text: str, vocabulary: dict[str, str], known: set[str],
               common_freq: int = 1, places: Iterable[str] = ()) -> tuple[str, list[tuple[str, str]]]:
    """Replace homophone typos of knowledge-base terms: "棉阳科写" -> "绵阳科协".

    `vocabulary` maps a pinyin key to the one term of the knowledge base that
    sounds like it (ambiguous keys are left out by the caller); `known` holds
    the words the reports use. A span is only mended when the reports never use
    it and it is no word of the general dictionary ("时间" stays "时间", not "实践"; "金奖"
    stays, not "锦江"). A span that starts or ends with a character of everyday grammar
    ("都", "的", "把") is left alone, and so is a character of a word the reports use,
    unless that very character is the same in one of `places` ("城都" -> 成都, whose 都 is
    shared; but "把中小学生" keeps 把, not 巴中).
    """
    fixes: list[tuple[str, str]] = []
    out = []
    pos = 0
    for m in _HAN.finditer(text):
        out.append(text[pos:m.start()])
        run = m.group(0)
        # characters that belong to a word the reports use are no typo ("党建强会农技协")
        covered = [False] * len(run)
        for a in range(len(run)):
            for b in range(a + 2, min(len(run), a + 8) + 1):
                if run[a:b] in known:
                    covered[a:b] = [True] * (b - a)
        i = 0
        mended = ""
        while i < len(run):
            done = False
            for n in range(min(6, len(run) - i), 1, -1):
                span = run[i:i + n]
                if span in known:
                    continue
                term = next((vocabulary[k] for k in pinyin_keys(span) if k in vocabulary), None)
                if term in places and len(term) == n:
                    # a place's typo: grammar characters and report words may only be where the
                    # place has the same character ("城都": 都 is 成都's too)
                    if any((span[j] in _EDGE_CHARS or covered[i + j]) and span[j] != term[j] for j in range(n)):
                        continue
                elif span[0] in _EDGE_CHARS or span[-1] in _EDGE_CHARS:
                    continue
                # characters of a word the reports use stay as they are ("党建强会农技协" is no
                # typo), unless a long term of the knowledge base sounds exactly like the span and
                # differs in a character or two: "高效科协" -> 高校科协, though 高效 is a word
                elif term and any(covered[i:i + n]) and not (
                        n >= 4 and len(term) == n and 1 <= sum(1 for j in range(n) if term[j] != span[j]) <= 2):
                    continue
                # no mend may cut an everyday word at its edge: "教种地养殖" holds 种地 and 养殖, not
                # 德阳; "累计建了" holds 累计, not 纪检
                if term and ((i > 0 and general_word_freq(run[i - 1:i + 1]) >= _CUT_WORD_FREQ) or (
                        i + n < len(run) and general_word_freq(run[i + n - 1:i + n + 1]) >= _CUT_WORD_FREQ)):
                    continue
                if term and term != span and general_word_freq(span) < common_freq:
                    mended += term
                    fixes.append((span, term))
                    i += n
                    done = True
                    break
            if not done:
                mended += run[i]
                i += 1
        out.append(mended)
        pos = m.end()
    out.append(text[pos:])
    return "".join(out), fixes


def write_user_dict(terms: Iterable[str], path: Path) -> None:
    """A jieba user dictionary for Rasa's JiebaTokenizer, sorted for a stable hash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = sorted({normalize(t) for t in terms if len(normalize(t)) >= 2 and not re.search(r"\s", normalize(t))})
    path.write_text("".join(f"{t} 200000 nz\n" for t in lines), encoding="utf-8")
