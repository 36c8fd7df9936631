"""Answers from the knowledge base, on SQLite and on the real PostgreSQL (`kb_url`).

Exact figures with their report and its (approximate) date, honest abstention,
the unanswered queue, synonyms, Chinese numerals, typos, conflicting reports,
and a floor under the measured answer quality of the test split.
"""
from __future__ import annotations

import re
from typing import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb import answer as kb_answer
from kb import evaluate
from kb.db import get_engine
from kb.models import Unanswered

MIANYANG = "牢记使命 砥砺前行——绵阳市科协七大以来工作回眸"
CHENGDU = "成都市科学技术协会八大以来工作回眸"
JINING = "汇聚科技力量 谱写服务新篇——2020年市科协工作综述"
NEWS_2023 = '四川科协报·省科协召开第二届"科创会"总结会 等地方科协报道'
NEWS_2024 = "四川科协报·以科技创新助力高质量发展——透过第三届天府科技云服务大会看绵阳创新之谋 等"


@pytest.fixture
def session(kb_url: str) -> Iterator[Session]:
    """A session on the shared built knowledge base; everything it wrote is rolled back."""
    s = Session(bind=get_engine(kb_url), future=True)
    try:
        yield s
    finally:
        s.rollback()
        s.close()


def ask(session: Session, question: str, **kw) -> kb_answer.Answer:
    return kb_answer.answer(session, question, record_unanswered=kw.pop("record_unanswered", False), **kw)


@pytest.mark.parametrize("question, figure, title, date", [
    ("成都有多少家高校科协", "高校科协19家", CHENGDU, "约2021年6月"),
    ("绵阳五年来办了多少场学术交流活动", "50余场", MIANYANG, "约2021年6月"),
    ("济宁反邪教文艺节目演了几场", "16场次", JINING, "约2021年1月"),
    ("首届天府科技云服务大会绵阳挖掘了多少科创项目", "270余个", NEWS_2024, "约2024年2月"),
    ("通江县推送了多少条科普信息", "10万余条", NEWS_2023, "约2023年3月"),
])
def test_issue_examples_are_answered_exactly_with_source_and_date(session, question, figure, title, date):
    result = ask(session, question)
    assert result.answered, result.reason
    assert figure in result.reply
    assert f"（来源：《{title}》，{date}）" in result.reply
    assert result.sources[0]["title"] == title and result.sources[0]["date"] == date
    quoted = result.reply.split("（来源：")[0]
    assert len(quoted) <= 120  # the sentence that holds the answer, not its paragraph


def test_the_figure_is_picked_out_of_a_long_list(session):
    result = ask(session, "请问绵阳新建了几个省级科普共享基地")
    assert result.answered and "76个" in result.reply
    assert "148个" not in result.reply.split("76个")[1]  # the quote ends at the figure's clause


@pytest.mark.parametrize("question", [
    "四川科技馆门票多少钱 周一开门吗",  # not in the reports at all
    "德阳市科协有多少家企业科协",  # a figure of another city
    "济宁第20届青少年科技创新大赛什么时候举办",  # an edition the reports do not cover
    "绵阳2022年办了多少场学术交流活动",  # a year the reports do not cover
    "书台村一共多少户人家",  # a kind of figure the reports do not give
    "天府科技云怎么注册账号",  # a procedure the reports do not describe
])
def test_unanswerable_questions_get_an_honest_no(session, question):
    result = ask(session, question)
    assert not result.answered, result.reply
    assert result.sources == []
    assert "没有这个问题的答案" in result.reply
    assert kb_answer.handoff_text(session) in result.reply  # how to reach staff
    assert "高校科协" in result.reply  # what it can answer instead


def test_an_unanswered_question_is_logged_for_staff(session):
    before = session.execute(select(func.count()).select_from(Unanswered)).scalar()
    result = ask(session, "绵阳科技馆几点开门", record_unanswered=True, openid="o-test", intent="ask_platform")
    assert not result.answered
    rows = session.execute(select(Unanswered).where(Unanswered.openid == "o-test")).scalars().all()
    assert [(r.text, r.intent) for r in rows] == [("绵阳科技馆几点开门", "ask_platform")]
    assert session.execute(select(func.count()).select_from(Unanswered)).scalar() == before + 1
    # an answered question is not logged
    assert ask(session, "成都有多少家高校科协", record_unanswered=True, openid="o-test").answered
    assert len(session.execute(select(Unanswered).where(Unanswered.openid == "o-test")).scalars().all()) == 1


def test_synonym_rongcheng_is_chengdu(session):
    result = ask(session, "蓉城新建了多少家企业科协")
    assert result.query is not None and "成都" in result.query.regions
    assert result.answered and "325家" in result.reply and CHENGDU in result.reply


def test_chinese_numerals_meet_digits(session):
    # "前二十" in the report and "前20" in the question, and the other way round
    a = ask(session, "绵阳有几个县区进了全省前20")
    b = ask(session, "绵阳有几个县区进了全省前二十")
    assert a.answered and b.answered and "5个" in a.reply and "5个" in b.reply
    # a statement with no question word is a figure to check (round 11), asked as 多少个: right or wrong,
    # the report's figure answers it
    for claim in ("成都创建了十五个全国科普示范县", "成都创建了二十个全国科普示范县"):
        c = ask(session, claim)
        assert c.query is not None and "多少个" in c.query.normalized and not c.query.numbers
        assert c.answered and "15个" in c.reply, claim


def test_full_width_fillers_and_typos(session):
    result = ask(session, "请问一下棉阳科写搞了多少次学会培训？")
    assert result.query is not None and ("棉阳", "绵阳") in result.query.fixes
    assert result.answered and "20余次" in result.reply and MIANYANG in result.reply
    assert ask(session, "绵阳进全省前５０的县区有几个").answered


def test_conflicting_reports_newest_first_older_mentioned(session):
    result = ask(session, "天府科技云上绵阳现在有多少科技工作者注册")
    assert result.answered
    main, _, rest = result.reply.partition("（来源：")
    assert "12万余人" in main and "14万余人" not in main
    assert NEWS_2024 in rest and "约2024年2月" in rest
    assert "14万余人" in rest and MIANYANG in rest and "约2021年6月" in rest
    assert [s["title"] for s in result.sources] == [NEWS_2024, MIANYANG]


def test_who_now_is_the_newest_report(session):
    result = ask(session, "绵阳市科协的党组书记现在是谁")
    assert result.answered and "汤荣生" in result.reply.split("（来源：")[0]
    assert "王久华" in result.reply  # the older report's name, mentioned as older


@pytest.mark.parametrize("question, figure", [
    # the fact's sentence does not name the edition; its section (heading or an earlier sentence) does
    ("第三届天府科技云服务大会上绵阳展区集中展示了几天", "2天"),
    ("第三届天府科技云大会上涪江流域现场对接了几个供需项目", "10个"),
])
def test_a_sentence_speaks_of_the_edition_its_section_names(session, question, figure):
    result = ask(session, question)
    assert result.answered, result.reason
    assert figure in result.reply.split("（来源：")[0] and NEWS_2024 in result.reply
    # the same question about an edition the reports do not cover gets an honest no
    assert not ask(session, question.replace("第三届", "第四届")).answered


@pytest.mark.parametrize("question, expected", [
    ("蒲江县谁领队去新津区考察科普基地", "李建康"),  # the report says 率, not 领队 or 考察
    ("书台村被省委省政府授予了什么称号", "四川省乡村振兴示范村"),  # the report says 表彰为
    ("成都铺了多少台全媒体科普阅览室", "520余台"),  # "多少台全媒体": the measure word is not part of a word
    ("成都有多少个区县开通了科普微信公众号", "20个"),  # the report writes 区(市)县
    ("成都天府科技云注册用户在全省排第几", "全省第一"),  # a rank, not a figure
    ("涪江流域典型案例代表是谁颁的奖", "范国滨"),  # named by the photo caption over the sentence
])
def test_paraphrases_and_implied_words_are_answered(session, question, expected):
    result = ask(session, question)
    assert result.answered, result.reason
    assert expected in result.reply.split("（来源：")[0]


def test_a_homophone_typo_next_to_a_known_word_is_mended(session):
    result = ask(session, "成都高效科协有多少家")  # 高效 is a word of the reports, 高效科协 is not
    assert result.query is not None and ("高效科协", "高校科协") in result.query.fixes
    assert result.answered and "19家" in result.reply


@pytest.mark.parametrize("question", [
    "绵阳专家工作站里国家级的有几家",  # the report gives 省级 ones only
    "济宁信息学竞赛一等奖有多少个",  # the 一等奖 figure is the 青少年科创大赛's
    "绵阳五年来邀请了多少名外国专家",  # 1000余名专家, none said to be foreign
    "济宁疫情心理援助热线电话是多少",  # a phone number is never answered with a count
    "第三届天府科技云服务大会成都带了多少个项目",  # the 20 projects are 绵阳's, held in 成都
])
def test_near_misses_that_share_most_words_with_a_sentence_are_not_answered(session, question):
    result = ask(session, question)
    assert not result.answered, result.reply


def test_warm_up_builds_the_index_without_writing(kb_url):
    from kb.search import get_index

    s = Session(bind=get_engine(kb_url), future=True)
    try:
        before = s.execute(select(func.count()).select_from(Unanswered)).scalar()
        assert kb_answer.warm_up(kb_url) > 0
        index = get_index(s)
        assert get_index(s) is index  # cached: the next question does not build it again
        assert s.execute(select(func.count()).select_from(Unanswered)).scalar() == before
    finally:
        s.rollback()
        s.close()


def test_the_answer_candidates_explain_themselves(session):
    result = ask(session, "成都有多少家高校科协")
    top = result.candidates[0]
    assert top.eligible and top.figure is not None and top.figure.text == "19家"
    assert any("figure 19家" in w for w in top.why) and "高校科协" in top.matched


def test_eval_answer_quality_stays_above_the_floor(kb_url):
    """The test split, measured as `make eval` does: a regression below the floor fails."""
    questions = [q for q in evaluate.load_questions(evaluate.DEFAULT_QUESTIONS) if q.split == "test"]
    assert len(questions) == 300
    session = Session(bind=get_engine(kb_url), future=True)
    try:
        from kb.search import get_index

        outcomes = evaluate.run_system(get_index(session), questions, session)
    finally:
        session.rollback()
        session.close()
    m = evaluate.metrics(outcomes)
    # measured (round 2): answer accuracy 85.5%, abstention accuracy 86.2%, hit@1 95.7%,
    # wrong answers 2.1%, median reply 63; (round 3, learned gate, measured once at the end):
    # 85.5%, 92.3%, 95.7%, 2.1%, 63; (round 4, harder batches, measured once at the end):
    # 87.7%, 92.3%, 97.0%, 1.3%, 63, and at the end of round 4: 88.9%, 92.3%, 97.0%, 0.9%, 63;
    # (round 5, four more batches and the rules they taught, measured once at the end):
    # 90.6%, 93.8%, 96.6%, 0.9%, 63; (round 6, rules for paraphrases, measured once at the end):
    # 91.5%, 93.8%, 96.6%, 0.4%, 63, then 91.1%, 93.8%, ..., and at the end of round 6: 91.5%, 95.4%, 96.6%, 0.4%, 63
    assert m["answer_accuracy"] >= 0.90, evaluate.format_metrics("test", m)
    assert m["abstention_accuracy"] >= 0.93, evaluate.format_metrics("test", m)
    assert m["hit@1"] >= 0.95, evaluate.format_metrics("test", m)
    assert m["wrong_answers"] <= 0.02, evaluate.format_metrics("test", m)
    assert m["median_reply_chars"] < 120


def test_sqlite_and_postgresql_answer_identically(sqlite_url, pg_url):
    """BM25 and every rule run in Python: the backend must not change a single reply."""
    from kb.search import get_index

    questions = [q.q for q in evaluate.load_questions(evaluate.DEFAULT_QUESTIONS)][::4]
    replies = []
    for url in (sqlite_url, pg_url):
        s = Session(bind=get_engine(url), future=True)
        try:
            index = get_index(s)
            replies.append([kb_answer.answer(s, q, record_unanswered=False, index=index).reply for q in questions])
        finally:
            s.rollback()
            s.close()
    assert replies[0] == replies[1]


def test_a_reports_last_caption_answers(session):
    result = ask(session, "经大忠去调研的是哪家公司")  # the review's last line, a photo caption
    assert result.answered and "绵阳天权时空互联科技有限公司" in result.reply and MIANYANG in result.reply


def test_jieba_cuts_next_to_words_the_reports_never_use_are_mended(session):
    from kb.search import get_index

    index = get_index(session)
    words = index.parse("济宁科协借年会去了几家企业调研").words
    assert "年会" in words and "借年" not in words
    assert "济宁" in words and "科协" in words and "济宁科协" not in words  # the place is judged apart
    assert "学术会议" in index.parse("成都八大以来办了多少场学术会议和交流活动").words
    assert "少年" not in index.parse("巴州区科协帮扶书台村多少年了").words  # the question word stays whole
    result = ask(session, "济宁科协借年会去了几家企业调研")
    assert result.answered and "10家" in result.reply


def test_a_persons_phone_is_a_contact_question(session):
    result = ask(session, "济宁科协主席李艳华的电话")
    assert result.query is not None and result.query.qtype == "contact"
    assert not result.answered, result.reply


@pytest.mark.parametrize("question", [
    "第三届天府科技云服务大会有多少个展区",  # "展示了2天" is a duration, not a count of halls
    "安州区有多少个农技协",  # "农技协的专家…举办讲座24期次" counts lectures, not associations
    "济宁市科协有多少个所属学会",  # a 学会 is a body: "指导所属学会召开…活动20余次" counts activities
])
def test_a_count_of_things_is_not_answered_with_days_or_times(session, question):
    result = ask(session, question)
    assert not result.answered, result.reply


def test_a_counted_noun_may_have_a_word_inside_it_in_the_report(session):
    result = ask(session, "济宁产学研合作暨院士恳谈会签了多少重大项目")  # the report: 20项重大签约项目
    assert result.answered and "20项" in result.reply.split("（来源：")[0], result.reason


@pytest.mark.parametrize("question, figure", [
    ("我在温江 想问下咱们市新建了多少家高校科协", "高校科协19家"),  # 温江 is a district of 成都
    ("我是任城的 咱们市反邪教文艺节目演了几场", "16场次"),  # 任城 is a district of 济宁
])
def test_our_city_is_the_city_of_the_district_the_citizen_names(session, question, figure):
    result = ask(session, question)
    assert result.answered, result.reason
    assert figure in result.reply


def test_a_district_the_reports_never_mention_gets_no_city_figure(session):
    result = ask(session, "青羊区新建了多少家高校科协")  # 成都's 19 are not 青羊's
    assert not result.answered, result.reply


def test_chat_words_and_these_years_do_not_change_the_question(session):
    result = ask(session, "小编 咱们成都这几年新建了多少家高校科协呀")
    assert result.query is not None
    assert result.query.unit_class != "year"  # "这几年" is lately, not "how many years"
    assert not {"小编", "咱们"} & set(result.query.words)
    assert result.answered and "高校科协19家" in result.reply


@pytest.mark.parametrize("question, figure", [
    ("济宁的心理援助热线是多少小时服务的", "24小时"),  # hours are a figure; "热线是多少小时" is no phone question
    ("绵阳2020年度考核有几个县区进了全省前五十", "7个县"),  # the clause that says the number asked
    ("绵阳2020年度考核有几个县区进了全省前二十", "5个县"),
])
def test_durations_and_numbers_the_question_names_pick_the_figure(session, question, figure):
    result = ask(session, question)
    assert result.answered, result.reason
    assert figure in result.reply.split("（来源：")[0]


@pytest.mark.parametrize("question, expected", [
    ("济宁科协李艳华为谁颁的奖", "表现突出的科技工作者"),  # "颁的奖" is the report's 颁奖
    ("书台村人均纯收入提高了百分之多少", "166%"),  # 百分之多少 asks for a percentage
    ("绵阳联合澳门科技大学办的论坛叫什么名字", "川澳中医药产业发展论坛"),  # a forum's name is no person
])
def test_how_citizens_say_it_is_read_as_the_report_says_it(session, question, expected):
    result = ask(session, question)
    assert result.answered, result.reason
    assert expected in result.reply.split("（来源：")[0]


def test_a_split_verb_a_percentage_and_a_name_are_read_as_asked(kb_url):
    from kb.db import session_scope
    from kb.search import get_index

    with session_scope(kb_url) as s:
        index = get_index(s)
        assert "颁奖" in index.parse("济宁科协李艳华为谁颁的奖").words
        assert "分红" in index.parse("书台村村集体一年能分多少红").words  # split by the question word
        assert "有个" not in index.parse("绵阳有几个学会").words
        assert "会议" in index.parse("成都开了几场会").words  # meetings, not the modal 会
        assert index.parse("书台村人均纯收入提高了百分之多少").unit_class == "percent"
        assert index.parse("绵阳联合澳门科技大学办的论坛叫什么名字").qtype != "who"
        s.rollback()


def test_a_sentence_that_says_nothing_new_is_no_answer(kb_url):
    from kb.db import session_scope
    from kb.search import get_index

    with session_scope(kb_url) as s:
        _, candidates = get_index(s).search("范国滨是哪个院的院士", limit=30)
        caption = [c for c in candidates if c.unit.text == "范国滨院士"]
        assert caption and not caption[0].eligible and "says nothing the question does not" in caption[0].why
        s.rollback()


def test_a_long_word_said_with_words_between_its_parts_is_met(session):
    result = ask(session, "成都的科普e站示范点有多少个")  # the report: “科普中国”乡村 e 站、…示范点396个
    assert result.answered, result.reason
    assert "396个" in result.reply


@pytest.mark.parametrize("question, kept", [
    ("有没有科学答疑的活动", "答疑"),  # not the county 大邑 (dayi), which no report names
    ("青少年科技创新大赛得了几个金奖", "金奖"),  # not 锦江 (jinjiang): a dictionary word is no typo
])
def test_everyday_words_are_not_mended_into_place_names(session, question, kept):
    result = ask(session, question)
    assert result.query is not None and kept in result.query.normalized, result.query.fixes


def test_the_no_answer_reply_names_the_places_of_the_reports_it_holds(session):
    from kb.db import bump_kb_version
    from kb.models import Document

    def places(reply: str) -> set[str]:
        listed = re.search(r"我能回答(.+?)科协的工作报告和报道", reply)
        assert listed, reply
        return set(re.split(r"、|和", listed.group(1)))

    from kb import db as kb_db

    reply = ask(session, "成都明天天气怎么样").reply
    assert places(reply) == {"成都", "绵阳", "济宁", "四川省"} and "比如“成都有多少家高校科协”" in reply
    try:
        for doc in session.execute(select(Document).where(Document.region.like("%成都%"))).scalars():
            doc.status = "disabled"  # staff switch the 成都 report off (rolled back after the test)
        bump_kb_version(session)
        reply = ask(session, "成都明天天气怎么样").reply
        assert places(reply) == {"绵阳", "济宁", "四川省"}
        assert "成都有多少家高校科协" not in reply  # no longer answered, so no longer offered
    finally:  # what was built from the rolled-back version must not serve a later test
        kb_db.forget(str(session.get_bind().url))


def test_a_place_typo_read_another_way_alone_is_mended(session):
    result = ask(session, "城都新建了多少家企业科协")  # 城都 reads cheng dou, 成都 cheng du; 都 is also "all"
    assert result.query is not None and ("城都", "成都") in result.query.fixes
    assert result.answered and "325家" in result.reply


def test_question_words_and_chat_are_not_content_words(kb_url):
    from kb.db import session_scope
    from kb.search import get_index

    with session_scope(kb_url) as s:
        index = get_index(s)
        assert "共建" not in index.parse("绵阳一共建了多少个科普e站").words  # 一共 / 建了, not 一 / 共建
        assert "几号" not in index.parse("全国科技工作者日是几月几号来着").words
        assert not {"打扰", "来着"} & set(index.parse("打扰一下 全国科技工作者日是哪天来着").words)
        s.rollback()


def test_where_an_event_was_held_is_not_a_city_a_sentence_names_for_another_reason(kb_url):
    from kb.db import session_scope
    from kb.search import get_index

    with session_scope(kb_url) as s:
        _, candidates = get_index(s).search("第三届天府科技云服务大会在哪个城市开的", limit=30)
        held = [c for c in candidates if c.eligible and c.unit.kind == "sentence"]
        assert held and "在成都举行" in held[0].unit.text
        assert all("举行" in c.unit.text or "召开" in c.unit.text or "举办" in c.unit.text for c in held)
        s.rollback()


def test_the_quote_holds_the_clause_that_says_the_kind_of_thing_asked_for(session):
    result = ask(session, "济宁反邪教专题片是在哪个栏目播出的")  # a long sentence; 栏目 is in its last clause
    assert result.answered, result.reason
    assert "一切为了群众" in result.reply.split("（来源：")[0]


def test_a_name_question_prefers_the_sentence_that_quotes_the_name(session):
    result = ask(session, "宜宾科协廉洁教育活动的主题是什么")  # not "围绕活动主题开展了集体讨论"
    assert result.answered, result.reason
    assert "受警醒、明底线、知敬畏、守规矩" in result.reply.split("（来源：")[0]


@pytest.mark.parametrize("question", ["把中小学生组织起来参加比赛有多少场", "绵阳有先进集体多少个", "孩子们的阳光体育活动",
                                      "下去教种地养殖的技术课一共开了好多回"])
def test_grammar_characters_are_not_read_as_a_place_typo(session, question):
    result = ask(session, question)  # 把中 is not 巴中, 有先 not 游仙, 的阳 not 德阳, 种地|养殖 not 德阳
    assert result.query is not None and result.query.fixes == [], result.query.fixes


def test_a_self_introduction_is_who_asks_and_its_place_what_is_asked_about():
    from kb.extract import our_city

    assert our_city("我是北川的农民 想问下科协这五年搞了多少次技术培训") == "绵阳 想问下科协这五年搞了多少次技术培训"
    assert our_city("您好，我是绵阳一个学会的老会员，想问问市科协办过几次培训") == "绵阳 想问问市科协办过几次培训"
    assert our_city("我是高校老师，带学生参加过首届大赛") == "带学生参加过首届大赛"
    assert our_city("我是成都的老师，绵阳有几个科普基地") == "绵阳有几个科普基地"  # the question names a place


def test_our_city_needs_the_citizen_to_say_where_they_are():
    from kb.extract import our_city

    assert our_city("本市青羊区新建了多少家高校科协") == "本市青羊区新建了多少家高校科协"  # asks about 青羊
    assert our_city("我们市场监管局在郫都有什么活动") == "我们市场监管局在郫都有什么活动"  # 市场, not 市
    assert our_city("我在成都，咱们市温江区有多少") == "我在成都，咱们市温江区有多少"
    assert "成都" in our_city("我是温江的，咱们市有多少") and "温江" not in our_city("我是温江的，咱们市有多少")


def test_the_last_two_years_are_lately_not_the_number_two(session):
    result = ask(session, "成都近两年新建了多少家高校科协")
    assert result.answered, result.reason


def test_the_default_welcome_follows_the_reports_and_staff_text_wins(session):
    from bot import texts
    from kb import db as kb_db
    from kb.db import bump_kb_version, set_setting
    from kb.models import Document

    assert "济宁" in texts.welcome(session) and "比如“成都有多少家高校科协”" in texts.welcome(session)
    try:
        for doc in session.execute(select(Document).where(Document.region.like("%成都%"))).scalars():
            doc.status = "disabled"
        bump_kb_version(session)
        welcome = texts.welcome(session)
        assert "成都" not in welcome and "济宁" in welcome  # no 成都 report, no 成都 example
        set_setting(session, "welcome_text", "欢迎（工作人员写的）")
        assert texts.welcome(session) == "欢迎（工作人员写的）"
    finally:
        kb_db.forget(str(session.get_bind().url))


def test_a_citys_figure_is_not_the_provinces(session):
    # 绵阳's report counts 绵阳's 科普e站; the province's total is in no report
    assert not ask(session, "四川全省一共建了多少个科普e站").answered
    result = ask(session, "绵阳建了多少个科普e站")
    assert result.answered and "148个" in result.reply, result.reason
    province = kb_answer.answer(session, "四川全省一共建了多少个科普e站", record_unanswered=False)
    mianyang = next(c for c in province.candidates if "科普e站148个" in c.unit.text)
    assert not mianyang.eligible and any("a part of 四川" in w for w in mianyang.why)


def test_a_figure_of_a_chosen_few_does_not_count_them_all(session):
    # "择优支持14家市级优秀学会": 14 of the city's societies, not how many it has
    result = ask(session, "成都一共有多少家市级学会")
    assert not result.answered, result.reply
    result = ask(session, "成都择优支持了多少家市级学会承接政府转移职能")  # 择优 asks for the chosen ones
    assert result.answered and "14家" in result.reply, result.reason


def test_a_level_word_is_not_met_inside_a_deputys_rank(session):
    # "2名年轻干部先后被提拔到副县级领导岗位" says nothing of 县级科协
    result = ask(session, "绵阳有多少个县级科协")
    assert not result.answered, result.reply
    assert not any(c.eligible and "副县级" in c.unit.text and c.coverage >= 1.0 for c in result.candidates)


def test_international_is_not_met_by_a_figure_of_international_and_domestic(session):
    # "举办国际国内学术会议、交流活动2090余场次" counts both kinds together
    result = ask(session, "成都科协八大以来举办了多少场国际学术会议")
    assert not result.answered, result.reply
    result = ask(session, "成都科协八大以来举办了多少场国际国内学术会议")
    assert result.answered and "2090余场次" in result.reply, result.reason


@pytest.mark.parametrize("question", [
    "绵阳科协系统五年里办的国际学术会议有多少场",  # "学术交流活动50余场" says no level
    "成都柔性引进的院士里，外籍院士有几位",
])
def test_a_figure_that_says_no_level_does_not_count_one_level(session, question):
    result = ask(session, question)
    assert not result.answered, result.reply
    assert any(any(w.startswith("says no ") for w in c.why) for c in result.candidates)


def test_a_who_reply_keeps_the_clause_that_names_the_person(session):
    # a long sentence: the clause the question matches (宣讲会) does not name who spoke
    result = ask(session, "来济宁讲知识产权助力科技经济融合的是哪位？")
    assert result.answered and "盛小列" in result.reply, result.reason
    assert len(result.reply.split("（来源：")[0]) <= kb_answer.MAX_REPLY + 4


def test_excerpt_puts_a_named_person_next_to_the_matched_clause():
    sentence = ("实施行动,依托推广应用工作,企业注册数量1241家,专利检索量为2178条,节约研发投入60余万元,"
                "承接了山东省知识产权助力科技经济融合宣讲会,中国科协学会服务中心原主任盛小列进行宣讲,"
                "省科协张波副主席到会指导,向全市150家企业推广发明专利信息。")
    plain = kb_answer.excerpt(sentence, ["宣讲会", "知识产权"], limit=60)
    assert "盛小列" not in plain
    named = kb_answer.excerpt(sentence, ["宣讲会", "知识产权"], limit=60, names=["盛小列", "张波"])
    assert "宣讲会" in named and "盛小列" in named


@pytest.mark.parametrize("question", [
    "成都市科协的主席现在是哪个?",  # 哪个 for 谁: the only 主席 a 成都 sentence names is a trade union's
    "宜宾市委第二巡察组的组长是哪个?",  # the reports name the group, not its 组长
    "成都市科协主席",  # typed like a search: the post alone asks who holds it
])
def test_a_post_asked_with_which_one_is_a_who_question_about_that_post(session, question):
    result = ask(session, question)
    assert result.query is not None and result.query.qtype == "who"
    assert not result.answered, result.reply


def test_haoduo_asks_how_many_and_dialect_filler_is_not_content(kb_url):
    from kb.db import session_scope
    from kb.search import get_index

    with session_scope(kb_url) as s:
        index = get_index(s)
        query = index.parse("成都科协给贫困村发展产业一共落实了好多钱?")  # 好多 is 多少 in the south-west
        assert query.unit_class == "money" and query.qtype == "figure"
        assert not {"里头", "那种", "好多个"} & set(index.parse("书台村里头那种村民一共有好多个?").words)
        s.rollback()


@pytest.mark.parametrize("question, figure", [
    ("成都科协这几年办了多少场学术会 两千多场?", "2090余场次"),  # a guess, not a figure the report must say
    ("绵阳建的科普e站到底有多少个？是不是一百出头？", "148个"),
    ("巴州区科协在书台村挂包多少年了？是不是五六年？", "10年"),  # 五六 is five or six, not 56
    ("省科协1月26日开的述责述廉会，纪检监察组那边是谁到会指导的？", "到会指导"),  # the date its section gives
    ("成都科协这几年办了多少场学术会 两三千场?", "2090余场次"),  # 两三千: two or three thousand, a guess
])
def test_a_citizens_guess_or_a_date_of_the_event_does_not_rule_out_the_answer(session, question, figure):
    result = ask(session, question)
    best = next(c for c in result.candidates if c.eligible)
    assert figure in best.unit.text, best.why
    if result.query.qtype == "who":
        assert best.unit.names, best.why  # the person who came to guide


def test_a_range_of_two_numerals_stays_a_range():
    from kb.text import normalize

    assert "56" not in normalize("是不是五六年") and "23" not in normalize("两三个")
    assert "2020" in normalize("二〇二〇年") and "15" in normalize("十五个")
    assert normalize("两三千场") == "两三千场" and "十四五" in normalize("“十四五”发展思路")


def test_a_spoken_decimal_is_a_number_and_a_time_is_not():
    from kb.text import normalize

    assert normalize("百分之十一点七") == "11.7%" and normalize("二点五万人") == "2.5万人"
    assert "." not in normalize("九点五十分开会") and normalize("快一点") == "快一点"


@pytest.mark.parametrize("question, figure", [
    ("成都院士专家工作站 总数", "179个"),  # the report writes 院士(专家)创新工作站
    ("济宁科协指导了几个县市区的科协顺利换了届?", "7个"),  # 顺利 says how, not what is counted
])
def test_what_is_counted_may_be_written_apart_or_said_with_an_adverb(session, question, figure):
    result = ask(session, question)
    best = next(c for c in result.candidates if c.eligible)
    assert best.figure is not None and best.figure.text == figure, best.why


def test_a_word_the_report_writes_with_a_bracket_inside_is_said(kb_url):
    from kb.db import session_scope
    from kb.search import get_index

    with session_scope(kb_url) as s:
        index = get_index(s)
        query = index.parse("成都院士专家工作站申请了多少项专利")
        assert "院士专家工作站" in query.words and "院士专家工作站" in index.corpus_text  # a word the reports use
        assert index.hit(query, "院士专家工作站", "院士(专家)工作站累计申请专利2198项") == 1.0
        assert index.parse("绵阳这五年办了多少场学术交流活动").numbers == []  # 这五年 is lately, like 这几年
        assert "述责述廉" in index.parse("省科协述责述廉会议有多少人参加").words  # a term, not 述责述 / 廉
        s.rollback()


@pytest.mark.parametrize("question", ["书台村是谁帮扶的", "第二届科创会总结会上谁讲了话"])
def test_a_byline_answers_only_who_wrote_the_article(session, question):
    result = ask(session, question)
    assert not any(c.eligible and c.unit.byline for c in result.candidates)
    assert "署名" not in result.reply


def test_a_money_word_typed_like_a_search_asks_for_the_figure(session):
    result = ask(session, "成都工作站 争取经费")  # no question word: 经费 asks how much
    assert result.query is not None and result.query.qtype == "figure"
    best = next(c for c in result.candidates if c.eligible)
    assert best.figure is not None and best.figure.text.startswith("31.2"), best.why


def test_a_figure_the_question_states_as_context_leaves_the_others_of_its_sentence(session):
    # 148 is context here, not a whole asked about in part: 76个 in the same sentence answers
    result = ask(session, "绵阳建了148个科普e站，新建了多少个省级科普共享基地")
    best = next(c for c in result.candidates if c.eligible)
    assert best.figure is not None and best.figure.text == "76个", best.why


def test_a_byline_under_a_title_is_not_its_sections_lead(kb_url):
    from kb.db import session_scope
    from kb.search import get_index

    with session_scope(kb_url) as s:
        units = [u for u in get_index(s).units if u.kind == "sentence" and u.slug == "mianyang-kexie-review.txt"]
        assert units and not any(u.lead.startswith("本报记者") for u in units)
        s.rollback()


def test_each_item_of_a_list_of_figures_counts_its_own_thing(session):
    # "创建农村示范基地86个、科普示范社区207个、市级示范农技协58个"
    assert not ask(session, "成都一共有多少个农技协").answered  # 86 counts 示范基地, 58 only 示范 ones
    result = ask(session, "成都有多少个市级示范农技协")
    best = next(c for c in result.candidates if c.eligible)
    assert best.figure is not None and best.figure.text == "58个", best.why


def test_a_city_clause_gives_no_figure_for_its_province():
    from kb.search import _below_only

    assert _below_only(["四川"], "绵阳市公民具备科学素质的比例为10.4%,")
    assert not _below_only(["四川"], "全省仅成都、绵阳两市超过10%,") and not _below_only(["绵阳"], "绵阳市…10.4%")


def test_a_districts_whole_is_no_figure_for_its_city(session):
    # "截至2月,全区平台注册用户62839个" is 安州区's (its news item), not 绵阳's
    assert not ask(session, "绵阳天府科技云有多少注册用户").answered
    result = ask(session, "安州区天府科技云有多少注册用户")
    assert result.answered and "62839个" in result.reply, result.reason


def test_the_example_questions_of_fixed_texts_are_answered(session):
    from bot import texts

    for example in re.findall(r"比如“([^”]+)”", texts.WHAT_TO_ASK + texts.TOO_LONG):
        if example.startswith("最近"):
            continue  # upcoming events: the events table's, through the dialogue
        result = ask(session, example)
        assert result.answered, (example, result.reason)


# Round 5's rules, one row each: what the reports answer, as they say it ...
@pytest.mark.parametrize("question, said", [
    ("绵阳市科协主席叫什么", "范国滨"),  # a post asked with 叫什么 is a who-question
    ("绵阳市科协主席", "范国滨"),  # ... and typed alone with its body, like a search
    ("四川省科协党组书记是谁", "毛大付"),  # 四川省科协 is 四川 + 省科协; a district's 科协党组书记 is no rival
    ("安州区天府科技云62839个注册用户里，科技工作者有多少", "16507人"),  # 其中注册科技工作者16507人
    ("成都那21项深化改革任务完成几项了", "19项"),  # 已完成19项
    ("绵阳科普e站是不是148个", "148个"),  # a figure checked is answered with itself
    ("书台村食用菌那个项目，村集体一年能分多少红？", "村集体每年分红5.6万元"),  # 分多少红: 分红
    ("书台村全村一共有好多个村民?", "1936名"),  # 好多 asks how many
    ("成都铺了好多台那种电子屏的全媒体科普阅览机子?", "520余台"),
    ("书台村那篇帮扶纪实是哪个记者写的", "署名：本报记者 杨永忠"),  # a byline that ends the article
    ("七大以来工作回眸 记者", "署名：本报记者 肖小江"),  # one under the title: "■ 本报记者 肖小江"
    ("济宁科协2020年工作综述是哪个通讯员写的？", "署名：本报通讯员 郭克鹏 王方辉"),
    ("安州区科协实施人才四项工程那篇稿子作者是谁", "署名：李加成"),  # 作者: any byline of the article
])
def test_round5_questions_are_answered_as_the_report_says(session, question, said):
    result = ask(session, question)
    assert result.answered and said in result.reply, result.reason


# ... and what they do not hold, though a sentence shares most of the question's words
@pytest.mark.parametrize("question", [
    "成都市科协现在的主席是谁",  # the only 主席 a 成都 sentence names is a trade union's (县总工会主席李建康)
    "成都市科协主席叫什么",
    "主席",  # a post without its body
    "馆长",
    "成都207个科普示范社区里，全国级的有几个",  # a part of a stated figure: the sentence has none
    "成都抗疫捐的1800多万元里，个人捐款占了多少",
    "成都新成立的那325家企业科协,有好多家在高新区?",
    "中攻那个FLASH医疗设备项目什么时候能投产？",  # the report dates its 签约开工, not when it will run
    "范国滨是哪一年当选院士的",
])
def test_round5_questions_the_reports_do_not_answer(session, question):
    result = ask(session, question)
    assert not result.answered, result.reply


# Round 6's rules, one row each: questions a hard rule had ruled out, answered as the report says
@pytest.mark.parametrize("question, said", [
    ("绵阳45岁以下的青年科技工作者占多少", "1/3以上"),  # 占多少 asks for a share; 1/3 is one
    ("成都和北京中关村、深圳那几家一起发起的联盟叫什么", "城市创新创业服务联盟"),  # 那几家: those, not how many
    ("成都院士工作站申请专利两千多项吧 具体多少", "2508项"),  # a guess is no word the sentence must say
    ("安州区天府科技云注册用户有多少 六万多?", "62839个"),  # 六万多: a guess too
    ("成都科协系统这些年办了好多回各种各样的科普活动", "4万余次"),  # 各种各样: no report word, not what is counted
    ("绵阳学生参加科技比赛拿了几个国家一级的奖", "18个"),  # 国家一级: 国家级
    ("济宁心理援助热线一天几个钟头有人接", "24小时"),  # 钟头: 小时, and how long, not how many
    ("绵阳和澳门合办的中医药论坛 叫什么名字", "川澳中医药产业发展论坛"),  # a forum's name, not a person's
    ("宜宾科协干部是到哪里去听服刑人员现身说法的", "宜宾监狱"),  # "到四川省宜宾监狱听取": where they went
    ("成都科协系统办的国内国外专家交流活动有好多场", "2090余场次"),  # 国内国外 asks for both: 国际国内
    ("绵阳科协45岁以下的年轻科技人员占到好多了", "1/3以上"),  # 占到好多: a share
    ("济宁有几个项目评上了淮海科技奖 二三等奖那些", "4个项目"),  # 二三等奖: 二、三等奖, not 23
    ("2020年济宁表扬突出科技工作者 一共给多少人发了奖", "30名"),  # 发了: what was done, not what is counted
    ("省科协那次述职会上出席的两位副主席叫啥名字", "经戈"),  # 两位: how many are asked about, no 2 to find
    # a figure remembered and asked to be checked is asked, not given: the reply shows the report's
    ("书台村食用菌那个项目 村集体每年分红好像是8000块？", "5.6万元"),
    ("成都2018年公民具备科学素质的比例是10.7%吗", "11.7%"),
    ("省科协2023年度述责述廉会议好像有100多人参加？", "60余人"),  # and the section's first line dates it
    ("听说巴州区科协挂包书台村有5年了，确切是几年", "10年"),  # what was heard is no figure to find
    ("济宁科协疫情时开的心理援助热线是几小时在线的", "24小时"),  # how long: nothing is counted
    ("烦请告知宜宾市科协党组书记的姓名", "任兴江"),  # an official's courtesy is no content; 姓名 asks who
    ("cd科协在海外一共设了多少个基地", "38个海外基地"),  # cd: 成都, kx: 科协, tfkjy: 天府科技云
    ("省kx述职会上现场述职的那家杂志社叫啥", "四川科幻世界杂志社"),
    ("安州区帮哪家企业攻关科技难题", "麦思威尔"),  # 哪家企业: a sentence that names one (麦思威尔等企业)
    ("绵阳58所和哪家企业开展了交流合作", "铁骑力士集团"),
    ("2020年四川哪几个市公民科学素质比例超过了10%", "全省仅成都、绵阳两市超过10%"),  # the bar asked about
])
def test_round6_questions_are_answered_as_the_report_says(session, question, said):
    result = ask(session, question)
    assert result.answered and said in result.reply, result.reason


@pytest.mark.parametrize("question", [
    "成都的海外基地都在哪些国家",  # "成都国家全面创新改革试验区" names no country
    "海智计划绵阳工作基地具体在哪个位置",  # 哪个位置 asks where: the reports only say it was set up
    "关于FLASH医疗设备项目，请告知预计投产时间",  # 投产时间 asks when it runs; the report dates its 签约开工
    "书台村种的食用菌是卖给哪家公司的",  # no sentence names the buyer
    "成都2020年公民科学素质比例是多少",  # "全省仅成都、绵阳两市超过10%": a bar passed, not 成都's figure
    "四川全省公民科学素质比例现在是多少",  # ... nor the province's
])
def test_round6_questions_the_reports_do_not_answer(session, question):
    result = ask(session, question)
    assert not result.answered, result.reply


# Round 7's rules, one row each: questions a rule had ruled out (or read wrongly), answered as the report says
@pytest.mark.parametrize("question, said", [
    ("第三届天府科技云服务大会新加了哪些活动", "京川渝"),  # 新加: 新增
    ("书台村 所在乡镇", "曾口镇"),  # 所在乡镇 asks where, and the reports name a 镇
    # a voice message's correction: what was said before 不对 / 不是 is taken back
    ("第一届 不对 第三届天府科技云服务大会在哪个城市举行的", "成都"),
    ("巴州区科协挂包书台村 挂了五年 不对 到底挂了几年", "10年"),
    ("成都累计建了多少个院士专家工作站", "179个"),  # 累计建 is no typo of 纪检: a mend may not cut 累计
    ("成都柔性引进了多少名院士啊 七十几个吧", "71名"),  # 七十几: a guess, not 70 to find
    ("百分之十一点七是成都哪一年的公民科学素质比例", "2018年"),  # a spoken decimal: 11.7%
    ("绵阳科协推出的科普小剧场叫什么名字", "绵阳科普小剧场"),  # a theatre's name, not a person's
    ("西南科技大学那个锂电池的成果叫什么名字", "强稳健性锂电池循环寿命预估系统"),
    ("书台村为了种中药材一共筹了多少钱", "150余万元"),  # 为了: grammar, not content
    ("书台村被省里评了个什么荣誉", "四川省乡村振兴示范村"),  # 评: 表彰为
    ("济宁科协常说的基层三长是哪三个长", "农技站站长"),  # 哪三个: which, not 3
    ("2020年在济宁算是第几个全国科技工作者日", "第四个"),  # 第几个 and 算是: no content
    ("宜宾市科协廉洁警示教育的主题是哪几句话", "受警醒、明底线、知敬畏、守规矩"),  # 几句话: no content
    ("第二届“科创会”挑出来的科创项目一共有多少个", "5740个"),  # 挑出来: 遴选
    ("绵阳杰出科技工作者里头 新闻点名提到的是哪一位", "赵剑衡"),  # 哪一位: who; 点名提到: the report's
    # who asks is not what is asked: the introduction keeps only its place
    ("您好，我是绵阳一个学会的老会员，想问问市科协这几年给学会办过多少回培训？", "20余次"),
    # "…共60余人参加会议" points back at the meeting its section's first line names
    ("省科协述责述廉会议一共来了多少人", "60余人"),
    # a place the citizen guesses is asked, not given
    ("济宁2020年全国科普日主场活动是不是在任城区启动的", "汶上县"),
    ("书台村应该是巴中恩阳区的吧 到底在哪个镇", "曾口镇"),
    # "成功举办第19届…大赛,第21届信息学竞赛、第4届机器人竞赛。其中…": the edition is any of the list
    ("济宁第19届青少年科创大赛的选手在省赛拿了多少个一等奖", "24项"),
    # a date question: a sentence that gives no date, or only a year, is no rival to the day
    ("第三届天府科技云服务大会是啥时候开的", "1月18日"),
    ("安州区在天府科技云上注册的搞科研的人有多少", "16507人"),  # 搞科研的人: 科技工作者
    ("书台村 枳壳 面积", "510亩"),  # 面积 typed like a search asks for an area
    ("成都2018年老百姓里够得上科学素质标准的占好多", "11.7%"),  # 老百姓: 公民
])
def test_round7_questions_are_answered_as_the_report_says(session, question, said):
    result = ask(session, question)
    assert result.answered and said in result.reply, result.reason


@pytest.mark.parametrize("question", [
    "院士专家进校园活动怎么邀请到我们学校",  # how to invite: the reports only name the activity
    "济宁办的大学生医养健康大赛 一等奖是哪个学校拿的",  # 大学生 names no 大学: no sentence names the winner
    "省科协主席奖全省就两个 除了济宁 另外一个是哪个市的",  # not 济宁, and "我市" names no city
    # what it takes or how to reach it: the reports give no procedure, only that the thing exists
    "四川省学术技术带头人申报需要什么条件",
    "四川科幻世界杂志社的期刊订阅方式是什么",
    "绵阳科技辅导员培训报名链接发我一下",
    "宜宾监狱具体在什么地方",  # "到四川省宜宾监狱听取…" names it, not where it is
    "绵阳农科院院长王秀全今年好大岁数了",  # 好大岁数: how old; no report gives an age
    "省科协那次述职评议会议一共有多少个党支部参加",  # bodies: "共60余人参加会议" counts people
    "成都市级学会一共有多少个",  # 成都 + 市级; "14家市级优秀学会" counts a chosen few, asked with nothing before 多少
])
def test_round7_questions_the_reports_do_not_answer(session, question):
    result = ask(session, question)
    assert not result.answered, result.reply


def test_a_speakers_district_stands_for_their_city(session):
    """"我是北川的农民 …科协这五年…": their city's association (绵阳, whose report covers 北川) is
    asked about; a question that names a place itself keeps it."""
    from kb.search import get_index

    kb_index = get_index(session)
    assert kb_index.parse("我是北川的农民 想问下科协这五年搞了多少次技术培训").regions == ["绵阳"]
    assert kb_index.parse("我是北川的 北川有几个科普基地").regions == ["北川"]
    assert kb_index.parse("北川有几个科普基地").regions == ["北川"]


def test_a_weight_is_asked_in_its_own_unit(session):
    from kb.search import get_index

    query = get_index(session).parse("书台村枳壳亩产多少斤")  # not answered by 510亩 or by 元
    assert query.unit_class == "weight"
    assert not ask(session, "书台村枳壳亩产多少斤").answered


def test_a_stop_verb_glued_to_its_particle_is_no_content_word(session):
    from kb.search import get_index

    query = get_index(session).parse("济宁全国科普日那段时间全市一共整了多少场活动")  # "调整了" holds 整了
    assert "整了" not in query.words and "时间" not in query.words


def test_which_national_society_is_no_place_question(session):
    result = ask(session, "济宁跟哪个国家级学会签了战略合作协议")  # 哪个国家级学会: a body, not a country
    assert result.query is not None and result.query.qtype != "where"
    assert result.answered and "中国水利学会" in result.reply, result.reason



# Round 8's rules, one row each: questions a rule had ruled out (or read wrongly), answered as the report says
@pytest.mark.parametrize("question, said", [
    # an adverb between the thing and 多少 is no word of it, and 奖 alone names it: not 10余万人次 of 学生
    ("绵阳的学生参加科技比赛拿到国家级的奖一共有多少个", "18个"),
    ("绵阳 院士工作站 数量", "3家"),  # the head is 工作站, a thing: 院士 does not make it a count of people
    # "5月30日“全国科技工作者日”当天" gives the day itself; "5月29日,庆祝…活动" is no rival answer
    ("全国科技工作者日是哪一天", "5月30日"),
    # 哪几个活动 asks for activities by name (哪两个 is read 哪几 since round 7): 活动 is the kind of answer
    ("第三届天府科技云大会新增了哪几个活动", "京川渝"),
    ("书台村种药材怎么凑的钱 凑了多少", "150余万元"),  # 钱 … 多少 asks money: not 510亩
    ("西南科大在天府科技云大会上推的啥成果", "强稳健性锂电池循环寿命预估系统"),  # 科大: 科技大学
    # 2024年初: a report of February 2024 gives the count reached ("已达12万余人") without the year
    ("2024年初绵阳天府科技云上注册了多少科技工作者", "12万余人"),
    # "有5个县、区位于全省前二十" counts what reached a rank: no rival to "长期位居全省第一"
    ("绵阳在天府科技云发布的科技成果数量全省排名第几", "全省第一"),
    ("在天府科技云上 绵阳发布的科技成果在全省排老几", "全省第一"),  # 排老几: 排第几
    ("绵阳科协这五年技术培训搞了几百次吧", "200余次"),  # 几百: a figure in the hundreds, not 24期次
    ("书台村的人均纯收入到2022年涨了多少", "166%"),  # 涨了多少: the growth (增长166%), not the level reached
    # "为…颁奖。" says none of the question's words: only its section speaks of 范国滨
    ("范国滨是哪个院的院士啊", "中国工程院"),
    # 那个几个城市: points at the cities, does not ask how many
    ("成都科协搞的那个几个城市一起的创业服务联盟是哪几家发起的", "北京中关村"),
])
def test_round8_questions_are_answered_as_the_report_says(session, question, said):
    result = ask(session, question)
    assert result.answered and said in result.reply, result.reason


@pytest.mark.parametrize("question", [
    "锦江区青少年科技比赛怎么给孩子报名",  # a procedure, for whom between 怎么 and 报名: the reports give none
    "山东省大学生医养健康创新创业大赛的冠军是哪所学校",  # "成功举办…大赛" names no winner
    # "评选赵剑衡等“绵阳杰出科技工作者”8名,举荐…王秀全入选…“最美科技工作者”": nobody else of the 8 is named
    "绵阳杰出科技工作者除了赵剑衡 还有哪些人",
    # what is left out (不算) is counted by the only figure: "乡村 e 站、社区 e 站、校园 e 站示范点396个"
    "成都的社区科普e站有多少个 乡村和校园的不算",
    "绵阳的科普大篷车能不能约到我们学校来 怎么约",  # 怎么约: a procedure (预约) the reports do not give
    "绵阳科普小剧场播了多少期了",  # "建立科普e站148个": a figure whose own words say nothing asked
    "第二届天府科技云服务大会是在哪儿开的",  # "…大会(以下简称“科创会”)总结会在省科协召开": its 总结会's place
])
def test_round8_questions_the_reports_do_not_answer(session, question):
    result = ask(session, question)
    assert not result.answered, result.reply


def test_who_else_is_answered_by_another_in_the_same_role(session):
    """"除了毛大付还有哪几位": 经戈 and 徐勇 are named as 副主席 in the clause after his."""
    result = ask(session, "省科协副主席除了毛大付还有哪几位")
    assert result.answered and "经戈" in result.reply, result.reason


def test_what_a_question_leaves_out_is_read_before_or_after_it(session):
    from kb.search import get_index

    kb_index = get_index(session)
    assert kb_index.parse("绵阳现在有几家专家工作站 院士站不算").excluded == ["院士"]
    assert kb_index.parse("成都光是社区e站有多少个 不算乡村和学校的").excluded == ["乡村", "学校"]
    assert kb_index.parse("成都有多少个学会 不包括市级学会").excluded == ["市级"]  # 学会 is asked
    result = ask(session, "绵阳现在有几家专家工作站 院士站不算")
    assert result.answered and "27家" in result.reply, result.reason


def test_a_word_before_its_complement_is_no_thing_counted(session):
    """"几家企业 整理出多少项技术需求": jieba tags 整理 a noun, but 出 after it makes it a verb."""
    from kb.search import _focus

    assert _focus("济宁借中国科协年会跑了几家 企业 整理出多少项 技术需求")[0] == ["企业"]
    result = ask(session, "济宁借着中国科协年会走访了几家企业 梳理出多少项技术需求")
    assert result.answered and "10家" in result.reply and "17项" in result.reply, result.reason


def test_a_guessed_magnitude_bounds_the_figure(session):
    from kb.search import _magnitude_guessed

    assert _magnitude_guessed("技术培训有几百次吗") == (100.0, 1000.0)
    assert _magnitude_guessed("有几十万人次吧") == (1e5, 1e6)
    assert _magnitude_guessed("注册的有十几万了吧") is None  # 十几万: 10 to 19 ten-thousands, not 几万
    assert _magnitude_guessed("第几十届") is None


# Round 9's rules, one row each: questions a rule had ruled out (or read wrongly), answered as the report says
@pytest.mark.parametrize("question, said", [
    ("绵阳有几个协会承接了政府转移的职能", "4个学会"),  # 学(协)会: a citizen's 协会 is the report's 学会
    ("成都科协组织专家做了多少个调研课题", "135"),  # 调研 names the 课题 counted (not 专家): no verb after 多少个
    ("巴州区科协对口帮书台村有多少年了", "10年"),  # 对口帮: 挂包, 帮扶
    ("省科协的述职评议考核会一共来了多少人", "60余人"),  # 来了多少人: how many took part (参加会议)
    ("绵阳有多少家企业和单位在天府科技云上注册了", "2.2万余家"),  # 企事业单位 are 企业 too
    ("回村投钱种蘑菇的那个党员叫啥名字", "王茂全"),  # "党员王茂全投资…": a name after 党员, before 投资
    ("成都不调人事关系 灵活请来帮忙的院士有多少位", "71"),  # 灵活, 不调关系: 柔性引进
    # asked of no place: the province's 5740, and 绵阳's 513 is a part of it, not a rival answer
    ("第二届科创会最后一共挑出来多少个科创项目", "5740个"),
    ("成都是不是有很多院士专家工作站 总共有多少个", "179"),  # 很多: chat, not a word the sentence must say
    ("新津区科协下一步打算做什么", "共筑科普事业"),  # 打算: 计划, 下一步
    ("绵阳专门请院士来企业帮忙的那种站点,五年建起了几家?", "3家"),  # 站点: 工作站
    # 几个地方签的…全称叫啥: the name is asked, not how many signed
    ("涪江流域几个地方签的那个科技合作协议全称叫啥", "涪江流域深化科技协同创新发展合作协议"),
    ("绵阳科协这几年办过多少场学术方面的交流会", "50余场"),  # 交流会: 学术交流活动
    ("山东大学生医养健康大赛有多少所学校参加", "71所"),  # 学校: 参赛高校
    # 谁给表彰的, 得到了谁的肯定: a body may answer (省委、省政府; 中国科协), not only a person
    ("书台村的示范村称号是谁给表彰的", "省委、省政府"),
    ("园区科协的成都模式得到了谁的肯定", "中国科协"),
    ("碰到地震、非洲猪瘟、新冠这些突发的事,绵阳科协专门搞了好多回临时的科普宣传?", "60余次"),  # 临时: 应急科普
    # the full name is said by the name the report uses for it: "第二届“科创会”遴选出的5740个"
    ("第二届天府科技云服务大会一共遴选了多少个科创项目", "5740个"),
    # 面积 asks the figure (like 多少亩), and 数据 after it names nothing counted
    ("请提供书台村种植中药材枳壳的面积数据", "510亩"),
])
def test_round9_questions_are_answered_as_the_report_says(session, question, said):
    result = ask(session, question)
    assert result.answered and said in result.reply, result.reason


def test_round9_readings_of_the_question(session):
    from kb.search import _focus, get_index
    from kb.text import person_names

    assert _focus("组织专家做了多少个调研课题")[0] == ["课题", "调研"]  # a verbal noun before a noun
    assert _focus("多少家企业参加比赛")[0] == ["企业", "参加"]  # a verb after the thing stays a verb
    assert get_index(session).parse("书台村人均收入涨了百分之好多").unit_class == "percent"
    assert "天开" not in get_index(session).parse("述职的会是哪天开的").words  # 哪天/开, not 哪/天开
    assert person_names("鼓励回引党员王茂全投资500余万元") == ["王茂全"]  # not 王茂 as well
    index = get_index(session)
    assert "参加" in index.parse("述职评议考核会一共来了多少人").normalized  # who took part
    assert "参加" not in index.parse("绵阳科协这五年请来了多少人").normalized  # who was invited


def test_a_station_is_one_kind_or_the_other():
    """A citizen's 站点 may be a 工作站 or a 服务站, but a 工作站 is no 服务站."""
    from kb.text import related_words

    assert "工作站" in related_words("站点") and "服务站" in related_words("站点")
    assert "服务站" not in related_words("工作站")


def test_a_sum_of_money_needs_some_of_its_own_words(session):
    """"至少拿出多少来给公益岗位发工资" asks a share (不少于20%); "协调项目资金累计60余万元"
    shares almost none of its words and is no answer."""
    result = ask(session, "书台村集体挣的钱 至少拿出多少来给公益岗位发工资")
    assert "60余万元" not in result.reply
    assert not result.answered or "不少于20%" in result.reply, result.reply  # if it answers, the share asked


@pytest.mark.parametrize("question", [
    "成都城乡社区科技服务集市下一场在哪个社区办",  # the next time: the reports say what was done, no plan
    "想在成都当科普志愿者 咋个去登记",  # 咋个去登记: a procedure the reports do not give
    "绵阳入选海外重大科创项目专场推介会的4个项目分别是哪几个",  # "绵阳4个科创项目入选…": names none of the 4
    # "连续三年深度参与…组织36个项目在开幕式…发布": a total over three editions, not the third's
    "第三届天府科技云服务大会一共发布了多少个项目",
])
def test_round9_questions_the_reports_do_not_answer(session, question):
    result = ask(session, question)
    assert not result.answered, result.reply


def test_where_something_was_done_is_not_where_the_event_was_held(session):
    """"20个项目在哪发布的": "第三届…大会在成都举行,绵阳遴选出的…20个" says where the meeting was,
    not where the projects were released: "此次遴选的20个项目在开幕式和省级专场发布"."""
    from kb.search import get_index

    question = "第三届天府科技云服务大会绵阳的20个项目在哪发布的"
    assert get_index(session).parse(question).act == "发布"
    result = ask(session, question)
    assert result.answered and "开幕式" in result.reply and "在成都举行" not in result.reply, result.reason


# Round 10's rules, one row each: questions a rule had ruled out, answered as the report says
@pytest.mark.parametrize("question, said", [
    # "…发布,较去年增加9项,增长率高达81.82%": a bare rate is the rate of what the sentence before it counts
    ("第三届科创会上绵阳发布的项目比上年多了百分之多少", "81.82%"),
    # 搞过, 下面: words no report uses say nothing of any figure and no longer hold 20余次 under the floor
    ("想问下绵阳科协这五年给下面的协会搞过几次培训啊", "20余次"),
    ("来绵阳参加过活动的院士有谁 举一个就行", "孙家栋"),  # "邀请孙家栋等20余名院士": a name heading a count
    ("第三届大会上绵阳那20个项目涵盖哪些领域", "电子信息"),  # asks the fields, not which the 20 projects are
    ("书台村在巴中哪个区哪个镇", "巴州区"),  # 哪个区: a district (巴州区), not the province 四川
    ("全国科普日期间济宁全市上下一共开展了多少场活动", "132场次"),  # 科普日/期间, not 日期: no date asked
    ("第三届天府科技云大会 绵阳拿去发布的硬核项目是几个", "20个"),  # "20个“硬核”项目": the quoted word is its noun's
    # 些, 想, 起来, 是指, 报道: chat a sentence need not say
    ("书台村是哪个镇的 我们想去看看", "曾口镇"),
    ("涪江流域想把成果转化搞起来 用的是什么方式", "科协搭桥"),
    ("绵阳请来的一千多名专家 报道里说了哪一位", "王寿君"),
    ("书台村最近被省委省政府评了个啥子称号", "四川省乡村振兴示范村"),  # 最近: 近日
    ("我家在江油 听说绵阳跟澳门办过一个中医药的论坛 叫啥名字", "川澳中医药产业发展论坛"),  # 江油: who asks
    # 多少场: "活动132场次" counts in 场, "12个活动受到…表扬" in 个 (a weaker answer, not the first)
    ("济宁全国科普日那段时间全市一共搞了多少场活动", "132场次"),
    ("济宁科协的一把手是谁", "李艳华"),  # an association's 一把手 is its 主席
    ("第三届天府科技云服务大会比上一届多了什么新活动", "京川渝"),  # 多了什么新…: 新增了
    # 什么中药材: the clause that says which one (种植中药材枳壳510亩) is quoted, however far from the match
    ("书台村开荒以后种的是什么中药材", "枳壳"),
    ("省科协目标考核 绵阳有7个县区进了全省前多少名", "前五十"),  # the count is given, the rank it reached asked
    ("绵阳科协五年培训了多少青少年科技辅导员", "1000余人次"),  # 五年: a span its section gives (五年来,…)
    # 上万人次 is a guess to check, not 万人次 to find: the report's 1000余人次 answers it (round 6 refused it,
    # to keep "服务群众100余万人次" out; since 五年 no longer rules the sentence out, the report's figure is given)
    ("听说绵阳科协五年培训青少年科技辅导员上万人次？到底是多少", "1000余人次"),
    # 天府科技云的大会 is the meeting's name said short; 科技创新的项目 are the reports' 科创项目 (5740个, not
    # 绵阳's part of them, 513个)
    ("第二届天府科技云的大会一共挑了多少个科技创新的项目", "5740个"),
    ("成都的综合服务功能区是以哪个地方为核心的", "成都高新区"),  # 以成都高新区为核心: a place the sentence names
    ("省科协述职会议上是哪些部门的负责人做了述职", "调宣部"),  # 哪些部门: "办公室、科普部、调宣部及…" lists them
])
def test_round10_questions_are_answered_as_the_report_says(session, question, said):
    result = ask(session, question)
    assert result.answered and said in result.reply, result.reason


def test_a_heading_says_less_than_the_paragraph_it_titles(session):
    """"- **丰富科技会堂服务功能**" is a passage of its own over the paragraph that lists the functions:
    it is a title, not the answer to "科技会堂有些什么功能"."""
    from kb.search import get_index

    question = "成都科技会堂都有些什么功能"
    _, ranked = get_index(session).search(question)
    assert ranked[0].unit.text.startswith("八大以来，科技会堂"), [c.unit.text[:20] for c in ranked]
    heading = next(c for c in ranked if c.unit.text == "丰富科技会堂服务功能")
    assert any(w.startswith("a heading") for w in heading.why)
    result = ask(session, question)  # answered or not (the gate decides), never with the title alone
    assert not result.reply.startswith("丰富科技会堂服务功能")
    assert not result.answered or "成果展示" in result.reply, result.reply


def test_round10_readings_of_the_question():
    from kb.text import person_names

    assert person_names("邀请孙家栋等20余名院士、王寿君等1000余名专家到绵阳参加活动") == ["孙家栋", "王寿君"]
    assert "赵剑衡" in person_names("评选赵剑衡等“绵阳杰出科技工作者”8名")
    from kb.extract import figures, our_city

    # who asks is not what is asked: "我家在江油…", "我是三台县的农户。" introduce the citizen
    assert our_city("我家在江油种中药材 听说绵阳办过一个中医药论坛").startswith("听说绵阳")
    assert "三台" not in our_city("我是三台县的农户。想问问绵阳科协这五年搞了多少次技术培训")

    assert figures("绵阳遴选出的“航空发动机…测试技术”等20个“硬核”项目抛出“橄榄枝”")[0].label.endswith("硬核项目")


def test_a_newer_figure_replaces_only_one_that_answers_as_well(session):
    """A newer report's "注册科技工作者已达12万余人" counts 科技工作者 too, but answers "杰出科技工作者
    评了几名" far worse than "评选赵剑衡等“绵阳杰出科技工作者”8名": it neither replaces it nor is mentioned."""
    result = ask(session, "绵阳杰出科技工作者评了几名 都有谁")
    main = result.reply.partition("（来源：")[0]
    assert result.answered and "8名" in main and "12万余人" not in result.reply, result.reply


@pytest.mark.parametrize("question", [
    "成都科技馆门票要钱吗 要不要预约",  # practical details of a visit: the reports give none
    "海智计划绵阳工作基地驻成都办事处的地址",  # an address: the reports name the office, not where it is
])
def test_round10_questions_the_reports_do_not_answer(session, question):
    from kb.search import get_index

    assert get_index(session).parse(question).qtype == "contact"  # refused for that, not by chance
    result = ask(session, question)
    assert not result.answered, result.reply


# Round 11's rules, one row each: questions a rule had ruled out or answered wrongly, answered as the report says
@pytest.mark.parametrize("question, said", [
    ("成都从国家级的协会那里引进了几个创新驱动助力工程服务站", "5个"),  # 国家级 is said by "国家学会…服务站5个"
    ("涪城区海智工作站聘了几个行业大牛", "4名"),  # a 大牛 is one of the 行业顶尖人才
    # the holder the citizen remembers (还是王久华) is asked about, not the answer: the newest report's
    ("绵阳科协现在的党组书记是谁 我印象里还是王久华", "汤荣生"),
    # 一千多万: a half-remembered figure rules out what is far from it (1.2万人次, 450余万元), not what is near
    ("疫情那时候成都科协好像捐了一千多万 具体是多少", "1800余万元"),
    ("书台村种药材的钱是怎么凑起来的", "自己出一点"),  # 怎么: the clause that says how (采取…的方式)
    ("第三届天府科技云服务大会比往年多了哪些活动", "京川渝"),  # 比往年多了哪些: 新增了
    # a 称号 is quoted after the verb that gives it (表彰为“…”); "最近,走进…书台村" quotes none
    ("书台村最近被省里评上了啥称号", "四川省乡村振兴示范村"),
    # the year says which edition; the one the citizen guesses (第20届, 第二十几届) is asked
    ("济宁2020年办的青少年科技创新大赛是第20届吧", "第19届"),
    ("济宁青少年科技创新大赛2020年应该办到第二十几届了吧", "第19届"),
    ("济宁表扬突出科技工作者的活动是不是在5月30号当天办的", "5月29日"),  # the day remembered is asked
    # 去年 is the year before the report's (a report of early 2024 says "2023年,…"); 跑…趟 is 走访…次
    ("科服保姆去年一共往企业跑了多少趟", "2600余次"),
    ("济宁去年的表扬大会一共给多少个科技工作者颁了奖", "30名"),
    ("第二届科创会开总结会的时候 是哪个大领导讲的话", "毛大付"),  # a 领导 is named by his post (党组书记)
    ("成都科协为科技社团专门成立的党组织叫什么", "科技社团委员会"),  # “中共…委员会” is a 党组织
    ("安州区请了哪些博士给天雄药业这类企业看技术难题", "杰青博士联盟"),  # 技术难题: 科技需求问诊
    # a name is asked, not how many or how long: "几个地方…签的协议叫什么", "能用多久的成果叫啥"
    ("涪江流域几个地方一起签的协议叫什么名字", "涪江流域深化科技协同创新发展合作协议"),
    ("西南科大预测锂电池能用多久的那个成果叫啥", "强稳健性锂电池循环寿命预估系统"),
    ("第三届天府科技云服务大会比前两届多了哪些活动", "京川渝"),  # 比前两届多了哪些: 新增了
    ("济宁办的山东省大学生医养健康创新创业大赛是第几届", "首届"),  # 首届 is the first edition
    ("绵阳的科服保姆服务是围绕哪些产业在做", "四大主导优势产业"),  # the 科服保姆 give the 保姆式 service
    # citizens' verbs: 展了 (展示), 批下来 (获批), 能收 (收入); 每个人 is 每人 (人均), not 每 / 个人
    ("第三届天府科技云大会上绵阳的展区一共展了几天", "2天"),
    ("济宁的老科技工作者报高级职称都批下来了吗 一共几位", "12名"),
    ("那个中药材等投产了 一亩地估计能收好多钱", "1.2万元"),
    ("书台村这些年每个人的收入涨了百分之多少", "166%"),
    # what the citizen heard and wants checked is asked, not given: the report's figure, date or count answers
    ("绵阳连续办了3界乡土人才创新创业大赛 对不", "5届"),  # 对不 checks; 3界 is 3届
    ("成都科协八大以来给贫困村落实了500万产业发展资金 是吗", "200万元"),  # 500万: a claim without 元
    ("巴州区科协对书台村是连续挂包了8年吗", "10年"),  # 挂包了8年
    ("安州区组织了30家企业去参加天府科技云服务大会", "25家"),  # a statement with no question word
    ("济宁2020年全国科普日的主场活动是9月17号启动的吧", "9月19日"),  # the day claimed
    ("我们单位领导说第三届天府科技云服务大会是1月26号开的 是吗", "1月18日"),  # 领导说: hearsay, not a word
    ("听人讲四川公民科学素质超过10%的只有成都一个市 是这样吗", "绵阳"),  # 超过10%: the bar, not the claim
])
def test_round11_questions_are_answered_as_the_report_says(session, question, said):
    result = ask(session, question)
    assert result.answered and said in result.reply.partition("（来源：")[0], result.reason


@pytest.mark.parametrize("question, qtype", [
    ("济宁推荐参评山东省优秀科技工作者的那2个人叫什么", "who"),  # the report says 2名同志, not who they are
    ("京川渝科创交流会在哪个场馆举办", "where"),  # the report names no venue
    ("锦江区2023年的青少年科技比赛什么时候报名", "date"),  # its only date is the year the question names
    ("绵阳的招才引智大使除了李溪还有哪两个人", "who"),  # "李溪等3人": the others are not named
    ("济宁2020年表扬的那30名突出科技工作者有名单吗", "who"),  # a 名单 asks who, not how many
    # 5辆 is a claim to check ("购置科普大篷车" gives no count), not a 5 that "五年来" says
    ("听说绵阳科协买了5辆科普大篷车 是5辆吗", "figure"),
    # round 12
    ("第三届天府科技云大会在成都哪个会展中心开的", "where"),  # "在成都举行" names no venue
    ("述责述廉会议是在省科协哪个会议室开的", "where"),  # nor a room ("省科协厅级干部" is none)
    ("成都那7个全国科普教育基地都是哪几个", "other"),  # "…示范县15个、全国科普教育基地7个" names none of them
])
def test_questions_the_reports_do_not_answer_since_round11(session, question, qtype):
    from kb.search import get_index

    assert get_index(session).parse(question).qtype == qtype  # refused for that, not by chance
    result = ask(session, question)
    assert not result.answered, result.reply


def test_round11_readings_of_the_question(session):
    from kb.search import get_index

    index = get_index(session)
    assert index.parse("绵阳现在主打的是啥立市战略").fixes == []  # 立市 is part of the reports' “科技立市”, no typo
    low, high = index.parse("科协好像捐了一千多万").magnitude
    assert low <= 8e6 and 1.8e7 < high and not low <= 4.5e6  # 800万 and 1800余万 are near it, 450余万 is not
    from kb.text import related_words

    # a 领导 is named by any post, but one post does not stand for another: a 书记 is no 主席
    assert "书记" in related_words("领导") and "书记" not in related_words("主席")
    # 去年 is read against the report's date: the reply must show which year that was
    result = ask(session, "科服保姆去年一共往企业跑了多少趟")
    assert result.answered and "2023年" in result.reply and "2600余次" in result.reply, result.reply


def test_a_list_of_the_kind_asked_ranks_first(session):
    """"哪些领域": "…涵盖电子信息、先进材料、装备制造、食品饮料等领域" lists them and names their kind."""
    from kb.search import get_index

    _, ranked = get_index(session).search("绵阳这次带去的硬核项目都是哪些领域的")
    assert "涵盖电子信息" in ranked[0].unit.text, [c.unit.text[:20] for c in ranked[:3]]


def test_a_how_question_weighs_the_steps_a_report_lists(session):
    """"流程是啥样": "通过宣传推介、…、匹配撮合、对接洽谈、促成交易等流程" lists the steps asked for. Round 11:
    the list now outweighs "…“科服保姆”时时联系对接、促成合作", which had answered it wrongly."""
    from kb.search import get_index

    question = "科服保姆具体是怎么帮企业对接的 流程是啥样"
    _, ranked = get_index(session).search(question)
    listed = next(c for c in ranked if "促成交易等流程" in c.unit.text)
    assert any(w.startswith("lists the 流程") for w in listed.why), listed.why
    result = ask(session, question)
    assert not result.answered or "匹配撮合" in result.reply, result.reply


@pytest.mark.parametrize("question, said", [
    ("第三界天府科技云服务大会是哪几天在哪里开的", "1月18日至19日"),  # 界: speech-to-text's 届
    ("回引的那个党员王茂全 在书台村投了多少钱种食用菌", "500余万元"),  # 种食用菌: what the money was for
    # the report a citizen points at by its edition ("透过第三届…看绵阳" says it; the sentence does not)
    ("现在天府科技云上绵阳注册的科技工作者有多少人了 就是第三届大会那篇报道里说的", "12万余人"),
    ("涪江流域几个地方的科协签了个什么协议", "涪江流域深化科技协同创新发展合作协议"),  # a name, not how many
    ("企业建了专家工作站以后,新增产值一共多少", "26.4亿元"),  # 一共 of what the question calls 新增
    ("我想问一下就是说棉阳市政府跟哪几个学会签了战略合作协议 除了中国科协还有谁", "中国核学会"),  # 谁: a body
    ("绵阳在第三届天府科技云大会上拿出了哪些硬核项目", "航空发动机"),  # “…”等20个“硬核”项目 names one
    ("天府科技云平台建设是按省里哪位领导的指示搞的", "彭清华"),  # "省委彭清华书记": a name before the post
    ("绵阳科协给市级学会定的那个规章叫啥名字", "市级学会组织通则"),  # a 规章's name, not a person's
    ("蒲江的人去新津参观了哪个科普基地", "海诺尔成都环保科普基地"),  # names one, not "对科普基地建设"
    # "…等12个活动受到中国科协、省科协表扬" counts those praised, not all that were held
    ("梁山这边问一下 咱们市全国科普日那阵子一共搞了几场活动", "132场次"),
    ("成都工作站 申请专利数", "2508"),  # a search box's "…数": how many
    ("第二届科创会 项目数", "5740个"),
    ("书台村村集体一年收入到多少了", "11万元"),  # 村集体 is 村级集体经济; 一年收入 is no figure 1
    # a search box's last word asks: 日期 when, 时间地点 when and where, 主题 the theme
    ("述责述廉会 日期", "1月26日"),
    ("第三届科创会 时间地点", "1月18日至19日"),
    ("宜宾 警示教育 主题", "受警醒、明底线、知敬畏、守规矩"),
    ("书台村 2014人均收入", "4960元"),  # 2014 before 人均 is a year, not 2014 people
    # the clause with the question's words, not the one a synonym's many words fill (院士专家工作站)
    ("国家标准 工作站参与制定", "国家标准42项"),
    ("书台村2014年人均纯收入才多少 到22年涨了百分之几", "166%"),  # 到22年: the year 2022
])
def test_round12_questions_are_answered_as_the_report_says(session, question, said):
    result = ask(session, question)
    assert result.answered and said in result.reply.partition("（来源：")[0], result.reason


def test_two_questions_in_one_message_are_read_apart_when_together_they_fit_no_sentence(session):
    """"…办了多少期培训 培训了多少人次": read together, the counted thing of one and the measure of the
    other fit no figure. The first is read alone, and the reply quotes the second's answer too. Not where
    the sentence that answers the first cannot answer the second (申报条件 is said nowhere)."""
    result = ask(session, "安州区科协办了多少期农村实用技术培训 培训了多少人次")
    assert result.answered and "24期次" in result.reply and "3000余人次" in result.reply, result.reason
    assert "人次" in result.query.also_asked  # (`bot kb search` shows it as "also asked")
    result = ask(session, "绵阳今年新建了几家院士工作站 申报条件是什么")
    assert not result.answered, result.reply


def test_round12_readings_of_the_question(session):
    from kb.search import get_index
    from kb.text import person_names

    index = get_index(session)
    assert "面" not in index.parse("绵阳科协这五年里面一共请了多少个院士").words  # 这五年里面: lately
    assert "就是说" not in index.parse("嗯 就是说 然后 绵阳科协这几年请了多少院士").words  # a voice message's fillers
    assert index.parse("连续办了3界的比赛").qtype == "figure" and "届" in index.parse("第三界科创会").normalized
    assert person_names("认真贯彻省委彭清华书记关于“天府科技云”平台建设的指示精神") == ["彭清华"]
    # a search box's …个数 asks how many; "是不是这个数" checks a figure and asks none
    assert index.parse("成都 全国科普教育基地个数").unit_class == "count"  # counted in 个
    assert "这个数" in index.parse("书台村的枳壳每亩能收2万块？是不是这个数").normalized
    # "在哪个县区哪个镇": the sentence that names both ranks first
    _, ranked = index.search("书台村在哪个县区哪个镇")
    assert "曾口镇" in ranked[0].unit.text, [c.unit.text[:20] for c in ranked[:3]]


def test_a_message_of_many_questions_is_read_apart_once(session, monkeypatch):
    """Each part of a message read apart is searched as it is, never split again: a long message of
    many questions costs two more searches, not one per way of cutting it (the 5-second deadline)."""
    from kb.search import Index, get_index

    index = get_index(session)
    read: list[str] = []
    parse = Index.parse
    monkeypatch.setattr(Index, "parse", lambda self, text: read.append(text) or parse(self, text))
    index._search("书台村在哪个镇 第三届大会是哪天开的 成都有多少家高校科协 绵阳五年办了多少场学术交流活动 "
                  "济宁反邪教节目演了几场", 5, ("sentence", "faq"))
    assert len(read) <= 3, read
