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

A sentence is read in its context: its heading, the edition its section last
named ("第三届…大会" in the lead, the figure two paragraphs on), its section's
first sentence (the meeting it reports on) and a photo caption over it (who is
shown). Citizens' words meet the report's through the synonym table and
`kb.text.RELATED_FAMILIES` (领队/率), at a lower weight than the word itself.
Near misses are ruled out by what excludes: another level (国家级/省级), another
event, another place's figure, a counted noun the sentence never says.
"""
from __future__ import annotations

import bisect
import functools
import math
import re
import threading
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.db import per_version
from kb.extract import ADDED_DISTRICTS, REGIONS, Figure, ancestors, figures, our_city, regions_in
from kb.ingest import HEADING_JOIN, domain_terms, scopes
from kb.models import Document, Fact, Faq, Passage, Synonym
from kb.text import (
    PERSON_NOUNS,
    POSTS,
    QUESTION_NOISE,
    STOPWORDS,
    SURNAMES,
    add_terms,
    byline_names,
    cut,
    general_word_freq,
    is_token,
    mend_typos,
    normalize,
    person_names,
    pinyin_key,
    pos_cut,
    related_words,
    split_sentences,
    strip_fillers,
    tokenize,
)

K1, B = 1.2, 0.75
PASSAGE_WEIGHT = 0.3  # how much the rest of the passage (and its heading) adds to a sentence's score
COVERAGE_POWER = 2.0  # the score is BM25 times coverage squared: every word of the question counts
DEMOTE = 0.3  # score factor of a candidate that breaks a constraint of the question
RELATED_HIT = 0.8  # a related word ("率" for "领队") is weaker evidence than the word itself
RELATED_HIT_SHORT = 0.5  # ... and a one-character one weaker still ("率" is also part of "增长率")
FRAME_HIT = 0.9  # a word of the event the sentence's section speaks of ("第三届天府科技云服务大会")
GAPPED_HIT = 0.8  # a long word's parts in order with a few characters between ("科普…e站")
LEAD_HIT = 0.6  # a word of its section's first sentence, which names what the section reports on
HEADING_DEMOTE = 0.5  # a heading that says no more than a sentence under it is not the answer
RECENT_SEARCHES = 512  # texts whose ranking an index keeps (Index.search)
RECENT_KEPT = 50  # candidates kept per text: more than any caller asks for
JUDGE_AT_LEAST = 40  # sentences judged for the question's shape before the rest may be skipped
# the most `_judge` can multiply a score by: place 1.2, the question's kind (where 2.0 at most:
# figure 1.6, who 1.5, date/rank 1.3), phrases as asked 1.45
MAX_FACTOR = 1.2 * 2.0 * 1.45

_QUESTION_WORD = re.compile(r"(多少|(?<![哪那这])(?<!那个)(?<!这个)几(?![乎])|好多|多大|多长|多久|数量|规模|总数|人数|次数|个数|比例|占比|百分之几|百分比|金额|面积)")
# "多少台全媒体…": jieba would glue the measure word to the next word ("台全"), "2022年收入" the year
# to it ("年收入"), "表彰为什么" the verb's 为 to 什么 ("为什么", why)
_MEASURE_GLUE = re.compile(r"(多少|几)(万人次|人次|场次|期次|万人|万元|亿元|个月|小时|"
                           r"[个家场次届项人名条所位篇部种批支座处件天户台套本门村站元亩回单期])(?=[\u4e00-\u9fff])")
_CAME = re.compile(r"(?<![出回下上进起过请引招带找叫喊吸])(?:来|到)(?=了?(?:多少|几)(?:个|位|名)?人(?!次))")
_HAODUO = re.compile(r"好多(?=[个家场次届项人名条所位篇部种批支座处件天户台套本门村站元亩回单期年钱万亿])|(?<=百分之)好多")
_RANGE_GUESS = re.compile(r"(?:一两|两三|二三|三四|四五|五六|六七|七八|八九|上(?=[百千万]))[十百千万亿]{0,2}(?:多)?"
                          r"[个家名人位项场次年回天亩元]?")
_YEAR_GLUE = re.compile(r"((?:19|20)\d{2}年)(?=[\u4e00-\u9fff])(?![度底初末间内])")  # not "2023年度"
_WHY_GLUE = re.compile(r"(?<=[评彰予选称命授])为什么")
# "被评为什么荣誉", "哪家公司": the noun after 什么/哪 names the kind of answer; the report need not say it
NAME_KINDS = ("主题", "名称", "名字", "称号", "口号", "栏目", "荣誉", "全称")  # kinds of answer that are a name
_NAMED_KIND_Q = re.compile(rf"({'|'.join(NAME_KINDS)})(?:是|叫|为)?(?:什么|啥)")
# the name a report quotes next to the kind of thing asked for: “…”为主题, 主题为“…”, “…”栏目, or
# first of a list of them (“…”等20个“硬核”项目)
_QUOTED_KIND = "(?:“[^”]{{2,40}}”(?:为|作为)?{kind}|{kind}(?:为|是|叫)?“[^”]{{2,40}}”|“[^”]{{2,40}}”等\\d+[个项家所名位]“?{kind})"
QUOTED_KIND_BOOST = 1.5  # as a who-question's sentence that names a person
# the steps or ways a "how" asks for, as a report lists them ("…、匹配撮合、对接洽谈、促成交易等流程")
_STEP_KINDS = ("流程", "环节", "步骤", "方式", "措施", "形式", "举措")
MANNER_Q = re.compile(r"怎么|如何|怎样|咋|啥样|什么样")  # how something was done (not how to do it: _HOW_TO)
# an honour is quoted after the verb that gives it (the related words of 评为): "表彰为“四川省乡村振兴示范村”"
# is the 称号 asked
_HONOURS = ("称号", "荣誉", "荣誉称号")
_HONOURED = re.compile(rf"(?:{'|'.join(sorted({'评为', *related_words('评为')}, key=len, reverse=True))})“[^”]{{2,30}}”")
# what the members of a list of a kind end in: "哪些部门" is answered by "办公室、科普部、调宣部"
_MEMBERS = {"部门": "部|办公室|局|委", "单位": "公司|局|院|所|部|中心|委|办公室", "企业": "公司|集团|厂",
            "高校": "大学|学院|科大|交大", "学校": "大学|学院|科大|交大|中学|小学|学校", "县": "县", "区": "区"}
_ANSWER_TYPE = re.compile(r"(?:什么|啥|哪个|哪些|哪家|哪所|哪种|哪项|哪一|哪两|哪几个?)\s*([\u4e00-\u9fff]{2,4})")
ANSWER_TYPE_WEIGHT = 0.25
MIN_LABEL = 0.11
MIN_LABEL_MONEY = 0.08  # a sum of money is rarer in a sentence: its own words may say less
ASKED_NUMBER = 0.3  # label coverage a figure gains when its clause says a number the question names
CROSS_KIND = 0.7  # label coverage of a figure of a neighbouring kind (次 for 家, 项 for 次, 届 for 次)
# a phone number, a web or postal address: the bot must never answer these with a count
_CONTACT_Q = re.compile(r"((电话|手机|热线)(号码|号)?是?多少(?!个|小时|天|条|部|次|人)|号码|联系方式|网址|邮箱|微信号|通讯地址|"
                        r"(?<!报名)地址|门票|票价|开放时间|开馆时间|要不要预约|需要预约|"  # practical details of a visit
                        r"的(电话|手机|热线|座机)(吗|呢)?$)")  # "李艳华的电话"
_EVENTISH = re.compile(r"(活动|会议|(?<![学协商工])会(?!员)|赛|培训|讲座|论坛|演出|节目|课|班|展|宣讲|沙龙)")  # 学会, 协会: bodies, not events
# "县级科协" is not "副县级领导岗位": a level word is not met inside a deputy's rank
_LEVEL = re.compile(r"[省市县区厅处科]级")
# the level of what is counted: a figure that does not say it counts every level
_LEVEL_WORD = re.compile(r"国际|国内|国家级|省级|市级|县级|区级|全国性|外籍|海外")
_LEVEL_SAID = {"国家级": "国家(?!级)|全国"}  # "国家级协会的服务站": "国家学会创新驱动助力工程服务站5个"
# "国际学术会议" is not "国际国内学术会议…2090余场次": that figure counts both
_BOTH = {"国际": r"国际(?!国内)(?<!国内国际)", "国内": r"国内(?!国际)(?<!国际国内)"}


def _guarded(word: str, question: str) -> str:
    """The pattern of a question word, kept from meeting a wider or different thing that contains it."""
    if _LEVEL.fullmatch(word):
        return r"(?<![副正])" + re.escape(word)
    if word in _BOTH and not (("国际" in question or "国外" in question) and "国内" in question):  # 国内国外
        return _BOTH[word]
    return re.escape(word)

# words that make what a figure counts a chosen few of its kind ("市级优秀学会", "示范农技协")
_CHOICE_SAID = {"优秀": ("择优", "评优")}  # how a question may say the word of choice
_NARROWING = re.compile(r"(优秀|示范|重点|先进|骨干|星级|标杆|精品|特色|品牌|龙头|5A|4A|3A)")
_WH_WORD = re.compile(r"(什么|啥|哪|谁|怎|几)")
_NAME_OF_WHAT_SOME_DID = re.compile(r"几[个家所位名]\s?[\u4e00-\u9fff\s]{1,8}?的.{0,12}?(?:叫什么|叫啥|名字|全称|名称)"
                                    r"|几[个家所位名]\s?[\u4e00-\u9fff\s]{1,8}?了(?:个|一个|份|一份)(?:什么|啥)"
                                    r"|(?:多久|多长时间)的[\u4e00-\u9fff]{1,6}?(?:叫什么|叫啥|名字|全称|名称)")
# ("几个地方一起签的那个协议叫什么", "几个地方签了个什么协议", "预测锂电池能用多久的成果叫啥": a name is asked)
_CONTACT = re.compile(r"(\d{3,4}-?\d{7,8}|1\d{10}|https?://|www\.|@[\w.]+|\d+号)")
# "科协主席是谁": the title must be the association's, not another body's in the same sentence
_ORG_TITLE_Q = re.compile(r"科协(?:的)?(?:现在|目前|现任|如今)?(?:的)?(党组书记|书记|常务副主席|副主席|主席|秘书长)")
# "在哪开的", "在哪里举办": where an event was held, not any place a sentence names
_HELD_Q = re.compile(r"(在哪|哪里|什么地方|哪儿|地点).{0,3}(开|举办|举行|召开|启动|办)")
# names of events: a question about one event is not answered by a sentence about another
_EVENT_WORD = re.compile(r"(大赛|竞赛|比赛|挑战赛|大会|论坛|座谈会|总结会|研讨会|交流会|推介会|恳谈会|宣讲会|报告会|"
                         r"发布会|培训会|洽谈会|博览会|科普日|活动周|科技节)$")
_EVENT_IN_TEXT = re.compile(r"[\u4e00-\u9fff]{2,8}(大赛|竞赛|比赛|挑战赛|大会|论坛|座谈会|总结会|研讨会|交流会|推介会|"
                            r"恳谈会|宣讲会|报告会|发布会|培训会|洽谈会|博览会|科普日|活动周|科技节)")
_PAREN = re.compile(r"\([^()]{1,4}\)")
_CONGRESS = re.compile(r"[一二三四五六七八九十\d]{1,3}大")  # "七大": an association's congress
# sets of words that exclude one another: "国家级的有几家" is not answered by "省级工作站7家"
_CONTRASTS: tuple[tuple[str, ...], ...] = (
    ("国家级", "省级", "市级", "县级", "区级", "村级"),
    ("特等奖", "一等奖", "二等奖", "三等奖"),
    ("线上", "线下"),
)
_PARTNER_Q = re.compile(r"(跟|和|与|同|给|为|向)(谁|哪个单位|哪家)")
# "跟哪几个学会签了协议 除了中国科协还有谁": 谁 is a body here, not a person
_WHICH_ORG_Q = re.compile(r"哪(?:几|些)?(?:个|家|所)?\s?(?:国家级|省级|市级)?(?:学会|单位|企业|部门|协会|机构|高校|大学|学校|公司|"
                          r"医院|科协)")
# "服务队叫什么名字": the name of a body, not a person
_ORG_NAME_Q = re.compile(r"(队|会|站|基地|中心|平台|公司|协会|学会|项目|活动|大赛|节目|栏目|方案|制度|品牌|单位|村|镇|园区|"
                         r"研究院|联盟|工程|计划|称号|奖|论坛|会议|展览|协议|读物|刊物|报|片|剧|剧场|书|节|赛|课|班|网|馆|成果|模式|"
                         r"系统|产品|主题|规章|规定|办法|通则|章程|条例|文件|政策)"
                         r"(的)?[\s,，]?(叫什么|名字|名称|叫啥)")  # "…指导队，叫什么名字": the body's name
# "是谁做的", "由谁主办": who did it may be a body ("第三方", "市科技局"), not a person
_AGENT_Q = re.compile(r"(谁(做|搞|办|组织|负责|主办|承办|发起|举办|评|测|提供|牵头|联合|给|表彰|授予|颁|命名|批准)|由谁|被谁|"
                      r"(?:得到|受到)了?谁的|哪个单位|哪家单位)")  # "是谁给表彰的", "得到了谁的肯定": a body may answer
_AGENT = re.compile(r"(第三方|科协|学会|协会|政府|公司|集团|大学|学院|中心|部门|委员会|[局厅院所站队社])")
# "哪些院士", "哪位专家": people, whom the reports must name
_WHICH_PEOPLE_Q = re.compile(r"(哪些|哪几位|哪位|哪几个|哪个)(院士|专家|领导|人|科学家|干部|代表|记者|通讯员|作者)"
                             rf"|(?:\d+|几|两|些)[个名位]?(?:人|{PERSON_NOUNS})(?:都|分别|各)?(?:叫(?:什么|啥)|的名字)")
# ("推荐的那2个人叫什么"; "那个管科普的人叫什么" asks what the post is called)
# "排第几", "排名第几": a rank, which reports write as "全省第一", "前二十", "前列"
_RANK_Q = re.compile(r"(排|排名|排在|位居|位列|名列)(全省|全国|全市)?(?:第几|老几)|第几名|排名(怎么样|如何|多少)|排得怎么样|"
                     r"(?:排进|进了?|进入|位于|排在)(?:全省|全国|全市)?前(?:多少|几)")  # "7个县区排进全省前多少名"
_RANK = re.compile(r"第[一二三四五六七八九十\d]+(?![届批期次个项号])|前[一二三四五六七八九十\d]+|首位|前列|领先|第一")
# an edition named in a text ("第3届天府科技云服务大会", "首届"): the sentences after it speak of it
_EDITION = re.compile(r"(?:第\d+|首)届")
_REPORT_MEANT = re.compile(r"报道|文章|那篇|新闻|那会儿|那时候|当时")  # the report, or its time, is meant
# What kind of figure a question wants, from the words around its question word.
_IN_ALL = re.compile(r"(一共|总共|共计|一起|一块)(?=[\u4e00-\u9fff])")
_SPLIT_VERB = re.compile(r"([\u4e00-\u9fff])(的|了|过|多少|几)([\u4e00-\u9fff])")
_VAGUE_YEARS = re.compile(r"(?<![目提当之以])(?:这|近|那|前|过去)(?:几|些|两|[2-9]|[三四五六七八九十])年(?:来|里面|里头|里|间)?")  # 两 is 2 by now
_UNIT_HINTS: list[tuple[str, str]] = [
    (r"(?:几|多少)个?\s?(?:小时|钟头)|几个月|多少个月", "duration"),  # "几个 钟头": glued apart by then
    (r"百分之几|百分之多少|百分比|比例|占比|几成|%|占(?:到|了)?(?:多少|几|好多)", "percent"),  # "青年占多少"
    (r"多少钱|金额|资金|经费|投资|多少万元|多少元|几万元|收入多少|捐了多少|奖金|"
     r"钱[^，,。？?]{0,8}?(?:多少|几)|(?:凑|筹|筹集|募集|集资)了?(?:多少|几)", "money"),  # "凑的钱 一共凑了多少"
    (r"第几届|第几批|第几期|第几", "ordinal"),
    (r"几届|多少届", "edition"),
    (r"几户|多少户", "household"),
    (r"多少亩|几亩|面积", "area"),
    (r"多大|几岁|多少岁|年龄|岁数|年纪", "age"),
    (r"(?:几|多少)(?:斤|公斤|千克|吨)|重量", "weight"),
    (r"(?:几|多少)(?:人次|个人|人|名|位)|人数|多少万人", "person"),
    (r"(?:几|多少)(?:场次|场|次|回|期|趟)|次数", "times"),  # "跑了多少趟": 走访…2600余次
    (r"(?:几|多少)年|哪几年", "year"),
    (r"几大", "group"),
    (r"多长时间|多久|多长", "duration"),
    (r"(?:几|多少)(?:家|所|项|条|篇|支|件|种|批|册|份|单)|(?:几|多少)(?:座|处|部|台|套|本|门|村|站)(?![\u4e00-\u9fff])",
     "items"),
]
# A count of people even when the question says "几个": "来绵阳的院士有几个", "有多少会员".
_PERSON_NOUN = re.compile(rf"({PERSON_NOUNS})$")
# bodies, not people: "多少个党支部" is not answered by a figure in 人
_BODY_NOUN = re.compile(r"(支部|党组织|学会|协会|单位|企业|公司|部门|组织|机构|学校|高校|基地|站|社区|村|乡镇|县|区|市)$")
# ("怎么给孩子报名", "如何帮我们单位申请": for whom comes between)
_HOW_TO = re.compile(r"(怎么|如何|怎样|咋个?|在哪|哪里|去哪)(?:[给帮替让带][\u4e00-\u9fff]{1,4}?)?(才能|可以|能)?[去来]?"
                     r"(注册|报名|申请|参加|下载|登录|加入|联系|办理|使用|用|登记|"
                     r"预约|约|认证|买|购买|投稿|参观|进|找|邀请|请到|订阅|预订|申报)")
# what it takes or how to reach it (条件, 方式, 链接, 价格): a procedure the reports never give
_REQUIREMENT_Q = re.compile(r"(?:申报|申请|报名|参评|参加|加入|入选|要啥子?|要什么|需要什么|需要哪些|满足什么|满足啥|有啥|有什么)"
                            r"(?:条件|资格|手续|材料)|(?:订阅|报名|申请|申报|联系|购买|参与|参加)(?:方式|流程|手续|渠道|链接)"
                            r"|链接发|网址是|票价|收费标准")
_PROCEDURE = re.compile(r"(步骤|登录|点击|扫码|网址|下载|电话|热线|报名方式|申请方式|报名时间|报名地址)")
# a spoken correction, as WeChat transcribes a voice message: "第二届 不是 第三届…", "挂了八年 不对 到底几年":
# what was said before it is taken back
_SELF_CORRECTION = re.compile(r"[^\s,，。?？]+[\s,，]+(?:不对|不是|哦不|哦不对|说错了|错了)[\s,，]+")
_WHERE_Q = re.compile(r"(在哪(?![些个家位种项年天])|哪里|什么地方|哪儿|在什么地方|地点|哪个位置|什么位置|"
                      r"哪(?:个|些|一个)?(?:城市|地方|县|市|区|乡镇|镇|乡|村|省|国家(?!级)|学校|中学|地区|监狱|园区|"
                      r"场馆|会场|酒店|宾馆|会展中心|展馆|会议室|礼堂|报告厅)|"
                      r"所在(?:的)?(?:地|城市|县|市|区|乡镇|镇|乡|村|省|地区|位置))")  # "书台村 所在乡镇"
# "在哪个镇": the answer names a place of that kind ("曾口镇"); a 学校 may be a 中学
# a country's name ends in 国 ("德国"), not in 国家/国际/国内 ("成都国家全面创新改革试验区" names none)
_ANOTHER_Q = re.compile(r"(另外|另一|其他|其余|别的|除了)")
_PLACE_KINDS = {"学校": "(?:学校|中学|小学|大学|学院)(?!生)", "中学": "中学", "国家": "国(?![家际内务有企营资立])", "城市": "市",
                "乡镇": "镇", "场馆": "馆|会堂|中心|剧院|体育场", "会场": "馆|会堂|中心|厅|会议室|酒店|宾馆",
                "酒店": "酒店|宾馆|饭店", "宾馆": "酒店|宾馆|饭店", "会展中心": "会展中心|博览中心|展览中心|会议中心",
                "展馆": "馆|展览中心", "会议室": "会议室|会议厅|报告厅|多功能厅", "礼堂": "礼堂|会堂", "报告厅": "报告厅|礼堂|会堂"}
_PLACE_KIND_Q = re.compile(r"(?:哪(?:个|些|一个)?|所在(?:的)?)"
                           r"(城市|县|市|区|乡镇|镇|乡|村|省|国家(?!级)|学校|中学|监狱|园区|场馆|会场|酒店|宾馆|会展中心|展馆|"
                           r"会议室|礼堂|报告厅)")  # not 哪个国家级学会
_CENTRED_AT = re.compile(r"以[\u4e00-\u9fff]{2,12}?(?:区|县|市|镇|村|园区)为(?:核心|中心|重点|主体|依托|龙头)")  # 以成都高新区为核心
_HELD_AT = re.compile(r"在[\u4e00-\u9fff·、]{2,20}?(举行|召开|举办|开幕|启动|签约)")
_AT_PLACE = re.compile(r"(?:在|(?<![达受得收提做遇感想看听找])到|赴|前往)[\u4e00-\u9fff]{2,12}?"
                       r"(省|市|县|区|镇|村|馆|中心|大厅|学校|中学|大学|基地|园区|监狱)")  # "到四川省宜宾监狱听取"
_DATE_Q = re.compile(r"(哪天|哪一天|哪几天|什么时候|啥时候|何时|几月几[号日]|几号|几月份|哪个月|哪年|哪一年|什么时间|日期(?!间)|"
                     r"(?:投产|开工|竣工|举办|召开|开幕|启动|成立|签约|开始|结束)时间)")  # "请告知预计投产时间"
_DAY_Q = re.compile(r"(哪天|哪一天|哪几天|几月几[号日]|几号|日期(?!间))")  # not 科普日期间
_YEAR_Q = re.compile(r"(哪年|哪一年|什么年份|哪个年份|几几年)")
_DAY = re.compile(r"\d{1,2}月\d{1,2}[日号]")
# a year, also without 年 ("2018全国双创周"), but not a count ("2090余场次", "2178条")
_A_YEAR = re.compile(r"(?<![\d.])(?:19|20)\d{2}(?:年|(?=[^\d.%余多万亿个家场次项人名条篇所位件元户亩支台期]))")
_WHO_Q = re.compile(r"(谁|哪位|哪几位|哪些人|什么人|名字|姓名|名单)")
# a citizen's guess at a figure: "两千多项", "一百来位", "100项左右", "是不是148个"
_MEASURES = "家个场次届项人名条所位篇部种批支座处件天户台套本门村站元亩回单期辆"  # what a count is counted in
_ROUGHLY = "多|来|好几|出头|左右|上下|几"  # "七十几个吧": seventy-odd
_GUESSED = r"(?<![\d.第前])\d+(?:\.\d+)?"
_GUESS = re.compile(rf"{_GUESSED}(?=[万亿]?(?:{_ROUGHLY})|[{_MEASURES}]?(?:左右|上下))|"
                    r"(?<=是不是|大概有|差不多|大约有|好像有|可能有|听说有)\d+(?:\.\d+)?")
_GUESS_SPAN = re.compile(rf"{_GUESSED}[万亿]?(?:{_ROUGHLY})[{_MEASURES}]*")  # the whole guess, to read around it
_GUESS_TAIL = re.compile(rf"多(?:[万亿]?[{_MEASURES}]+|[万亿])")  # what jieba leaves of "两千多项", "一千多万"
# what the citizen heard or remembers, and a question that asks to confirm it ("好像是52家?", "是10.7%吗")
_HEARD = re.compile(r"(听说|好像|我记得|印象中|据说)")
_CONFIRM_Q = re.compile(rf"(吗|吧|对吧|对吗|是吧|没错|对不对|对不(?!起)|是不是|{_HEARD.pattern[1:-1]}|记得|应该是|有这么多|"
                        r"\?\s*$)")
_HEARSAY = re.compile(r"(?:^|(?<=[\s,，。!！?？]))(?:(?:我们?(?:单位|公司|学校|村)?的?)?(?:领导|老师|同事|朋友|邻居|家长|村干部)"
                      r"(?:跟我)?(?:说|讲)|(?:我?在)?(?:朋友圈|群里|网上|新闻里|报纸上)(?:里)?(?:看到|看见|说|讲)(?:说|讲)?"
                      r"|听(?:邻居|人家?|朋友|同事|别人)(?:讲|说))")  # at the start of a clause: not "哪个领导讲的话"
_ASKING = re.compile(r"(多少|几|什么|啥|哪|谁|怎么|如何|怎样|咋|干嘛|为何)")
# what a search box's last word asks: "述责述廉会 日期", "第三届科创会 时间地点", "宜宾 警示教育 主题"
_KEYWORD_ASKS = {"时间地点": "什么时候 在哪里", "日期": "什么时候", "时间": "什么时候", "地点": "在哪里",
                 "主题": "主题是什么", "名称": "名称是什么", "全称": "全称是什么", "称号": "称号是什么"}
_KEYWORD_ASKED = re.compile(rf"(?<=[\u4e00-\u9fff\s])({'|'.join(_KEYWORD_ASKS)})(?=[\s,，?？。]*$)")
# "成都工作站 申请专利数", "调研企业数", "参赛人数", "基地个数": a count asked in a search box's words (not "这个数")
_COUNT_ASKED = re.compile(r"(?<![指分系无岁少多倍函参这那])(?<!这个)(?<!那个)([人次个])?(?:数量|总数|数目|数)(?=[\s,，?？。]|$)")
# a figure stated in it: a number with its measure, not a year ("2020年") or an edition ("第20届")
_BAR = r"(?<!超过)(?<!过了)(?<!高于)(?<!低于)(?<!不到)"  # "超过10%的就成都一个市": a bar, not the figure claimed
_CLAIMED = re.compile(rf"{_BAR}(?:{_GUESSED}(?:多|余|来)?(?=[万亿]?(?:%|[{_MEASURES}块]))|{_GUESSED}(?=[万亿]))"  # not 年
                      r"|(?<=有)\d+(?=年了)|(?<=了)\d+(?=年[吗吧]?)")  # but "有5年了", "挂包了8年吗"
_COMPANY_Q = re.compile(r"哪(?:家|个|些|一家)(?:公司|企业)")
# a named company or institute ("铁骑力士集团", "麦思威尔等企业")
_COMPANY = re.compile(r"[\u4e00-\u9fff“”]{2,16}?(?:公司|集团|厂|研究院|研究所|\d+所)|[\u4e00-\u9fff]{2,8}等(?:企业|公司)")
_TWO_SAID = re.compile(r"两(?=[家个届位名项场次所条])")
# a question that checks a figure it names ("是不是148个") or asks which ones pass it ("过了10%的是哪几个市")
_CHECKS = re.compile(r"(是不是|是否|对不对|对吗|有没有|吗|哪几|哪些|哪个|超过|过了|以上|以下)")
# what asks for a part of a figure the question states: "…里", "…中", "各有", "有多少家在高新区"
_PART_ASKED = r"(?:里|当中|之中|中间|其中|各有|分别|有(?:多少|几)[^，,。？?]{0,4}?(?:在|是))"
# a clause that gives a part of a figure just named: "其中注册科技工作者16507人", "已完成18项"
_PART_SAID = re.compile(r"(其中|已|完成|占|包括)")
# the step of a project a date question asks about: "签约开工" does not date 投产
_STEP = re.compile(r"(投产|建成|建好|完工|竣工|开业|启用|投用|投入使用|用上|收获|当选|通车|开放|上市|验收)")
_STEP_SAID = {"建好": "建成|建好|完工|竣工", "建成": "建成|建好|完工|竣工", "完工": "建成|完工|竣工", "竣工": "建成|完工|竣工",
              "投用": "投用|投入使用|启用", "启用": "投用|投入使用|启用", "用上": "投用|投入使用|启用|投产"}
_POST_Q = re.compile(rf"((?:常务)?副?(?:{POSTS})|一把手|记者|通讯员|作者)")  # "副主席" asked: 主席 alone is no answer
_LIST_Q = re.compile(r"(哪些|哪几|具体是哪|都有谁|分别是)")
_LISTS = re.compile(r"[、：:；;]|和|及|与|”“|等")
_AUTHOR_Q = re.compile(r"(写|写的|作者|记者|通讯员|署名|撰稿|采写|报道|稿子|文章)")
_POST_ASK = re.compile(_POST_Q.pattern + r"(?:现在|目前|现任)?(?:的名字)?(?:叫(?:什么|啥)|是哪个|是哪位)"
                       r"|(?:科协|学会|协会)\s*(?:的)?" + _POST_Q.pattern + r"[?？]?$"  # "成都市科协主席", not "主席"
                       r"|\s(?:记者|通讯员|作者)[?？]?$")  # "七大以来工作回眸 记者": who wrote it
_RECENT_Q = re.compile(r"(现在|目前|最新|现任|如今|当前)")
_HAS_DATE = re.compile(r"(\d{1,2}月\d{1,2}[日号]|20\d{2}年|\d{1,2}月)")
_PERSON_HINT = re.compile(r"(书记|主席|院士|部长|主任|馆长|局长|县长|市长|常委|博士|教授|同志|第一书记|记者|负责人)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_COUNT_WORD = re.compile(r"(几|多少)[十百千万]*[家个场次届项人名条所年月日号期位篇部种批支座处件天户台套本门村站元亩回单]*")
# "入选…的4个项目分别是哪几个": a count the question states, and what shows that a clause names its
# members (stricter than _LISTS: "新增了…交流会和…推介会,绵阳4个项目入选" names none of the 4)
_STATED_COUNT = re.compile(r"(?<![\d.第])(\d+)[个项家位名所]")
# a figure of those an honour went to ("12个活动受到…表扬"), which counts no more than they
_HONOURED_AFTER = re.compile(r"[\u4e00-\u9fff]{0,4}(?:受到|获得|荣获|被)[^，,。；;]{0,14}?(?:表扬|表彰|奖励|肯定|评为)")
_HONOUR_ASKED = re.compile(r"表扬|表彰|奖|评|优秀|先进|肯定|荣誉|称号|夸|认可|获")
# "20个项目在哪发布的": what was done at the place asked, which the answer must say
_WHERE_ACT_Q = re.compile(r"(发布|推介|展示|展出|签约|签署|揭牌|落户|参展)")
# "连续三年…共…36个": a figure that totals over editions
_ACROSS_EDITIONS = re.compile(r"连续[两三四五六七八九十\d]+(?:年|届)|历届|历年")
# "下一场在哪个社区办", "下一届什么时候": the next time is in no report of what was done, unless
# a sentence says what is planned
_NEXT_Q = re.compile(r"(?<![以线之上南乡])下[一1]?(?:场|次|届|回|期|轮)(?!数)|明年")
_PLANNED = re.compile(r"将于|将在|计划|拟于|拟在|下一步|下一届|明年|即将|预计")
# a question about who won or what prize (冠军, 一等奖) and what a sentence must say to answer it
_WINNER_Q = re.compile(r"冠军|亚军|季军|[一二三特]等奖|金奖|银奖|铜奖|第一名|头名|得奖|获奖")
_WINNER = re.compile(r"冠军|亚军|季军|等奖|金奖|银奖|铜奖|第一名|获奖|荣获|获得|夺得|斩获|摘得")
# "现在的党组书记是谁 我印象里还是王久华": the holder the citizen remembers is asked about, not the answer
_STILL_WHO = re.compile(rf"还是([{SURNAMES}][\u4e00-\u9fff]{{1,2}}?)(?=[吧吗呢啊呀嘛]|[\s,，。?？!！]|$)")
_EXCEPT_WHO = re.compile(r"除(?:了)?([\u4e00-\u9fff]{2,4}?)(?:以外|之外|外)?[\s,，]*(?:还有|另外|其他|别的)")
_COUNT_IN_RANK = re.compile(r"\d+[个家所名项][^,，。;；]{0,8}(?:位于|位居|进入|排在|跻身|入围)[^,，。;；]{0,8}$")
# a meeting about an event ("…大会总结会"): where and when it met is not where and when the event was
_SUB_MEETING = re.compile(r"(?:大会|会|节|赛)(?:\([^)]*\))?[“”\"]?(总结会|筹备会|新闻发布会|发布会|推进会|启动会|"
                          r"表彰会|部署会|动员会)")
_MAGNITUDE = re.compile(r"(?<![第这那十百千\d一二三四五六七八九两])几([十百千万]{1,2})(?![年届岁])")
_ORDER = {"十": 10.0, "百": 100.0, "千": 1000.0, "万": 1e4}
_MORE_THAN = re.compile(r"(?<![\d.第前])([1-9]0*)多([万亿])?(?![年届岁])")  # "一千多万", "三百多个": a round guess
_NEW_ASKED = re.compile(r"(?:比(?:以前|之前|往年|前[两2几]届|上一届|上届|去年)?)?多了?(什么|哪些|啥)(?:新的?|新增的?)"
                        r"|比(?:以前|之前|往年|前[两2几]届|上一届|上届|去年)多了(什么|哪些|啥)(?!人|钱)")  # "比往年多了哪些活动"
_GROWTH_Q = re.compile(r"(?:涨|增长|增加|提高|提升|上升|多)了?(?:多少|几|百分之几|好多)")
_GROWTH = re.compile(r"增长|增加|提高|提升|上升|上涨|涨|增幅|较去年|翻")
_STOCK = re.compile(r"已达|已有|截至|目前|现有|累计|达到")
_LEAVE_OUT = re.compile(r"不算|不包括|不包含|不含|不计|刨去|刨除|除去")
_BEFORE_FILLER = frozenset(("有", "是", "一共", "总共", "共", "一共有", "总共有", "大概", "大约", "到底", "究竟", "总计", "合计"))
_RELATIVE_YEAR = {"今年": 0, "去年": 1, "上年": 1, "上一年": 1, "前年": 2}  # years before the report's
_MEASURE_WORDS = set("家个场次届项人名条所年月日期位篇部种批支座处件天户台套本门村站元亩回单趟")


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
    is_heading: bool = False
    title_norm: str = ""
    places: frozenset[str] = frozenset()  # scope and the places the text names
    area: str = ""  # the place its section (else its report) is about, whatever the sentence names
    byline: bool = False  # who wrote the article ("本报记者 肖小江"): an answer only to who wrote it
    figure_texts: list[tuple[str, str, str]] = field(default_factory=list)  # normalised label, clause, clause before
    caption: str = ""  # a photo caption over the sentence that names who it speaks of ("范国滨院士")
    lead: str = ""  # normalised first sentence of the section: the meeting or event it reports on
    frame: str = ""  # normalised: the edition (and event) the section speaks of at this sentence


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
    credit: dict[str, float] = field(default_factory=dict)  # how far each question word is said, 0..1


@dataclass(frozen=True)
class _WordMatcher:
    """How one question word is looked for in a text, compiled once per question."""

    full: re.Pattern[str]  # the word or a synonym of it
    subs: tuple[str, ...]  # parts of a long word, for a partial hit
    related_long: re.Pattern[str] | None
    related_short: re.Pattern[str] | None
    gapped: re.Pattern[str] | None  # a long word's parts a few characters apart ("科普…e站")


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
    modifiers: list[str] = field(default_factory=list)  # "外国" of "多少名外国专家": narrows what is counted
    optional: set[str] = field(default_factory=set)  # tokens added by synonyms: they help, never count against
    fixes: list[tuple[str, str]] = field(default_factory=list)  # typos mended
    recent: bool = False
    words: list[str] = field(default_factory=list)  # the question's content words (jieba, precise mode)
    alternatives: dict[str, list[str]] = field(default_factory=dict)  # word -> synonyms the reports use
    raw: str = ""  # normalised question before places lost their suffix ("济宁市科协")
    related: dict[str, list[str]] = field(default_factory=dict)  # word -> related words the reports use
    answer_type: set[str] = field(default_factory=set)  # "荣誉" of "什么荣誉": the kind of answer
    contrasts: list[tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=list)  # (asked, group)
    # read once per question, used for every sentence: what 不算 leaves out, a guessed size (几百),
    # a change asked (涨了多少), a winner asked (冠军), the person 除了…还有谁 sets aside
    excluded: list[str] = field(default_factory=list)
    magnitude: tuple[float, float] | None = None
    asks_change: bool = False
    asks_winner: bool = False
    asks_next: bool = False
    asks_how: bool = False  # "那笔钱是怎么凑起来的", "流程是啥样": the way something is done
    act: str = ""  # where-questions: what was done there, when it is not the event being held ("在哪发布的")
    listed: list[str] = field(default_factory=list)  # "入选…的4个项目分别是哪几个": counts whose members are asked
    except_who: str = ""
    also_asked: list[str] = field(default_factory=list)  # words of the message's second question, if read apart
    _matchers: dict[str, _WordMatcher] = field(default_factory=dict, repr=False, compare=False)
    figure_words: list[str] = field(default_factory=list)  # the words a figure's own words are matched against

    def matcher(self, word: str) -> _WordMatcher:
        m = self._matchers.get(word)
        if m is None:
            full = re.compile("|".join(_guarded(w, self.normalized)
                                       for w in (word, *self.alternatives.get(word, ()))))
            subs = tuple(t for t in _subwords(word) if len(t) >= 2 and t != word) if len(word) >= 4 else ()
            rel = self.related.get(word, ())
            long_ = [re.escape(a) for a in rel if len(a) >= 2]
            short = [re.escape(a) for a in rel if len(a) < 2]
            m = _WordMatcher(full, subs, re.compile("|".join(long_)) if long_ else None,
                             re.compile("|".join(short)) if short else None, _gapped(word))
            self._matchers[word] = m
        return m


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
        # and the sentences with brackets once more without them: "院士(专家)工作站" says 院士专家工作站
        self.corpus_text = "\n".join([u.norm for u in sentences] + [_deparen(u.norm) for u in sentences if "(" in u.norm])
        # places a typo may be mended into: not a district of the table that no report names ("答疑" is no 大邑)
        self._places = frozenset(r for r in REGIONS if r not in ADDED_DISTRICTS or r in self.corpus_text)
        self.vocabulary = self._vocabulary(list(terms))
        # the shorter names the reports use for a full one ("科创会" for 天府科技云服务大会), from the synonyms
        self._aliases: dict[str, list[str]] = defaultdict(list)
        for word, canonical in self.synonyms:
            if canonical and canonical not in REGIONS and len(word) >= 3 and word in self.corpus_text:
                self._aliases[canonical].append(word)
        # every sentence's context in one string (and once more without "、" and "(…)"), so a
        # question word is looked for once per question, not once per sentence
        self._sentence_ids = [i for i, u in enumerate(units) if u.kind == "sentence"]
        self._contexts = _Concat([units[i].context for i in self._sentence_ids])
        self._contexts_plain = _Concat([_unpunctuated(units[i].context) for i in self._sentence_ids])
        self._contexts_deparen = _Concat([_deparen(units[i].context) for i in self._sentence_ids])
        # recent searches: one knowledge version's index answers the same text the same way
        self._recent: OrderedDict[tuple[str, tuple[str, ...]], tuple[Query, list[Candidate]]] = OrderedDict()
        self._recent_lock = threading.Lock()

    # -- vocabulary and typos --------------------------------------------------

    def _vocabulary(self, terms: list[str]) -> dict[str, str]:
        """pinyin -> the one knowledge-base word that sounds like that (ambiguous sounds dropped)."""
        words = {normalize(t) for t in terms} | set(self._places) | {w for w, _ in self.synonyms}
        words |= {c for _, c in self.synonyms}
        # only words of this knowledge base, not common Chinese: "有几" must not become "有机"
        words |= {t for t in self.df if len(t) >= 2 and general_word_freq(t) < 500}
        by_key: dict[str, set[str]] = defaultdict(set)
        for w in words:
            if 2 <= len(w) <= 8 and re.fullmatch(r"[\u4e00-\u9fff]+", w):
                by_key[pinyin_key(w)].add(w)
        self.known |= words
        # a part of a term the reports name ("立市" of “科技立市”) is a word of theirs, not a typo
        self.known |= {t[a:b] for t in list(self.known) if len(t) >= 4 and re.fullmatch(r"[\u4e00-\u9fff]+", t)
                       for a in range(len(t) - 1) for b in range(a + 2, len(t) + 1)}
        return {k: next(iter(v)) for k, v in by_key.items() if len(v) == 1}

    def idf(self, tok: str) -> float:
        df = self.df.get(tok, 0)
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def pidf(self, tok: str) -> float:
        df = self.pdf.get(tok, 0)
        return math.log(1 + (self.pn - df + 0.5) / (df + 0.5))

    # -- the question ----------------------------------------------------------

    def parse(self, text: str) -> Query:
        # "第三界", "连续办了三界": 届 (a homophone speech-to-text writes)
        said = re.sub(r"(?<=[一二三四五六七八九十\d])界", "届", normalize(text))
        norm = normalize(strip_fillers(our_city(_SELF_CORRECTION.sub(" ", said))))
        norm = _VAGUE_YEARS.sub(" 近年 ", norm)  # "这几年": lately, not "how many years"
        norm = re.sub(r"(?<!\d)((?:19|20)\d{2})(?=人均)", r"\1年", norm)  # "2014人均收入": a year, no 2014人
        # "到22年涨了百分之几": the year 2022, not 22 years
        norm = re.sub(r"(?<=[到至在从于])([12]\d)(?=年(?!来|以来|里|间|多|前|后|内|左右))", r"20\1", norm)
        norm = _HAODUO.sub("多少", norm)  # "好多钱", "好多个": how much, in the south-west's Mandarin
        norm = re.sub(r"好大(?=岁|年纪|年龄)", "多大", norm)  # "好大岁数了": how old
        norm = _CAME.sub("参加", norm)  # "会议一共来了多少人": how many took part ("60余人参加会议")
        norm = re.sub(r"(?<=科协)(的)?(?:一把手|老大|头头)", r"\1主席", norm)  # an association's head is its 主席
        # "比以前多了什么新活动", "比往年多了哪些活动": what was added (新增了…)
        norm = _NEW_ASKED.sub(lambda m: "新增了" + (m.group(1) or m.group(2)), norm)
        norm = _RANGE_GUESS.sub(" ", norm)  # "两三千场?", "是不是五六年": a guess, not what is asked
        norm = self._claimed_place(norm)
        # "是不是就在5月30号当天办的": the day the citizen remembers is asked, not given
        norm = re.sub(r"(?<=是不是|应该是|好像是)(就|也)?(在)?\d{1,2}月\d{1,2}[日号](?:当天|那天)?", r"\1\2哪天", norm)
        norm = re.sub(r"\d{1,2}月\d{1,2}[日号](?=(?:启动|开幕|开|举办|举行|召开|办)的?\s*(?:吧|吗|是吗|对吗|对吧|是吧|对不))",
                      "哪天", norm)  # "是9月17号启动的吧", "是1月26号开的 是吗"
        if _CONFIRM_Q.search(norm) and re.search(r"(?:19|20)\d{2}年", norm):
            # "2020年办的是第20届吧", "2020年应该办到第二十几届了吧": the year says which edition; the
            # one the citizen guesses is asked ("第几届"), not one the sentence must say
            norm = re.sub(r"第\d+几?(?=届)", "第几", norm)
        if not _ASKING.search(norm):  # a search box's words: "调研企业数", "述责述廉会 日期", "第三届科创会 时间地点"
            norm = _COUNT_ASKED.sub(lambda m: f" 多少{m.group(1) or ''}", norm)
            norm = _KEYWORD_ASKED.sub(lambda m: f" {_KEYWORD_ASKS[m.group(1)]}", norm)
        norm = _HEARSAY.sub("听说", norm)  # "我们单位领导说…", "朋友圈看到…": what they heard, not a word to find
        # a statement with no question word ("安州组织了30家企业去参加…大会") asks to check it, like "…对吗"
        if not _ASKING.search(_CONFIRM_Q.sub(" ", norm)):
            # "分红好像是8000块?", "比例是10.7%吗": a figure the citizen remembers and wants checked is
            # asked, not given: "分红好像是多少块" (the reply shows the report's figure, right or not)
            norm = _CLAIMED.sub("多少", norm)
        else:  # "听说挂包书台村有5年了，确切是几年": what they heard is no figure the answer must say
            norm = "".join(_CLAIMED.sub(" ", c) if _HEARD.search(c) else c for c in re.split(r"(?<=[,，?？;；])", norm))
        norm = re.sub(r"((?:多少|几)[场次个回])会(?![员议])", r"\1会议", norm)  # "几场会": meetings, not "can"
        norm = _IN_ALL.sub(r"\1 ", norm)  # "一共建了": 一共 / 建了, not 一 / 共建 / 了
        norm = _SPLIT_VERB.sub(lambda m: self._join_verb(m), norm)  # "颁的奖" says 颁奖
        norm = _MEASURE_GLUE.sub(lambda m: _unglue(m, self.corpus_text), norm)
        norm = _WHY_GLUE.sub("为 什么", _YEAR_GLUE.sub(r"\1 ", norm)).replace("上一届", "上届")
        norm = re.sub(rf"全(?=(?:{'|'.join(REGIONS)}))", " ", norm)  # "全山东": all of 山东
        # "安州区带了几个": the place's suffix would glue to the next word
        raw = norm
        norm = re.sub(rf"({'|'.join(REGIONS)})(?=[市县区]级)", r"\1 ", norm)  # "成都市级学会": 成都 + 市级
        suffix = rf"({'|'.join(REGIONS)})(?:(?:市|县|区)(?![委政级])|省(?!科协|委|政))"
        norm = re.sub(suffix, r"\1 ", norm)
        # "四川省科协": the province, then the reports' "省科协" (not "四川省" / "科协")
        norm = re.sub(rf"({'|'.join(REGIONS)})(?=省科协)", r"\1 ", norm)
        norm, fixes = mend_typos(norm, self.vocabulary, self.known, places=self._places)
        norm = re.sub(r"(哪(?:个|一个)?|所在(?:的)?)乡镇", r"\1镇", norm)  # "所在乡镇": the reports name a 镇
        norm = re.sub(r"哪[两三四五六七八九](?=[个项家位种样句条])", "哪几", norm)  # "哪三个长": which, not 3
        norm = re.sub(r"哪一(?=[位个家项天年])", "哪", norm)  # "是哪一位": who, not one person
        norm = re.sub(r"(?<![\d.第])1年(?=收入|能收|挣|赚|分红|增收)", "年", norm)  # "村集体一年收入": yearly, no 1
        norm = norm.replace("每个人", "每人")  # "每个人的收入": 每人 (人均), not 每 / 个人
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
        # "第二届天府科技云服务大会" is said by "第二届“科创会”": a name the reports also use for it
        aliases = {canonical: [w for w in names if w not in norm]
                   for canonical, names in self._aliases.items() if canonical in norm}
        expanded = " ".join([norm, *(c for alts in alternatives.values() for c in alts)])
        tokens = tokenize(expanded)
        optional = set(tokens) - set(tokenize(norm))
        # a citizen's guess ("两千多项吧", "一百来位", "是不是148个") is no constraint on the answer,
        # and "两千多项" names nothing the sentence must say: neither 2000 nor 多项 is a content word
        guessed = set(_GUESS.findall(norm)) | set(re.findall(r"(?<=每年)\d+(?=月)", norm))  # "每年九月": when, not which
        words = []
        for w in self._mend_boundaries(cut(norm)):
            w = w.strip()
            if not is_token(w) or w in QUESTION_NOISE or _QUESTION_WORD.fullmatch(w) or \
                    (len(w) == 1 and w in _MEASURE_WORDS) or (w in guessed and not _CHECKS.search(norm)) or \
                    _GUESS_TAIL.fullmatch(w):
                continue
            stem = re.sub(r"(了|过|着)$", "", w)
            if stem != w and stem in STOPWORDS and w not in self.df:
                continue  # "整了多少场", "搞过几回": a stop verb jieba glued to its particle ("调整了" holds 整了)
            if w not in self.df and w not in self.corpus_text:
                w = re.sub(r"^(有|是|哪|谁|啥|去|来)|(了|过|着|上|下|到|完|好|起|得|的|啦|吗|呢|吧|里)$", "", w) or w
                if len(w) >= 3 and w[:-1] in self.df:
                    w = w[:-1]  # "推文发(了)": the report's word and a verb jieba glued to it
                elif len(w) >= 3 and w[1:] in self.df:
                    w = w[1:]
            if is_token(w) and not _COUNT_WORD.fullmatch(w):
                words.append(w)
        for word, alts in list(alternatives.items()):
            for w in words:
                if word in w or w in word:
                    alternatives.setdefault(w, alts)
        for canonical, names in aliases.items():
            if names and canonical in words:
                alternatives[canonical] = [*alternatives.get(canonical, []), *names]
        answer_type = {w for m in _ANSWER_TYPE.finditer(norm) for w in words if m.group(1).startswith(w)}
        answer_type |= {m.group(1) for m in _NAMED_KIND_Q.finditer(norm) if m.group(1) in words}  # "主题是什么"
        related: dict[str, list[str]] = {}
        for w in words:
            alts = [a for a in related_words(w) if a in self.corpus_text and a not in words]
            if alts:
                related[w] = alts
        regions = regions_in(expanded)
        # a city named with its province ("四川绵阳"): the city is what is asked about
        regions = [r for r in regions if not any(r in ancestors(o) for o in regions)] or regions
        unit_class = ""
        for pattern, name in _UNIT_HINTS:
            if re.search(pattern, expanded):
                unit_class = name
                break
        figure = bool(_QUESTION_WORD.search(expanded)) or unit_class in ("ordinal",) or (
            unit_class in ("money", "area") and not _WH_WORD.search(expanded))  # "成都工作站 争取经费", "枳壳 面积"
        if figure and _NAME_OF_WHAT_SOME_DID.search(expanded) and not re.search(r"多少|几(?![个家所位名])", expanded):
            figure, unit_class = False, ""  # "几家科协签的那份协议 名字叫什么": the name is asked, not how many
        if figure and "名单" in expanded:
            figure, unit_class = False, ""  # "那30名科技工作者名单有吗": who they are, not how many
        focus, counted, modifiers = _focus(_GUESS_SPAN.sub(" ", norm))  # "申请专利两千多项吧 具体多少": 申请专利
        # the head names who is counted: "多少名专家", "受益群众多少"; of "院士工作站 数量" it is 工作站,
        # a thing (院士 only says which), and a verb before the question word names no head
        head = focus[:1] if counted or not focus else focus[-1:] if _pos_of(focus[-1]).startswith("n") and not \
            _PERSON_NOUN.search(focus[-1]) else focus[-1:] + focus[:1]
        if figure and not unit_class and focus and any(_PERSON_NOUN.search(f) for f in head):
            unit_class = "person"
        if figure and not unit_class and re.search(r"(?:几|多少)个", expanded):
            unit_class = "count"  # "多少个学会", "几个大使": things or people, not a share or an age
        if _CONTACT_Q.search(expanded):
            qtype = "contact"
            figure = False
        elif _HOW_TO.search(expanded) or _REQUIREMENT_Q.search(expanded):
            qtype = "how"
            figure = False
        elif _DATE_Q.search(expanded):
            qtype = "date"
            figure = False
        elif _RANK_Q.search(expanded):
            qtype = "rank"
            figure = False
        elif figure:
            qtype = "figure"
        elif _WHICH_PEOPLE_Q.search(expanded) or (
                _WHO_Q.search(expanded) and not _PARTNER_Q.search(expanded) and not _ORG_NAME_Q.search(expanded)
                and not _WHICH_ORG_Q.search(expanded)) or (
                _POST_ASK.search(expanded)):  # "科协主席叫什么", "组长是哪个": a post asked for, so a person
            qtype = "who"
        elif _WHERE_Q.search(expanded):
            qtype = "where"
        else:
            qtype = "other"
        # "一年收入多少" (a year's income) names no figure; "第1届" does
        numbers = [n for n in _NUMBER.findall(norm) if (n != "1" or re.search(r"第1(?!\d)", norm)) and n not in guessed]
        if "2" in numbers and _TWO_SAID.search(text) and not re.search(r"[2２二]", text):
            numbers.remove("2")  # "成都和绵阳两家科协", "比前两届": how many are spoken of, not a figure asked
            words = [w for w in words if w != "2"]
        if "首届" in norm and "1" not in numbers:
            numbers.append("1")
        query = Query(text=text, normalized=expanded, tokens=tokens, regions=regions, figure=figure,
                      unit_class=unit_class, qtype=qtype, numbers=numbers, focus=focus, counted=counted,
                      modifiers=modifiers,
                      optional=optional, fixes=fixes, recent=bool(_RECENT_Q.search(expanded)),
                      words=list(dict.fromkeys(words)), alternatives=alternatives, raw=raw, related=related,
                      answer_type=answer_type, contrasts=_contrasts_asked(words),
                      magnitude=_magnitude_guessed(expanded), asks_change=bool(_GROWTH_Q.search(expanded)),
                      asks_winner=bool(_WINNER_Q.search(expanded)), asks_next=bool(_NEXT_Q.search(expanded)),
                      asks_how=bool(MANNER_Q.search(expanded)))
        query.excluded = _excluded_words(query)
        act = _WHERE_ACT_Q.search(expanded) if qtype == "where" else None
        query.act = act.group(1) if act else ""
        if qtype in ("who", "other") and _LIST_Q.search(expanded):
            # "那20个项目都涵盖哪些领域" asks the fields, not which the 20 projects are
            query.listed = [m.group(1) for m in _STATED_COUNT.finditer(expanded) if not answer_type or any(
                a in expanded[m.end():m.end() + 6] for a in answer_type)]
        except_who = _EXCEPT_WHO.search(expanded) if qtype == "who" else None
        query.except_who = except_who.group(1) if except_who else ""
        still = _STILL_WHO.search(expanded) if qtype == "who" and query.recent else None
        if still and not query.except_who:
            query.except_who = still.group(1)
            query.words = [w for w in query.words if w != still.group(1)]
        # a word no report uses and that relates to none ("劝人莫信邪教": 劝人, 莫信) is said by no figure: it
        # cannot tell two figures apart, and weighed in a figure's match it would hold every figure under the
        # floor (a place, "泰安", or a figure, "2万块", still counts: it says the question is about another)
        if qtype == "figure":
            content = [t for t in query.words if t not in query.regions]
            query.figure_words = [t for t in content if not self._never_said(query, t) or re.search(r"\d", t)
                                  or _pos_of(t) == "ns"] or content
        return query

    def _claimed_place(self, norm: str) -> str:
        """A place the citizen guesses is asked, not given: "是不是在任城区启动的?" asks where it
        started, and "好像是巴中恩阳区的吧? 到底属于哪个区" does not need a sentence about 恩阳
        (the most specific place of the guess goes; 巴中 stays)."""
        places = "|".join(sorted(REGIONS, key=len, reverse=True))
        norm = re.sub(rf"是不是在(?:{places})(?:市|县|区)?", "在哪里", norm)
        m = re.search(r"(?:好像是|好像在|应该是|应该在|是不是)([^,，?？\s吧吗]*)", norm)
        if m and re.search(r"(哪个|哪里|在哪|什么地方)", norm[m.end():]):
            claimed = regions_in(m.group(1))
            if claimed:
                clause = re.sub(rf"{claimed[0]}(?:市|县|区)?", " ", m.group(1), count=1)
                norm = norm[:m.start(1)] + clause + norm[m.end(1):]
        return norm

    def _join_verb(self, m: re.Match[str]) -> str:
        """A verb the reports write as one word, split by 的/了/过 in speech ("颁的奖", "讲的话",
        "签了约") or by the question word ("分多少红"): joined again, so it meets the report's word."""
        word = m.group(1) + m.group(3)
        if word in self.df and (_pos_of(word).startswith("v") or _pos_of(m.group(1)) == "v"):
            return word + (" " + m.group(2) if m.group(2) in ("多少", "几") else "")  # "分多少红": 分红 多少
        return m.group(0)

    def _mend_boundaries(self, pieces: list[str]) -> list[str]:
        """Undo jieba's wrong cuts next to a word the reports never use.

        "借年会" cut as 借年/会, "学术会议和" as 学术会/议和, "5年建了" as 5/年建: a piece
        the reports never say gives a character to its neighbour when that makes a word the
        reports use (年会, 学术会议, 建). A place glued to its association ("济宁科协",
        from the domain terms) is read as the place and the rest: the place is judged by
        what the sentence is about, and the reports mostly write "市科协".
        """
        out = [p.strip() for p in pieces if p.strip()]

        def unknown(w: str) -> bool:
            return w not in self.df and w not in self.corpus_text

        for i in range(len(out)):
            w = out[i]
            if len(w) < 2 or not re.fullmatch(r"[\u4e00-\u9fff]+", w) or not unknown(w) \
                    or _QUESTION_WORD.search(w) or _WH_WORD.search(w):
                continue  # "多少", "哪些": the question's own words are not the reports'

            nxt = out[i + 1] if i + 1 < len(out) else ""
            prev = out[i - 1] if i > 0 else ""
            if nxt and re.fullmatch(r"[\u4e00-\u9fff]+", nxt) and (w[-1] + nxt) in self.df:
                out[i], out[i + 1] = w[:-1], w[-1] + nxt
            elif prev and re.fullmatch(r"[\u4e00-\u9fff]+", prev) and (prev + w[0]) in self.df:
                out[i - 1], out[i] = prev + w[0], w[1:]
            elif (re.fullmatch(r"\d+", prev) or prev in ("哪", "哪一")) and w[0] in "年月天届次" and len(w) >= 2:
                out[i - 1], out[i] = prev + w[0], w[1:]  # "哪天开的": 哪天/开, not 哪/天开
        split: list[str] = []
        for w in out:
            region = next((r for r in REGIONS if w.startswith(r) and len(w) > len(r)), None)
            if region and is_token(w[len(region):]):
                split += [region, w[len(region):]]
            else:
                split.append(w)
        return [w for w in split if w]

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
        """The question's reading and its best `limit` candidates, best first.

        The ranking depends only on the text and this index (one knowledge version), and
        nothing changes a candidate after it is ranked, so the top RECENT_KEPT of the last
        RECENT_SEARCHES texts are kept: a turn searches one question several times (the
        answer, the places that answer it), and citizens ask the popular ones again.
        """
        if limit > RECENT_KEPT:
            return self._search(text, limit, kinds)
        key = (text, kinds)
        with self._recent_lock:
            hit = self._recent.get(key)
            if hit is not None:
                self._recent.move_to_end(key)
        if hit is None:
            hit = self._search(text, RECENT_KEPT, kinds)
            with self._recent_lock:
                self._recent[key] = hit
                while len(self._recent) > RECENT_SEARCHES:
                    self._recent.popitem(last=False)
        query, ranked = hit
        return query, ranked[:limit]

    def _search(self, text: str, limit: int, kinds: tuple[str, ...],
                apart: bool = True) -> tuple[Query, list[Candidate]]:
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
        asks = _two_asks(text) if apart and "sentence" in kinds and not any(
            c.eligible and c.unit.kind == "sentence" for c in out) else None
        if asks:
            # "安州区科协办了多少期农村实用技术培训 培训了多少人次": read together, the two questions fit no
            # sentence; the first is read alone, and the reply quotes what the second asks where it says it
            # — where the sentence that answers the first is one that may answer the second, read alone
            # ("…几家院士工作站 申报条件是什么": no sentence that counts them says how to apply)
            # (each part once, never split again: a long message of many clauses costs two more searches)
            first, ranked = self._search(asks[0], limit, kinds, apart=False)
            top = next((c for c in ranked if c.eligible and c.unit.kind == "sentence"), None)
            second, fits = self._search(asks[1], RECENT_KEPT, ("sentence",), apart=False) if top is not None \
                else (None, [])
            if top is not None and any(c.eligible and c.unit is top.unit for c in fits):
                first.also_asked = [t for t in second.tokens if len(t) >= 2]
                return first, ranked
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
            if w in query.answer_type:
                out[w] *= ANSWER_TYPE_WEIGHT
        return out

    def hit(self, query: Query, word: str, text: str, partial: bool = True) -> float:
        """1 when the text says the word (or a synonym of it); part of it for part of a long word,
        for its parts a few characters apart ("科普…e站"), or for a related word ("率" for "领队")."""
        m = query.matcher(word)
        if m.full.search(text):
            return 1.0
        if ("、" in text or "(" in text) and m.full.search(_unpunctuated(text)):
            return 1.0  # "县、区" says "县区", "区(市)县" says "区县"
        if "(" in text and m.full.search(_deparen(text)):
            return 1.0  # "院士(专家)工作站" says "院士专家工作站"
        out = 0.0
        if partial and m.subs:
            out = 0.5 * sum(1 for t in m.subs if t in text) / len(m.subs)
        if m.related_long is not None and m.related_long.search(text):
            out = max(out, RELATED_HIT)
        elif m.related_short is not None and m.related_short.search(text):
            out = max(out, RELATED_HIT_SHORT)
        if partial and m.gapped is not None and m.gapped.search(text):
            out = max(out, GAPPED_HIT)
        return out

    def _context_hits(self, query: Query, word: str) -> dict[int, float]:
        """`hit` of a word in every sentence's context, by position in `_sentence_ids`."""
        m = query.matcher(word)
        out: dict[int, float] = {}
        if m.subs:
            counts: Counter = Counter()
            for t in m.subs:
                counts.update(self._contexts.containing_str(t))
            for pos, n in counts.items():
                out[pos] = 0.5 * n / len(m.subs)
        if m.related_short is not None:
            for pos in self._contexts.containing(m.related_short):
                out[pos] = max(out.get(pos, 0.0), RELATED_HIT_SHORT)
        if m.related_long is not None:
            for pos in self._contexts.containing(m.related_long):
                out[pos] = max(out.get(pos, 0.0), RELATED_HIT)
        if m.gapped is not None:  # "科普e站" in "“科普中国”乡村e站": its parts in order, a few characters apart
            for pos in self._contexts.containing(m.gapped):
                out[pos] = max(out.get(pos, 0.0), GAPPED_HIT)
        for pos in (self._contexts.containing(m.full) | self._contexts_plain.containing(m.full)
                    | self._contexts_deparen.containing(m.full)):
            out[pos] = 1.0
        return out

    def _rank_sentences(self, query: Query, qtoks: list[str]) -> list[Candidate]:
        scores, matched = self._bm25(qtoks)
        pscores = self._passage_scores(qtoks) if self.passages else []
        weights = self._weights(query, qtoks)
        total = sum(weights.values()) or 1.0
        # the rarest word of the question that the reports use must be there ("信息学竞赛"); a number
        # is checked on its own (a guess, "两千多项吧", is no constraint)
        known_words = [w for w in weights if w in self.df and len(w) >= 3 and not regions_in(w)
                       and not re.search(r"\d", w)]
        key = max(known_words, key=lambda w: weights[w]) if known_words else ""
        # sub-words of a longer question word ("天府", "科技" of "天府科技云") are
        # matched when the longer one is
        in_context = {w: self._context_hits(query, w) for w in weights}
        memo: dict[tuple[str, str, bool], float] = {}

        def said(w: str, text: str, partial: bool = True) -> float:  # texts many sentences share
            k = (w, text, partial)
            if k not in memo:
                memo[k] = self.hit(query, w, text, partial)
            return memo[k]

        pre: list[Candidate] = []
        # the year asked of, said relative to the report ("去年"), not what a figure is compared with ("比上一年")
        when_asked = {w for w in _RELATIVE_YEAR if w in weights and not re.search(f"[比较]{w}", query.normalized)}
        for pos, i in enumerate(self._sentence_ids):
            unit = self.units[i]
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
                h = in_context[w].get(pos, 0.0)
                if w in query.regions and w in unit.scope:
                    h = max(h, 0.7)
                elif h < 1.0 and unit.frame and said(w, unit.frame) >= 1.0:
                    h = max(h, FRAME_HIT)
                elif h < 1.0 and unit.lead and said(w, unit.lead, False) >= 1.0:
                    # a sentence that points back at its section's meeting ("…60余人参加会议") says
                    # what the section's first line names; any other sentence of it, partly
                    h = max(h, 1.0 if _BACK_TO_MEETING.search(unit.norm) else LEAD_HIT)
                elif h < 1.0 and (w in unit.passage_norm or w in unit.title_norm):
                    h = max(h, 0.5)
                if unit.byline and _AUTHOR_Q.fullmatch(w):
                    h = 1.0  # a byline says who wrote (写, 报道) the article
                if h < 1.0 and w in when_asked and unit.published_at is not None and \
                        f"{unit.published_at.year - _RELATIVE_YEAR[w]}年" in unit.text:
                    # "去年科服保姆跑了多少趟": a report of early 2024 says "2023年,…"; the sentence itself
                    # must say the year, so that the reply shows which year it is
                    h = 1.0
                got[w] = h
            cand.coverage = sum(weights[w] * got[w] for w in weights) / total
            cand.credit = got
            cand.matched = [w for w in weights if got[w] >= 1.0]
            if key and got.get(key, 0.0) < 0.5:
                cand.eligible = False
                cand.why.append(f"does not speak of {key}")
            cand.score *= cand.coverage ** COVERAGE_POWER
            pre.append(cand)
        # the question's shape (place, figure, date...) is judged best first; once even the
        # largest boost could not lift a sentence into the top ten, the rest are left out
        pre.sort(key=lambda c: -c.score)
        out: list[Candidate] = []
        top: list[float] = []
        for n, cand in enumerate(pre):
            if n >= JUDGE_AT_LEAST and len(top) >= 10 and cand.score * MAX_FACTOR < top[9]:
                break
            self._judge(query, qtoks, weights, cand)
            out.append(cand)
            if cand.eligible:
                top.append(cand.score)
                top.sort(reverse=True)
        # a heading is a title, not an answer, when a sentence of its passage says as much by itself
        # (or under it: "- **丰富科技会堂服务功能**" stands as a passage of its own over the paragraph it titles)
        def says(unit: Unit) -> float:  # how much of the question the text says by itself
            return sum(weights[w] * self.hit(query, w, unit.norm) for w in weights) / total

        best_sentence: dict[int, float] = {}
        under: dict[str, float] = {}
        for cand in out:
            if not cand.unit.is_heading:
                own = says(cand.unit)
                pid = cand.unit.passage_index
                best_sentence[pid] = max(best_sentence.get(pid, 0.0), own)
                if cand.unit.heading:
                    under[cand.unit.heading] = max(under.get(cand.unit.heading, 0.0), own)
        for cand in out:
            if not cand.unit.is_heading:
                continue
            below = under.get(cand.unit.text)
            if best_sentence.get(cand.unit.passage_index, -1.0) >= cand.coverage or (
                    below is not None and below >= says(cand.unit)):
                cand.score *= HEADING_DEMOTE
                cand.why.append(f"a heading; a sentence under it says as much ×{HEADING_DEMOTE}")
        return out

    def _judge(self, query: Query, qtoks: list[str], weights: dict[str, float], cand: Candidate) -> None:
        """Boosts and constraints from the question's shape; they explain themselves in `why`."""
        unit = cand.unit
        factor = 1.0
        # places, and which level of association
        if query.regions:
            level = _region_match(query.regions, unit)
            part = _part_of(query.regions, unit) if query.qtype == "figure" else ""
            if part:
                cand.eligible = False  # "四川全省建了多少个科普e站": 绵阳's 148 is not the province's
                cand.why.append(f"a figure of {part}, a part of {'/'.join(query.regions)}")
            elif level == "exact":
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
        # (the section's first sentence too: "省科协召开2023年度…会议" dates the "60余人参加会议" below it)
        wide = unit.context + " " + unit.passage_norm + " " + unit.title_norm + " " + unit.lead
        missing = []
        for n in query.numbers:
            edition = rf"(第{re.escape(n)}{'|首' if n == '1' else ''})届"
            if re.search(edition, query.normalized):
                # the sentence's own edition, else the one its section speaks of, else its passage's
                own = _editions(unit.norm) or _editions(unit.frame)
                # (the report a citizen points at by its edition, "第三届大会那篇报道里说的", "按第三届大会那会儿
                # 的数据", is one whose title names it: "透过第三届…看绵阳")
                ok = n in own if own else bool(re.search(edition, unit.context + " " + unit.passage_norm + (
                    " " + unit.title_norm if _REPORT_MEANT.search(query.normalized) else "")))
                if ok and not _editions(unit.norm) and _ACROSS_EDITIONS.search(unit.norm):
                    ok = False  # "连续三年深度参与…共…36个": a total over the editions, not the 3rd's
                if not ok and not _editions(unit.norm) and unit.frame and _listed_editions(unit, n):
                    ok = True  # "成功举办第19届…大赛,第21届信息学竞赛、第4届机器人竞赛。其中…": any of the list
            elif re.search(rf"第{re.escape(n)}[批期]", query.normalized):
                ok = bool(re.search(rf"第{re.escape(n)}[届批期]", unit.context + " " + unit.passage_norm))
            elif re.search(rf"(?<![\d.]){re.escape(n)}大", query.normalized):
                # "七大以来": the congress a review is about is named in its title
                ok = bool(re.search(rf"(?<![\d.]){re.escape(n)}大", wide))
            elif re.search(rf"(?<![\d.]){re.escape(n)}年", query.normalized) and len(n) == 4:
                ok = bool(re.search(rf"(?<![\d.]){re.escape(n)}(?![\d.])", wide)) or (
                    # "2024年初…注册的有多少": a report of early 2024 that gives the count it has reached
                    bool(re.search(rf"{n}年(?:年)?初", query.normalized)) and unit.published_at is not None
                    and str(unit.published_at.year) == n and unit.published_at.month <= 3
                    and bool(_STOCK.search(unit.norm)))
            elif len(n) <= 2 and re.search(rf"(?<![\d.]){re.escape(n)}年(?:来|里|间|内|中)?(?![\d份])", query.normalized):
                # "绵阳科协五年培训…": a span of years its section or report may give ("五年来,…")
                ok = bool(re.search(rf"(?<![\d.]){re.escape(n)}(?![\d.])", wide))
            elif re.search(rf"(?<![\d.]){re.escape(n)}(?:月|日|号)", query.normalized):
                # "1月26日开的会": the date its section gives, not the sentence that answers
                ok = bool(re.search(rf"(?<![\d.]){re.escape(n)}(?![\d.])", wide))
            else:
                ok = bool(re.search(rf"(?<![\d.]){re.escape(n)}(?![\d.])", unit.context))
            if not ok:
                missing.append(n)
        if missing:
            cand.eligible = False
            cand.why.append(f"does not say {','.join(missing)}")
        level = next((t for t in query.words if _LEVEL_WORD.fullmatch(t)), "") if query.qtype == "figure" else ""
        if level and self.hit(query, level, unit.context, False) < 1.0 and not (
                level in _LEVEL_SAID and re.search(_LEVEL_SAID[level], unit.context)):
            cand.eligible = False  # "国际学术会议有多少场": not "学术交流活动50余场", which says no level
            cand.why.append(f"says no {level}")
        sub = _SUB_MEETING.search(unit.norm) if query.qtype in ("where", "date") else None
        if sub and sub.group(1) not in query.normalized:
            cand.eligible = False  # "第二届…大会(以下简称“科创会”)总结会在省科协召开": not where the 大会 was
            cand.why.append(f"places or dates its {sub.group(1)}, not the event")
        if query.qtype == "figure":
            best, best_cov = self._best_figure(query, weights, unit)
            if best is None:
                cand.eligible = False
                cand.why.append(f"no {query.unit_class or 'figure'} here")
            else:
                cand.figure, cand.label_coverage = best, best_cov
                factor *= 0.6 + best_cov
                if query.unit_class in ("items", "times") and best.unit_class != query.unit_class:
                    factor *= CROSS_KIND  # "多少场活动": "12个活动受到表扬" counts in 个, "活动132场次" in 场
                    cand.why.append(f"counted in another measure ×{CROSS_KIND}")
                cand.why.append(f"figure {best.text} ({best.unit_class}), its words match {best_cov:.2f}")
        elif query.qtype == "date":
            step = _STEP.search(query.normalized)
            if step and not re.search(_STEP_SAID.get(step.group(1), step.group(1)), unit.context):
                cand.eligible = False  # "什么时候投产": "签约开工" dates another step
                cand.why.append(f"dates another step, not {step.group(1)}")
            wants_day = bool(_DAY_Q.search(query.normalized))
            wants_year = bool(_YEAR_Q.search(query.normalized))
            if wants_year:
                if _A_YEAR.search(unit.text):
                    factor *= 1.3
                    cand.why.append("has a year ×1.3")
                else:
                    cand.eligible = False
                    cand.why.append("no year here")
            elif _DAY.search(unit.text):
                factor *= 1.3
                cand.why.append("has a date ×1.3")
            elif not wants_day and any(d not in query.normalized for d in _HAS_DATE.findall(unit.text)):
                cand.why.append("has a year or month")  # (not only the year asked of: "2023年…什么时候报名")
            else:
                cand.eligible = False
                cand.why.append("no date here")
        elif query.qtype == "who":
            if unit.names:
                factor *= 1.5
                cand.why.append(f"names {','.join(unit.names[:3])} ×1.5")
            elif _AGENT_Q.search(query.normalized) and _AGENT.search(unit.text):
                cand.why.append("names who did it (a body, not a person)")
            else:
                cand.eligible = False
                cand.why.append("names nobody")
        elif query.qtype == "where":
            kind = _PLACE_KIND_Q.search(query.normalized)
            if kind:
                suffixes = _PLACE_KINDS.get(kind.group(1), kind.group(1)[-1])
                named = [m.group(0) for m in re.finditer(rf"[\u4e00-\u9fff]{{2,6}}?(?:{suffixes})", unit.text)
                         if m.group(0) not in query.normalized
                         and not re.search(r"[我本全该各此][市县区镇村]$", m.group(0))]  # "实现了我市" names none
                if kind.group(1) in ("城市", "市", "县", "区"):  # (a county or a district is no province: 四川)
                    named += [r for r in regions_in(unit.text) if r not in query.regions
                              and (kind.group(1) in ("城市", "市") or len(ancestors(r)) >= 2)]
                if _ANOTHER_Q.search(query.normalized):  # "另外一个是哪个市 济宁拿了一个": not 济宁市
                    named = [n for n in named if not any(r in n for r in query.regions)]
                if named and _HELD_Q.search(query.normalized) and not _HELD_AT.search(unit.text):
                    cand.eligible = False  # "在哪个城市开的": a city the sentence names for another reason
                    cand.why.append(f"names a {kind.group(1)}, not where it was held")
                elif named:
                    factor *= 1.5 * (1.3 if _HELD_AT.search(unit.text) else 1.0)
                    cand.why.append(f"names a {kind.group(1)} ({named[0]}) ×1.5")
                    # "在哪个县区哪个镇": a sentence that names each kind asked answers both
                    for more in _PLACE_KIND_Q.finditer(query.normalized, kind.end()):
                        said = re.search(rf"[\u4e00-\u9fff]{{2,6}}?(?:{_PLACE_KINDS.get(more.group(1), more.group(1)[-1])})",
                                         unit.text.replace(named[0], " "))
                        if said and said.group(0) not in query.normalized:
                            factor *= 1.5
                            cand.why.append(f"and a {more.group(1)} ({said.group(0)}) ×1.5")
                else:
                    cand.eligible = False
                    cand.why.append(f"names no other {kind.group(1)}")
            elif query.act and self.hit(query, query.act, unit.norm) < RELATED_HIT:
                cand.eligible = False  # "20个项目在哪发布的": where the event was held is not where they were released
                cand.why.append(f"does not say where it was {query.act}")
            elif _HELD_AT.search(unit.text):
                factor *= 2.0
                cand.why.append("says where it was held ×2")
            elif not _HELD_Q.search(query.normalized) and (
                    any(not _is_subject(query, m.group(0) + unit.text[m.end():m.end() + 8])
                        for m in _AT_PLACE.finditer(unit.text))
                    or any(f"在{r}" in unit.text for r in REGIONS) or _CENTRED_AT.search(unit.text)):
                cand.why.append("names a place")
            else:
                cand.eligible = False
                cand.why.append("says no place")
        elif query.qtype == "how":
            if not _PROCEDURE.search(unit.text):
                cand.eligible = False
                cand.why.append("the reports tell no procedure")
        elif query.qtype == "rank":
            stated = [n for n in query.numbers if re.search(rf"(?<![\d.]){re.escape(n)}[个家所名项]", unit.norm)]
            if stated and _RANK.search(unit.text):
                factor *= 1.3  # "有7个县区排进全省前多少名": the count is given, the rank it reached is asked
                cand.why.append("says the rank the count reached ×1.3")
            elif _RANK.search(unit.text) and all(_COUNT_IN_RANK.search(unit.text[:m.start()][-16:] + m.group(0))
                                                  for m in _RANK.finditer(unit.text)):
                cand.eligible = False  # "有5个县、区位于全省前二十": how many made it, no rank of what is asked
                cand.why.append("counts what reached a rank")
            elif _RANK.search(unit.text):
                factor *= 1.3
                cand.why.append("says a rank ×1.3")
            else:
                cand.eligible = False
                cand.why.append("says no rank")
        elif query.qtype == "contact":
            if not _CONTACT.search(unit.text):
                cand.eligible = False
                cand.why.append("gives no phone number or address")
        if unit.byline and not (query.qtype == "who" and _AUTHOR_Q.search(query.normalized)):
            cand.eligible = False  # a byline answers who wrote the article, nothing else
            cand.why.append("a byline")
        post = _POST_Q.search(query.normalized) if query.qtype == "who" else None
        if query.qtype in ("who", "other") and _LIST_Q.search(query.normalized) and not _LISTS.search(unit.text):
            cand.eligible = False  # "八大战略性新兴产业具体是哪些": a sentence that names them but lists none
            cand.why.append("lists nothing")
        elif query.listed:
            # "入选…的4个项目分别是哪几个": the clause that counts the 4 must name them ("绵阳4个科创项目入选…" does not)
            counts: dict[str, str] = {}  # each count with the first clause that says it
            for c in re.split(r"[，,；;。]", unit.norm):
                for n in _STATED_COUNT.findall(c):
                    counts.setdefault(n, c)
            unnamed = next((n for n in query.listed if n in counts and not _names_members(counts[n], n)), "")
            if unnamed:
                cand.eligible = False
                cand.why.append(f"counts {unnamed} and names none of them")
        if post and post.group(1) not in ("一把手", "作者" if unit.byline else "") and post.group(1) not in unit.text:
            cand.eligible = False  # "巡察组的组长是哪个": a sentence that names no 组长
            cand.why.append(f"names no {post.group(1)}")
        org_title = _ORG_TITLE_Q.search(query.normalized)
        if org_title and query.qtype == "who" and not re.search(rf"科协[^，,。；;]{{0,10}}{org_title.group(1)}", unit.text):
            cand.eligible = False
            cand.why.append(f"names no {org_title.group(0)}")
        if _COMPANY_Q.search(query.normalized) and not any(
                m.group(0) not in query.normalized for m in _COMPANY.finditer(unit.text)):
            cand.eligible = False  # "卖给哪家公司": a sentence that names no company does not say which
            cand.why.append("names no company")
        clash = self._event_clash(query, unit) or _contrast_clash(query.contrasts, unit.norm)
        if clash:
            cand.eligible = False
            cand.why.append(clash)
        level_clash = _level_clash(query.raw, unit.text) or _title_clash(query.normalized, unit.text)
        if not level_clash and query.asks_winner and not _WINNER.search(unit.context):
            level_clash = "names no winner"  # "大赛的冠军是哪所学校": "成功举办…大赛" is not who won
        if not level_clash and query.asks_next and not _PLANNED.search(unit.context):
            level_clash = "says what was, not the next time"  # "集市下一场在哪个社区办"
        if not level_clash and query.except_who:
            level_clash = _nobody_else(query.except_who, unit, [
                w for w in query.words if len(w) >= 2 and w not in query.regions and self.df.get(w, 0) < 0.05 * self.n])
        if level_clash:
            cand.eligible = False
            cand.why.append(level_clash)
        if query.answer_type and query.qtype not in ("figure", "date"):
            quoted = next((k for k in query.answer_type if re.search(_QUOTED_KIND.format(kind=re.escape(k)), unit.text)
                           or (k in _HONOURS and _HONOURED.search(unit.text))), None)
            if not quoted and _LIST_Q.search(query.normalized):
                # "哪些领域": "涵盖电子信息、先进材料…等领域" lists them, then names their kind
                quoted = next((k for k in query.answer_type if _lists_kind(k, unit.norm)), None)
            # "参观了哪个科普基地": "海诺尔成都环保科普基地" names one; "对科普基地建设" names none
            one = None if quoted or query.qtype != "other" else next(
                (k for k in query.answer_type if len(k) >= 3 and _names_one(k, unit.text, query)), None)
            if quoted or one:
                factor *= QUOTED_KIND_BOOST
                cand.why.append(f"quotes the {quoted} asked for ×{QUOTED_KIND_BOOST}" if quoted
                                else f"names a {one} ×{QUOTED_KIND_BOOST}")
            elif any(k in _HONOURS for k in query.answer_type) and "“" not in unit.text and not any(
                    k in unit.text for k in _HONOURS):
                cand.eligible = False  # an honour is quoted: "最近,走进…书台村,…" names none
                cand.why.append("quotes no honour")
            elif _LIST_Q.search(query.normalized) and (listed := next((k for k in query.answer_type if k in _MEMBERS and len(
                    re.findall(rf"[\u4e00-\u9fff]{{1,10}}?(?:{_MEMBERS[k]})(?=[、和及与])", unit.norm)) >= 2), None)):
                factor *= QUOTED_KIND_BOOST  # "哪些部门…述职": "省科协办公室、科普部、调宣部及…" lists them
                cand.why.append(f"lists {listed} ×{QUOTED_KIND_BOOST}")
        elif query.qtype in ("other", "how") and (query.asks_how or _LIST_Q.search(query.normalized)) and (steps := next((
                k for k in query.words if k in _STEP_KINDS and _lists_kind(k, unit.norm)), None)):
            factor *= QUOTED_KIND_BOOST  # "科服保姆怎么对接 流程是啥样": "通过宣传推介、…、促成交易等流程"
            cand.why.append(f"lists the {steps} ×{QUOTED_KIND_BOOST}")
        elif query.qtype in ("other", "how") and query.asks_how and (steps := next((
                k for k in query.words if k in ("流程", "环节", "步骤")), None)) and not _lists_kind(steps, unit.norm):
            factor *= 0.5  # "流程是啥样": "“科服保姆”时时联系对接、促成合作" lists no steps
            cand.why.append(f"lists no {steps} ×0.5")
        if query.qtype != "figure" and not any(
                len(t) >= 2 and t not in query.normalized and not regions_in(t) for t in unit.tokens):
            cand.eligible = False  # "范国滨院士" does not answer "范国滨是哪个院的院士"
            cand.why.append("says nothing the question does not")
        elif cand.eligible and query.qtype in ("who", "other") and not unit.byline and not any(
                w not in query.regions and self.hit(query, w, unit.norm, False) >= 1.0 for w in weights):
            cand.eligible = False  # "为…颁奖。" after "中国工程院院士、绵阳市科协主席范国滨": its section
            cand.why.append("says none of the question's words itself")  # speaks of him, the sentence not
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
        content = [t for t in query.figure_words if weights.get(t, 0) > 0]
        w = {t: weights[t] * (2.0 if any(t in f or f in t for f in query.focus) else 1.0) for t in content}
        total = sum(w.values()) or 1.0
        best, best_cov = None, 0.0
        asked = [n for n in query.numbers if not (len(n) == 4 and n.startswith(("19", "20")))]
        # "207个科普示范社区里，全国级的有几个": the question states a figure and asks for a part of it;
        # where a sentence has the stated figure, only what it says of a part of it (其中, 已完成) can answer
        mentioned = [n for n in _NUMBER.findall(query.normalized) if not (len(n) == 4 and n.startswith(("19", "20")))]
        stated = [] if _CHECKS.search(query.normalized) else [n for n in mentioned if re.search(
            rf"(?<![\d.第前]){re.escape(n)}(?![\d.])(?:多|余)?[个家名人位项场次万亿元所支条篇户村亩][^。？?]{{0,14}}?"
            rf"{_PART_ASKED}", query.normalized)]
        within = bool(stated) and any(f.value in stated for f in unit.figures)
        for k, fig in enumerate(unit.figures):
            if not _compatible(query, fig):
                continue
            if within and (fig.value in stated or not _PART_SAID.search(fig.clause)):
                continue
            label, clause, before = unit.figure_texts[k]
            # "示范基地86个、示范社区207个、…农技协58个": each item of a list counts its own thing
            item = _list_item(clause, normalize(fig.text), [normalize(f.text) for f in unit.figures])
            if query.magnitude and fig.unit_class not in ("percent", "year", "ordinal") and not (
                    query.magnitude[0] <= _figure_amount(fig) < query.magnitude[1]):
                continue  # "技术培训有几百次吗": not "24期次", only a figure in the hundreds
            if query.excluded and any(self.hit(query, t, item, partial=False) >= 1.0 for t in query.excluded):
                continue  # "光是社区e站 不算乡村和学校的": "乡村e站、社区e站、校园e站示范点396个" counts them too
            if query.contrasts and _contrast_clash(query.contrasts,
                                                   label if _contrast_clash(query.contrasts, clause) else clause):
                continue  # "国家级奖项18个、省级奖项100余个": the 省级 figure does not answer 国家级
            if _HONOURED_AFTER.match(clause[clause.find(fig.text) + len(fig.text):]) and not _HONOUR_ASKED.search(
                    query.normalized):
                continue  # "几场活动": not "…等12个活动受到中国科协、省科协表扬", which counts those praised
            if query.regions and _threshold(clause, fig.text) and fig.value not in _NUMBER.findall(query.normalized):
                continue  # "全省仅成都、绵阳两市超过10%": a bar two cities passed, no figure of either
                # (unless the question names the bar: "过了10%的是哪几个市")
            if query.regions and (_other_place(query.regions, clause) or _below_only(query.regions, clause)):
                continue  # "在成都举行,绵阳遴选出的…20个": the figure is 绵阳's; "四川…" not "绵阳市…10.4%"
            bare = len(re.sub(r"[^\u4e00-\u9fff]", "", label)) <= 2 or (
                fig.unit_class == "percent" and bool(_BARE_RATE.fullmatch(label)))
            before_weight = 0.8 if bare else 0.2
            cov = 0.0
            for t, v in w.items():
                # the thing counted must be named, not half of it
                said = functools.partial(self._named, query, t) if t in query.focus else \
                    functools.partial(self.hit, query, t)
                cov += v * max(said(label), 0.4 * said(clause), before_weight * said(before))
            cov /= total
            if asked:  # "排进全省前20的有几个": the clause that says 20, not 前50
                cov += ASKED_NUMBER * sum(1 for n in asked if re.search(
                    rf"(?<![\d.]){re.escape(n)}(?![\d.])", clause.replace(fig.text, " "))) / len(asked)
            if query.asks_change and not _GROWTH.search(clause[:max(clause.find(fig.text), 0)][-8:]):
                cov *= 0.5  # "人均纯收入涨了多少": "增长166%", not "达1.3万余元"
            if query.unit_class in ("items", "times") and fig.unit_class != query.unit_class:
                cov *= CROSS_KIND  # "多少家企业" is best answered by a figure in 家, then by one in 次
            # the thing counted ("多少个学会") must be named by the figure or its clause
            # ("县市区科协换届": 县市区 is enough, "指导7个县市区成功换届"), and every noun of it
            # must be in the sentence ("外国专家", "外籍院士", "市级学会" narrow what is counted)
            # "顺利" in "几个县市区的科协顺利换了届" is how, not what; "几个行业大牛", "各种各样的科普活动":
            # a word no report uses cannot be named by any sentence, so it is left to the gate (its missed
            # unknown words), unless it is a noun that narrows the head ("外国专家")
            counted = [t for t in query.focus[:1] + query.modifiers if t in w and not _pos_of(t).startswith(("d", "ad"))
                       and not self._unknown_unnarrowing(query, t)] if query.counted and query.unit_class not in (
                "duration", "percent", "age", "money") else []  # "几小时在线", "占多少比例": no thing is counted
            if counted and (
                    max(max(self._named(query, t, label), self._named(query, t, item),
                            before_weight * self._named(query, t, before)) for t in counted) < 0.5
                    or any(max(self.hit(query, t, unit.norm), self._named(query, t, unit.norm)) < 0.5
                           for t in counted)):
                continue
            if counted and _narrower(label, query.focus[0], query.normalized):
                continue  # "多少家市级学会" is not "14家市级优秀学会": the figure counts a chosen few
            if not counted and content and _narrower(label, content[-1], query.normalized):
                continue  # nor, asked without a word before 多少 ("市级学会一共有多少个"), is it
            if best is None or cov > best_cov:
                best, best_cov = fig, cov
        floor = MIN_LABEL_MONEY if query.unit_class == "money" else MIN_LABEL
        if best is not None and content and best_cov < floor:
            return None, 0.0  # "科普小剧场播了多少期" is not "建立科普e站148个"; a sum of money is rarer in a sentence
        return best, best_cov

    def _never_said(self, query: Query, word: str) -> bool:
        """No report uses the word, a related word or a part of it."""
        return not (word in self.df or word in self.corpus_text or word in query.related
                    or any(len(t) >= 2 and t != word and t in self.df for t in _subwords(word)))

    def _unknown_unnarrowing(self, query: Query, word: str) -> bool:
        """A word of what is counted that no report uses and that does not narrow it: the head
        itself in a citizen's words ("大牛"), or a word that is no noun ("各种各样")."""
        if not self._never_said(query, word):
            return False  # (a word whose part the reports use, "外国专家", narrows 专家)
        return word == query.focus[0] or not _pos_of(word).startswith(("n", "s", "b"))

    def _named(self, query: Query, word: str, text: str) -> float:
        """`hit` without partial credit, except that a noun may have a short word inside it:
        "重大项目" is named by "重大签约项目", "科普基地" by "科普教育基地", and a long one's
        parts may stand a few characters apart ("院士(专家)创新工作站")."""
        h = self.hit(query, word, text, False)
        if h < 1.0 and len(word) == 4 and re.fullmatch(r"[\u4e00-\u9fff]+", word) and \
                re.search(re.escape(word[:2]) + r"[\u4e00-\u9fff]{1,3}" + re.escape(word[2:]), text):
            return 1.0
        gapped = _gapped(word) if h < 1.0 else None
        if gapped is not None and gapped.search(_deparen(text) if "(" in text else text):
            return 1.0  # "院士专家工作站" named by "院士(专家)创新工作站"
        return h

    def _event_clash(self, query: Query, unit: Unit) -> str:
        """The question names an event, the sentence (not its section) names another and not it."""
        events = [w for w in query.words if (len(w) >= 4 and _EVENT_WORD.search(w)) or _CONGRESS.fullmatch(w)]
        if not events:
            return ""
        theirs = [m.group(0) for m in _EVENT_IN_TEXT.finditer(unit.norm)]
        for event in events:
            if theirs and self.hit(query, event, unit.context, partial=False) < RELATED_HIT:
                if not any(event in t or t in event for t in theirs):
                    return f"about {theirs[0]}, not {event}"
        return ""

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
        best: dict[int | None, Candidate] = {}  # the best-matching wording of each staff answer
        for c in out:
            if c.unit.faq_id not in best or (c.coverage, c.score) > (best[c.unit.faq_id].coverage,
                                                                     best[c.unit.faq_id].score):
                best[c.unit.faq_id] = c
        return list(best.values())


class _Concat:
    """Texts joined into one string, with where each starts: find a word in all of them at once."""

    def __init__(self, texts: list[str]) -> None:
        self.starts: list[int] = []
        parts, pos = [], 0
        for t in texts:
            self.starts.append(pos)
            parts.append(t)
            pos += len(t) + 1
        self.text = "\x00".join(parts)

    def containing(self, pattern: re.Pattern[str]) -> set[int]:
        """Positions (in the list given) of the texts the pattern occurs in."""
        return {bisect.bisect_right(self.starts, m.start()) - 1 for m in pattern.finditer(self.text)}

    def containing_str(self, word: str) -> set[int]:
        out, find = set(), self.text.find
        pos = find(word)
        while pos >= 0:
            out.add(bisect.bisect_right(self.starts, pos) - 1)
            pos = find(word, pos + 1)
        return out


@functools.lru_cache(maxsize=8192)
def _unpunctuated(text: str) -> str:
    return _PAREN.sub("", text.replace("、", ""))


def _deparen(text: str) -> str:
    return text.replace("(", "").replace(")", "")


@functools.lru_cache(maxsize=4096)
def _gapped(word: str) -> re.Pattern[str] | None:
    """A long word's parts in order with a few other characters between them, or None
    for a word of fewer than two parts."""
    if len(word) < 4:
        return None
    pieces = [t for t in _subwords(word) if t != word]
    parts, i = [], 0
    while i < len(word):  # the longest piece at each place, left to right
        piece = max((t for t in pieces if word.startswith(t, i)), key=len, default=word[i])
        parts.append(piece)
        i += len(piece)
    if len(parts) < 2 or len(parts) > 4 or sum(1 for p in parts if len(p) == 1) > 1:
        return None  # "wifi" in four letters would match almost anything
    return re.compile(r"[^，,。；;：:、\x00]{0,6}?".join(r"\s*".join(map(re.escape, p)) for p in parts))


@functools.lru_cache(maxsize=4096)
def _subwords(word: str) -> tuple[str, ...]:
    """jieba's search-mode parts of a question word, remembered: the same words come back."""
    return tuple(tokenize(word))


@functools.lru_cache(maxsize=4096)
def _pos_of(word: str) -> str:
    """jieba's part of speech of a word's first part ("去评" -> "v")."""
    tags = pos_cut(word)
    return tags[0][1] if tags else ""


def _unglue(m: re.Match[str], corpus: str) -> str:
    """"多少台全媒体" -> "多少台 全媒体", but "多少村民" stays: 村民 is a word the reports use
    ("多少人种食用菌" is split: the reports never say 人种)."""
    after = m.string[m.end():m.end() + 1]
    if len(m.group(2)) == 1 and m.group(2) + after in corpus and general_word_freq(m.group(2) + after) >= 50:
        return m.group(0)
    return m.group(1) + m.group(2) + " "


def _two_asks(text: str) -> tuple[str, str] | None:
    """A message of two questions, each with its own question word, apart at a space or a comma
    ("…办了多少期培训 培训了多少人次", "…主题是啥，面向哪些人"): the first and the second."""
    said = normalize(text).strip(" ?？。!！")
    for m in re.finditer(r"[\s,，;；?？]+", said):
        first, second = said[:m.start()], said[m.end():]
        if _ASKING.search(first) and _ASKING.search(second):
            return first, second
    return None


def _names_one(kind: str, text: str, query: Query) -> bool:
    """The text names a thing of the kind asked by a name the question does not give:
    "海诺尔成都环保科普基地" for 哪个科普基地 (not "对科普基地建设", not "新津区科普基地" of 新津)."""
    return any(m.group(1) not in query.normalized and not any(m.group(1).endswith(w) for w in query.words)
               for m in re.finditer(rf"([\u4e00-\u9fff]{{2,10}}){re.escape(kind)}", text))


def _names_members(clause: str, n: str) -> bool:
    """The clause names what its count of `n` counts: "“A”“B”等4个项目", "A、B、C等4个", "4个项目分别是
    A、B、C、D". A list of other counts ("示范县15个、全国科普教育基地7个") names none of them."""
    items = clause.split("、")
    i = next((k for k, item in enumerate(items) if re.search(rf"(?<![\d.第]){re.escape(n)}[个项家位名所]", item)), 0)
    if re.search(r"“|等", items[i]):
        return True
    others = items[:i] + items[i + 1:]
    return bool(others) and not any(re.search(r"\d", item) for item in others)


def _listed_editions(unit: Unit, n: str) -> bool:
    """The sentence that set the section's edition (`frame`) lists several editions of several
    events, the asked one among them."""
    source = next((s for s in re.split(r"[。;；]", unit.passage_norm) if unit.frame in s), "")
    found = _editions(source)
    return len(found) >= 2 and n in found


def _editions(text: str) -> set[str]:
    """Editions a normalised text names: "第3届" -> "3", "首届" -> "1"."""
    return {"1" if m.group(0).startswith("首") else m.group(0)[1:-1] for m in _EDITION.finditer(text)}


def _lists_kind(kind: str, norm: str) -> bool:
    """The sentence lists members and then names their kind: "涵盖电子信息、先进材料…等领域",
    "…、匹配撮合、对接洽谈、促成交易等流程"."""
    return bool(re.search(rf"、[^，,。；;、]{{1,12}}等{re.escape(kind)}", norm))


def _magnitude_guessed(question: str) -> tuple[float, float] | None:
    """"有几百次吗", "几十个吧": the bounds of the figure the citizen guesses (几百: 100 to 999).
    "好像捐了一千多万" (1000多万) is a looser guess, a half-remembered figure: it rules out only
    what is off by more than a factor of two (1.2万人次, 450余万元), not 800万 or 1800余万元."""
    m = _MAGNITUDE.search(question)
    if not m:
        more = _MORE_THAN.search(question)
        if not more:
            return None
        digits = more.group(1)
        order = {"万": 1e4, "亿": 1e8}.get(more.group(2) or "", 1.0)
        low = float(digits) * order
        high = low + 10 ** (len(digits) - 1) * order
        return low / 2, high * 2
    low = 1.0
    for ch in m.group(1):
        low *= _ORDER[ch]
    return low, low * 10


def _figure_amount(fig: Figure) -> float:
    """How much a figure says, for a guessed magnitude: "20余万人次" -> 200000 (-1 when unreadable)."""
    try:
        amount = float(fig.value)
    except ValueError:
        return -1.0
    unit = fig.unit.lstrip("余多")
    return amount * (1e8 if unit.startswith("亿") else 1e4 if unit.startswith("万") else 1.0)


def _excluded_words(query: Query) -> list[str]:
    """The words 不算 / 不包括 / 不含 leave out, which the figure asked for may not count: those after
    it ("不算乡村和学校的"), or before it when nothing follows ("院士站不算"); a word the question
    also asks for ("多少个学会 不包括市级学会": 学会) is not left out."""
    said = normalize(query.text)
    m = _LEAVE_OUT.search(said)
    if not m:
        return []
    part = re.split(r"[\s,，。;；]", said[m.end():])[0]
    if not re.search(r"[\u4e00-\u9fff]{2}", part.replace("的", "")):  # "院士站不算": what comes before it
        part = re.split(r"[\s,，。;；]", said[:m.start()])[-1]
    rest = said.replace(part, " ")  # "多少个学会 不包括市级学会": 学会 is asked, 市级 left out
    return [w for w in query.words if len(w) >= 2 and w in part and w not in rest and w not in query.regions]


def _nobody_else(named: str, unit: Unit, words: list[str]) -> str:
    """"除了赵剑衡还有谁": a sentence that names 赵剑衡 answers only if it names another person in his
    clause or in one that repeats a question word his clause says ("副主席毛大付主持,党组成员、副主席经戈…"
    does; in "评选赵剑衡等“绵阳杰出科技工作者”8名,举荐…王秀全入选…“最美科技工作者”" 王秀全 was
    chosen for another honour). `words` are the question's rarer words (common ones like 科协 say nothing)."""
    if named not in unit.norm:
        return ""
    clauses = re.split(r"[，,；;。]", unit.norm)
    own = next(c for c in clauses if named in c)
    shared = [w for w in words if w != named and w in own]
    for clause in clauses:
        if any(n != named and n not in named and named not in n and n in clause for n in unit.names) and \
                (clause == own or any(w in clause for w in shared)):
            return ""
    return f"names nobody beside {named}"


def _focus(normalized: str) -> tuple[list[str], bool, list[str]]:
    """The words right next to the question word: "受益群众多少" -> 受益, 群众."""
    words = cut(normalized)
    idx = next((i for i, w in enumerate(words) if _QUESTION_WORD.search(w)), None)
    if idx is None:
        return [], False, []
    def useful(w: str) -> bool:
        return is_token(w) and not _QUESTION_WORD.search(w) and not (len(w) == 1 and w in _MEASURE_WORDS)

    # "多少个学会": what follows names the thing counted; "受益群众多少": what precedes;
    # "多少人去评…": a verb after it counts nothing. Of "多少个市级学会" the head, 学会, is
    # what is counted (市级 only narrows it), and a verb right after it ("项目签约") says which
    after: list[str] = []
    verb: list[str] = []
    rest = words[idx + 1:]
    for n, w in enumerate(rest):
        if not after and (w in ("是", "个人") or (len(w) == 1 and w in _MEASURE_WORDS)):
            continue  # "多少名外国专家", "有几个是外籍院士", "有多少个人": 个 + 人, not 个人
        if w.endswith(("了", "过", "着")) and len(w) >= 2:
            break  # "给多少人发了奖": what follows is what was done, not what is counted
        if after and w == "的":
            continue  # "多少项政府部门的项目": 项目 is the head
        if not useful(w) or len(w) < 2 or w.isdigit():
            break
        last = not any(useful(x) and len(x) >= 2 for x in rest[n + 1:])
        # "几家企业 整理出多少项": a word its complement follows (出, 到) is a verb, whatever jieba tags it
        verbal = n + 1 < len(rest) and rest[n + 1] in ("出", "到", "完", "出来")
        # "多少个调研课题", "几个培训基地": a verbal noun before a noun is part of the thing's name
        modifier = not verbal and _pos_of(w) == "vn" and n + 1 < len(rest) and _pos_of(rest[n + 1]).startswith("n")
        if (verbal or _pos_of(w).startswith(("v", "p", "d", "c", "u"))) and not (not after and last) and not modifier:
            verb = [w] if after and _pos_of(w).startswith("v") else []
            break  # ("多少提案": a noun jieba tags as a verb, the last word of the question)
        after.append(w)
        if len(after) == 3:
            break
    if after:
        return after[-1:] + after[:-1] + verb, True, after[:-1]
    # "拿到国家级的奖一共多少个": an adverb between the thing and the question word is no word of it,
    # and a one-character noun (奖) may name it (only these: past "两千多项吧 具体多少" the words
    # before the guess would be read as the thing, 工作站 of "院士工作站申请专利")
    stop = idx
    while stop > 0 and words[stop - 1] in _BEFORE_FILLER:
        stop -= 1
    before = [w for n, w in enumerate(words[:stop]) if n >= stop - 3 and useful(w) and w.rstrip("市县区") not in REGIONS and (
        len(w) >= 2 or (n == stop - 1 and _pos_of(w) == "n"))][-2:]
    return before, False, []


def _contrasts_asked(words: list[str]) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """The members of each set of exclusive words the question asks for."""
    out = []
    for group in _CONTRASTS:
        asked = tuple(w for w in group if any(w in q for q in words))
        if asked:
            out.append((asked, group))
    return out


def _contrast_clash(contrasts: list[tuple[tuple[str, ...], tuple[str, ...]]], text: str) -> str:
    """The question asks for one of a set of exclusive words, the text says another and not it."""
    for asked, group in contrasts:
        if not any(a in text for a in asked):
            other = next((w for w in group if w not in asked and w in text), None)
            if other:
                return f"says {other}, not {asked[0]}"
    return ""


def _threshold(clause: str, figure: str) -> bool:
    """The figure is a bar ("超过10%") that several places passed or a target set: what it
    measures is no place's own figure."""
    at = clause.find(figure)
    if at < 0 or not re.search(r"(超过|高于|低于|不足|不到)$", clause[:at]):
        return False
    return len(regions_in(clause)) >= 2 or bool(re.search(r"(目标|任务)", clause[at:]))


def _part_of(regions: list[str], unit: Unit) -> str:
    """The city a sentence's section or report is about, when the question asks for a figure of
    the whole province: a city's report counts the city's 科普e站, not the province's. "" when
    the sentence speaks of the province itself (names it, or says 全省/省科协).

    A city only where the sentence says its figure is a district's whole ("全区平台注册用户62839个"
    is 安州's, not 绵阳's): a question naming a city is often about a village or a project in one
    of its districts ("巴中那个书台村全村多少人"), and a city's association works in its counties
    ("在泗水、梁山等地举办培训班" is 济宁's figure)."""
    for r in regions:
        if r in regions_in(unit.text):
            continue
        if ancestors(r):  # a city: only a figure its sentence says is a district's whole ("全区平台注册用户")
            if r in ancestors(unit.area) and re.search(r"全(区|县)", unit.text):
                return unit.area
            continue
        if re.search(r"(全省|省科协|全川)", unit.text):
            continue
        if r in ancestors(unit.area):
            return unit.area
    return ""


_BACK_TO_MEETING = re.compile(r"(参加会议|出席会议|会议由|会上|主持会议|到会指导)")


def _is_subject(query: Query, place: str) -> bool:
    """The place a sentence names (and the words after it) is what the question asks about, not
    where it is: "宜宾监狱在哪里" is not answered by "到四川省宜宾监狱听取…"."""
    words = [w for w in query.words if w not in query.regions and w not in ("地方", "位置", "地点", "地址")]
    return bool(words) and all(w in place for w in words)


def _narrower(label: str, counted: str, question: str) -> bool:
    """The figure's label puts a word of choice right before the thing the question counts
    ("市级优秀学会", "示范农技协") and the question does not say it ("择优" says 优秀)."""
    m = re.search(rf"{_NARROWING.pattern}.{{0,2}}{re.escape(counted)}", label)
    return bool(m) and not any(w in question for w in (m.group(1), *_CHOICE_SAID.get(m.group(1), ())))


def _list_item(clause: str, figure: str, figures: list[str]) -> str:
    """The item of a "、" list of figures that holds the figure: each item counts its own thing."""
    items = clause.split("、")
    if sum(1 for item in items if any(f in item for f in figures)) < 2:
        return clause  # "有5个县、区位于全省前二十": one figure, a list of words
    return next((item for item in items if figure in item), clause)


def _below_only(regions: list[str], clause: str) -> bool:
    """A province asked about, a clause that names only places inside it (and not 全省): the
    figure is theirs ("绵阳市公民具备科学素质的比例为10.4%" is no answer for 四川)."""
    named = regions_in(clause)
    return bool(named) and not re.search(r"(全省|全川|省)", clause) and all(
        not ancestors(r) and r not in named and any(r in ancestors(n) for n in named) for r in regions)


def _other_place(regions: list[str], clause: str) -> bool:
    """A clause that names places, none of them the question's, inside it or around it: its figure is theirs."""
    named = regions_in(clause)
    if not named:
        return False
    return not any(r == n or r in ancestors(n) or n in ancestors(r) for r in regions for n in named)


def _level_clash(question: str, text: str) -> str:
    """The provincial association asked about, the city's in the text (or the reverse)."""
    if "省科协" in question and re.search(r"(市|县|区)科协", text) and "省科协" not in text:
        return "about a city's association, not the province's"
    if re.search(r"(市|县|区)科协", question) and "省科协" in text and not re.search(r"(市|县|区)科协", text):
        return "about the provincial association"
    return ""


_TITLE = re.compile(rf"(?<!副)({POSTS})")


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
    scope = unit.places
    if any(r in scope for r in regions):
        return "exact"
    if any(any(r in ancestors(s) for s in scope) for r in regions):
        return "part"
    return "none"


# a rate whose clause names nothing but the rate ("增长率高达81.82%"): what grew is told before it
_BARE_RATE = re.compile(r"(?:同比|环比)?(?:增长率|增幅|增长|增加|提高|提升|上升|上涨)了?(?:高达|达到?|为)?")


def _previous_clause(sentence: str, fig: Figure) -> str:
    """The clause before a figure's own, which may say what a figure alone in its clause counts.

    A bare rate ("…20个项目在开幕式和省级专场发布,较去年增加9项,增长率高达81.82%") is the rate
    of what the whole sentence before it counts, so it owns all of that.
    """
    head = sentence[:fig.clause_start]
    if fig.unit_class == "percent" and _BARE_RATE.fullmatch(fig.clause[:fig.start - fig.clause_start].strip()):
        return head
    parts = [p for p in re.split(r"(?<=[，,；;：:])", head) if p]
    return parts[-1] if parts else ""


def _compatible(query: Query, fig: Figure) -> bool:
    kind = fig.unit_class
    if query.unit_class == "ordinal":
        return kind == "ordinal"
    if kind == "ordinal":
        return False
    if query.unit_class == "duration":
        return kind == "year" or fig.unit.endswith(("天", "小时", "个月", "周"))
    if query.unit_class == "count":
        if kind == "times":  # "几个活动": 132场次; but "多少个农技协" is not "讲座24期次"
            return any(_EVENTISH.search(f) for f in query.focus)
        if kind == "person" and query.focus and _BODY_NOUN.search(query.focus[0]) and \
                re.search(r"(?:几|多少)个(?!人)", query.normalized):
            return False  # "多少个党支部参加": bodies, not "60余人参加会议"
        if kind == "person" and fig.unit.endswith("人次"):
            return False  # "多少个" counts bodies or people, never visits: not "开展疫情排查1.2万人次"
        return kind in ("items", "person", "group", "household")
    if query.unit_class == "items":
        return kind in ("items", "times")  # "走访了多少家企业": 走访全市企业2600余次
    if query.unit_class == "times":
        return kind in ("times", "edition", "items")  # "大赛办过几次": 5届; "解决了几次难题": 97项
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
        title_norm = normalize(doc.title)
        prev_heading: str | None = None
        frame = ""  # the last edition named in this section, up to the current sentence
        for passage, place in zip(rows, places):
            if passage.heading != prev_heading:  # a new section starts from what its heading names
                prev_heading = passage.heading
                frame = _last_edition(normalize(passage.heading.replace(HEADING_JOIN, " ")))
                lead = ""
            if not lead and not byline_names(passage.text):  # "本报记者 肖小江" under a title is no lead
                lead = normalize(next(iter(split_sentences(passage.text)), ""))
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
            captions = [(h, _caption_names(h)) for h in passage.heading.split(HEADING_JOIN) if len(h) <= 12]
            caption = next((h for h, names in captions if names), "")
            caption_names = [n for _, names in captions for n in names]
            for sent, is_heading in texts:
                norm = normalize(sent)
                frame = _last_edition(norm) or frame
                toks = tokenize(norm)
                if not toks:
                    continue
                counter = Counter(toks)
                if not is_heading:
                    for t in heading_toks:  # the heading says what the sentence is about
                        counter.setdefault(t, 1)
                byline = byline_names(sent)
                own_names = byline or person_names(sent)
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
                    figures=figs, passage_index=pidx,
                    names=own_names or ([] if is_heading else caption_names),
                    caption="" if is_heading or own_names else caption,
                    is_heading=is_heading, frame=frame, title_norm=title_norm, lead=lead, area=place,
                    byline=bool(byline),
                ))
                unit = units[-1]
                unit.places = frozenset(unit.scope) | frozenset(regions_in(unit.text))
                unit.figure_texts = [(normalize(f.label), normalize(f.clause), normalize(_previous_clause(sent, f)))
                                     for f in figs]
    for faq in session.execute(select(Faq).where(Faq.enabled.is_(True)).order_by(Faq.id)).scalars():
        when = faq.updated_at or faq.created_at
        # one unit per wording: an alternative question in other words must not dilute the
        # main question's match (a citizen asks one of them, never all at once)
        for question in dict.fromkeys([faq.question, *(faq.alt_questions or [])]):
            norm = normalize(strip_fillers(normalize(question)))
            toks = tokenize(norm)
            if not toks:
                continue
            units.append(Unit(kind="faq", text=faq.answer, tokens=Counter(toks), length=len(toks),
                              faq_id=faq.id, question=question, norm=norm, context=norm,
                              answer=faq.answer, title="科协工作人员解答",
                              date_label=f"{when.year}年{when.month}月" if when else "",
                              published_at=when.date() if when else None))
    return units, passages


def _last_edition(norm: str) -> str:
    """The last edition a normalised text names, with the event after it: "第3届天府科技云服务大会"."""
    found = list(re.finditer(rf"{_EDITION.pattern}[^,，。;；:：、]{{0,16}}", norm))
    return found[-1].group(0) if found else ""


def _caption_names(heading: str) -> list[str]:
    """The person a photo caption starts with ("范国滨院士" over "为…颁奖")."""
    names = person_names(heading)
    if names:
        return names
    m = re.match(r"^([\u4e00-\u9fff]{2,3})(院士|教授|博士|主席|书记)$", heading.strip())
    return [m.group(1)] if m else []


def _enabled_figures(facts: list[Fact]) -> set[tuple[str, str, str]]:
    """The figures of a passage that the facts table holds and staff left on."""
    return {(f.sentence, f.value, f.unit) for f in facts}


def build_index(session: Session) -> Index:
    terms = domain_terms(session)
    add_terms(terms)
    synonyms = [(w, c) for w, c in session.execute(select(Synonym.word, Synonym.canonical))]
    units, passages = _units(session)
    return Index(units, synonyms, passages, terms)


def get_index(session: Session) -> Index:
    """The index for the current knowledge version, rebuilt when staff changed something."""
    return per_version(session, "index", build_index)
