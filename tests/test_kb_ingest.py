"""Building the knowledge base: migrations from empty, extraction, re-import, staff answers, CLI.

Each writing test gets its own empty database, once on SQLite and once on the
real PostgreSQL (`empty_url`), so nothing leaks into the shared built one.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import func, inspect, select

from kb import answer as kb_answer
from kb import extract, knowledge
from kb.db import get_engine, migrate, session_scope, set_setting
from kb.ingest import build_corpus, import_document, passages_of, read_file
from kb.models import Document, Edit, Event, Fact, Passage

ROOT = Path(__file__).resolve().parent.parent
BOT = Path(sys.executable).parent / "bot"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty, migrated database of each kind."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    else:
        url = request.getfixturevalue("fresh_pg_url")
    migrate(url)
    yield url
    get_engine(url).dispose()


def test_migration_from_empty_postgresql_builds_the_whole_corpus(fresh_pg_url):
    migrate(fresh_pg_url)
    tables = set(inspect(get_engine(fresh_pg_url)).get_table_names())
    assert {"documents", "passages", "facts", "events", "faqs", "synonyms", "edits", "unanswered"} <= tables
    with session_scope(fresh_pg_url) as session:
        results = build_corpus(session)
    assert len(results) == 5 and all(r.changed for r in results)
    with session_scope(fresh_pg_url) as session:
        assert session.execute(select(func.count()).select_from(Document)).scalar() == 5
        assert session.execute(select(func.count()).select_from(Passage)).scalar() > 100
        # every extracted fact points at the passage it came from, and the passage holds it
        rows = session.execute(select(Fact, Passage).join(Passage, Fact.passage_id == Passage.id)).all()
        assert len(rows) > 250
        assert all(f.sentence in p.text or f.sentence in p.heading for f, p in rows)
        unanswered = kb_answer.answer(session, "成都有多少家高校科协", record_unanswered=False)
        assert unanswered.answered and "19家" in unanswered.reply
    # a second build changes nothing
    with session_scope(fresh_pg_url) as session:
        assert not any(r.changed for r in build_corpus(session))
    # new extraction rules (an upgrade) extract every report again, as a new version
    with session_scope(fresh_pg_url) as session:
        set_setting(session, "extraction_version", "older-rules")
    with session_scope(fresh_pg_url) as session:
        assert [r.version for r in build_corpus(session)] == [2] * 5


def test_facts_have_subject_metric_region_and_their_sentence():
    text = ("打开“天府科技云”平台,一组数据引人注目:绵阳市注册科技工作者已达12万余人、企事业单位2.2万余家,"
            "开设科创工作室1.8万余个。")
    facts = extract.facts(text, doc_region="四川省", scope_region="绵阳")
    got = {(f["metric"], f["value"], f["unit"], f["region"]) for f in facts}
    assert ("注册科技工作者", "12", "万余人", "绵阳") in got
    assert ("企事业单位", "2.2", "万余家", "绵阳") in got
    assert ("开设科创工作室", "1.8", "万余个", "绵阳") in got
    assert all(f["sentence"] == text.split("。")[0] + "。" for f in facts)


def test_figures_know_what_they_count():
    figs = {f.text: f for f in extract.figures("邀请孙家栋等20余名院士、王寿君等1000余名专家到绵阳参加活动。")}
    assert figs["20余名"].label.endswith("院士") and figs["1000余名"].label.endswith("专家")
    assert figs["20余名"].unit_class == "person"
    ordinal = extract.figures("第三十五届绵阳市青少年科技创新大赛成功举办")[0]
    assert ordinal.ordinal and ordinal.value == "35" and ordinal.unit_class == "ordinal"
    money = extract.figures("各科协组织和个人共计捐助1800余万元人民币")[0]
    assert (money.value, money.unit, money.unit_class) == ("1800", "余万元", "money")
    assert extract.figures("2021—2025年第二批全国科普示范区") == [] or all(
        f.unit != "年" for f in extract.figures("2021—2025年第二批全国科普示范区"))


def test_events_names_and_editions():
    evs = extract.events("2020年9月19日,2020年全国科普日济宁主场活动在汶上县新时代文明实践中心启动。",
                         doc_region="山东省济宁市")
    assert len(evs) == 1
    ev = evs[0]
    assert ev["starts_at"].date().isoformat() == "2020-09-19"
    assert ev["region"] == "汶上" and "济宁" in extract.ancestors(ev["region"])  # the most specific place
    assert "全国科普日" in ev["title"] and ev["location"].startswith("汶上县")
    names = extract.names("编排了《迷途知返》《醒悟》等文艺节目,第三届天府科技云服务大会在成都举行,“大禹杯”")
    assert {"迷途知返", "醒悟", "大禹杯", "第三届天府科技云服务大会"} <= set(names)


def test_newspaper_articles_keep_their_own_place():
    text = (ROOT / "kb" / "corpus" / "sichuan-kexie-news-2023.txt").read_text(encoding="utf-8")
    paras = passages_of(text)
    # a byline ends an article: the next one is not glued to it (the byline is a passage of its own)
    assert [p.text for p in paras if "李加成" in p.text] == ["(李加成)"]
    anzhou = next(p for p in paras if "全区平台注册用户62839个" in p.text)
    assert "安州区科协" in anzhou.heading


def test_reimport_replaces_the_old_version_atomically(empty_url):
    with session_scope(empty_url) as session:
        first = import_document(session, slug="report.txt", title="某市科协年报", region="四川省绵阳市",
                                text="五年来,全市建成科普e站148个。\n\n举办学术交流活动50余场。")
    with session_scope(empty_url) as session:
        same = import_document(session, slug="report.txt", title="某市科协年报", region="四川省绵阳市",
                               text="五年来,全市建成科普e站148个。\n\n举办学术交流活动50余场。")
        assert not same.changed and same.document_id == first.document_id
    with session_scope(empty_url) as session:
        second = import_document(session, slug="report.txt", title="某市科协年报", region="四川省绵阳市",
                                 text="五年来,全市建成科普e站160个。\n\n举办学术交流活动60余场。")
    assert second.changed and second.version == 2 and second.superseded == [first.document_id]
    with session_scope(empty_url) as session:
        docs = session.execute(select(Document).order_by(Document.version)).scalars().all()
        assert [(d.version, d.status) for d in docs] == [(1, "superseded"), (2, "active")]
        result = kb_answer.answer(session, "绵阳建了多少个科普e站", record_unanswered=False)
        assert result.answered and "160个" in result.reply and "148个" not in result.reply
        assert session.execute(select(Edit).where(Edit.action == "import")).scalars().all()


def test_a_failed_reimport_leaves_the_old_version_serving(empty_url):
    with session_scope(empty_url) as session:
        import_document(session, slug="r.txt", title="年报", region="四川省绵阳市", text="全市建成科普e站148个。")
    with pytest.raises(ValueError):
        with session_scope(empty_url) as session:
            import_document(session, slug="r.txt", title="年报", region="四川省绵阳市", text="全市建成科普e站200个。")
            raise ValueError("the import broke half way")
    with session_scope(empty_url) as session:
        docs = session.execute(select(Document)).scalars().all()
        assert [(d.version, d.status) for d in docs] == [(1, "active")]
        assert "148个" in kb_answer.answer(session, "绵阳有多少个科普e站", record_unanswered=False).reply


def test_staff_answers_come_first_and_are_live_at_once(empty_url):
    with session_scope(empty_url) as session:
        build_corpus(session)
        before = kb_answer.answer(session, "天府科技云怎么注册账号", record_unanswered=False)
        assert not before.answered
    with session_scope(empty_url) as session:
        knowledge.create_faq(session, question="天府科技云怎么注册", alt_questions=["天府科技云账号怎么申请"],
                             answer="打开天府科技云网站，点击“注册”，按提示填写手机号即可。")
    with session_scope(empty_url) as session:
        after = kb_answer.answer(session, "天府科技云怎么注册账号", record_unanswered=False)
        assert after.answered and after.reply.startswith("打开天府科技云网站")
        assert after.sources[0]["kind"] == "faq" and after.sources[0]["title"] == "科协工作人员解答"
        # a staff answer about registering does not capture a question about figures
        other = kb_answer.answer(session, "天府科技云上绵阳注册了多少科技工作者", record_unanswered=False)
        assert other.answered and "12万余人" in other.reply


def test_an_alternative_wording_does_not_hide_the_main_question(empty_url):
    with session_scope(empty_url) as session:
        build_corpus(session)
        knowledge.create_faq(session, question="科协的办公地址在哪里", alt_questions=["到哪里找科协工作人员",
                                                                                  "科协在哪办公"],
                             answer="请在公众号菜单“联系我们”查看办公地址。")
    with session_scope(empty_url) as session:
        for question in ("科协的办公地址在哪里", "到哪里找科协工作人员", "科协在哪办公"):
            result = kb_answer.answer(session, question, record_unanswered=False)
            assert result.answered and result.reply.startswith("请在公众号菜单"), question


def _run_bot(args: list[str], url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([str(BOT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_cli_imports_a_docx_and_searches_it(tmp_path):
    import docx

    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    document = docx.Document()
    document.add_paragraph("德阳市科协2023年工作总结")
    document.add_paragraph("2023年,德阳市科协新建企业科协12家,举办科普活动300余场。")
    path = tmp_path / "deyang-2023.docx"
    document.save(str(path))
    assert "德阳市科协新建企业科协12家" in read_file(path)

    out = _run_bot(["kb", "import", str(path), "--title", "德阳市科协2023年工作总结", "--region", "四川省德阳市",
                    "--date", "2024-01"], url)
    assert out.returncode == 0, out.stderr
    assert "Importing deyang-2023.docx" in out.stdout and "imported: document" in out.stdout

    out = _run_bot(["kb", "search", "德阳有多少家企业科协"], url)
    assert out.returncode == 0, out.stderr
    assert "1. score" in out.stdout and "why:" in out.stdout and "figure 12家" in out.stdout
    assert "answered: True" in out.stdout
    assert "（来源：《德阳市科协2023年工作总结》，2024年1月）" in out.stdout

    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"not a zip")
    out = _run_bot(["kb", "import", str(broken)], url)
    assert out.returncode == 2 and "error" in out.stderr and "Traceback" not in out.stderr
    out = _run_bot(["kb", "import", str(tmp_path / "report.pdf")], url)
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_cli_build_reports_progress(tmp_path):
    url = f"sqlite:///{tmp_path / 'build.sqlite3'}"
    out = _run_bot(["kb", "build"], url)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert any(line.startswith("[1/5]") for line in lines) and any(line.startswith("[5/5]") for line in lines)
    assert "Knowledge base ready." in lines[-1]
    with session_scope(url) as session:
        assert session.execute(select(func.count()).select_from(Event)).scalar() >= 1

    # a reader that goes away early (`bot kb search "…" | head -3`) ends the command quietly
    env = {**os.environ, "DATABASE_URL": url}
    proc = subprocess.Popen([str(BOT), "kb", "search", "成都有多少家高校科协"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # before the command has written anything: its first write finds no reader
    assert proc.wait(timeout=300) == 0
    assert b"Traceback" not in proc.stderr.read()


def test_the_last_photo_captions_of_a_report_are_kept():
    """Short lines after the last paragraph head nothing: they are captions, not titles."""
    from kb.ingest import paragraphs

    text = ("正文第一段，说了一件事。\n\n"
            "市科协党组书记、主席李艳华为表现突出的科技工作者颁奖\n\n"
            "· 科普\n\n"
            "## 第三届天府科技云服务大会特别报道\n")
    kept = [p.text for p in paragraphs(text)]
    assert kept == ["正文第一段，说了一件事。"]  # an explicit heading at the end: a title, not a caption
    kept = [p.text for p in paragraphs(text.split("## ")[0])]
    assert kept == ["正文第一段，说了一件事。", "市科协党组书记、主席李艳华为表现突出的科技工作者颁奖"]
    # a caption that interrupts a broken last sentence is kept too, once nothing follows
    broken = "绵阳市科协聘请留美博士李溪等3人为“招才引智大使”\n\n绵阳市委常委、统战部部长经大忠调研绵阳天权时空互联科技有限公司\n"
    assert [p.text for p in paragraphs(broken)][-1].startswith("绵阳市委常委")
    # in the middle of a report a caption still heads what follows, as before
    middle = "范国滨院士\n\n为2023年度涪江流域科技协同创新发展典型案例代表颁奖。\n"
    assert [(p.heading, p.text) for p in paragraphs(middle)] == [("范国滨院士", middle.split("\n\n")[1].strip())]


def test_a_single_chinese_numeral_before_a_measure_word_is_a_figure():
    found = [(f.text, f.value) for f in extract.figures("主动开展服务科技人才和人才科技服务的四项工程,全力助推区域创新驱动发展。")]
    assert found == [("四项", "4")]
    assert [f.value for f in extract.figures("推动两个项目落地")] == ["2"]
    assert extract.figures("一个地区、一个产业") == []  # 一 before a measure word counts nothing


def test_a_share_written_as_a_fraction_is_a_figure():
    from kb.extract import figures

    (share,) = [f for f in figures("45岁以下青年科技工作者达到1/3以上,使科协") if "/" in f.value]
    assert (share.text, share.unit_class) == ("1/3", "percent") and "青年科技工作者" in share.label
    assert [f.text for f in figures("2021/22赛季共10场")] == ["10场"]  # a season, not a share


def test_a_figure_written_in_chinese_numerals_answers(kb_url):
    with session_scope(kb_url) as session:
        result = kb_answer.answer(session, "安州区科协实施了几项人才工程", record_unanswered=False)
        assert result.answered and "四项工程" in result.reply, result.reason
        session.rollback()


def test_bylines_are_kept_under_their_articles_title():
    from kb.ingest import paragraphs

    text = ("# 蜕变的背后 ——帮扶书台村纪实\n\n近日,书台村被表彰为示范村。\n\n(本报记者 杨永忠)\n\n"
            "# 安州区科协\n\n实施人才四项工程\n\n本报讯 安州区科协实施人才工程。\n\n(李加成)\n\n(宜宾市科协)\n")
    bylines = [(p.heading, p.text) for p in paragraphs(text) if p.byline]
    assert bylines == [("蜕变的背后 ——帮扶书台村纪实", "(本报记者 杨永忠)"),
                       ("安州区科协 / 实施人才四项工程", "(李加成)")]  # a body's byline names nobody


def test_byline_names():
    from kb.text import byline_names

    assert byline_names("■ 本报记者 肖小江") == ["肖小江"]
    assert byline_names("(谭舒予 本报记者 肖小红)") == ["谭舒予", "肖小红"]
    assert byline_names("(宜宾市科协)") == [] and byline_names("本报讯") == []
    assert byline_names("(本版图片由绵阳市科协提供)") == []
    assert [byline_names(t) for t in ("(高新区)", "(金牛)", "(方案)", "(高原)")] == [[], [], [], []]
