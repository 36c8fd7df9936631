"""Console pages that look at the bot from outside: dashboard, hit test, unanswered queue, settings."""
from __future__ import annotations

import json

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot import texts
from bot.admin import charts, hittest
from bot.admin.auth import page
from bot.admin.forms import field_error, form_text, in_db, int_param
from bot.admin.render import INTENT_LABELS, error_page, flash, redirect, render
from kb import dashboard as kb_dashboard
from kb import knowledge
from kb import unanswered as kb_unanswered
from kb.answer import DEFAULT_HANDOFF
from kb.models import Edit

MAX_CSV = 2 * 1024 * 1024


@page("viewer")
async def dashboard(request: Request) -> Response:
    days = min(max(int_param(request.query_params.get("days"), 14), 1), 90)
    tz = request.app.state.settings.tz
    stats = await in_db(request, lambda s: kb_dashboard.stats(s, days=days, tz=tz))
    return render(
        request, "dashboard.html", stats=stats, days=days, title="概览",
        chart_days=charts.messages_per_day(stats["per_day"]),
        chart_rate=charts.answered_rate(stats["per_day"]),
        chart_intents=charts.horizontal_bars([(INTENT_LABELS.get(i["intent"], i["intent"]), i["count"])
                                              for i in stats["top_intents"]],
                                             label="意图排行"),
        chart_gaps=charts.horizontal_bars([(g["text"], g["count"]) for g in stats["top_unanswered"]],
                                          colour=charts.UNANSWERED, label="未答问题排行"),
    )


async def run_hit_test(request: Request, question: str) -> hittest.HitResult:
    state = request.app.state
    return await hittest.hit_test(question, database_url=state.settings.database_url,
                                  rasa_url=state.settings.rasa_url, http=state.http)


@page("viewer")
async def hit_test_page(request: Request) -> Response:
    question = (request.query_params.get("q") or "").strip()[:500]
    result = await run_hit_test(request, question) if question else None
    return render(request, "hittest.html", q=question, result=result, title="命中测试")


@page("viewer")
async def hit_test_batch(request: Request) -> Response:
    upload = request.state.form.get("file")
    raw = b""
    if isinstance(upload, UploadFile) and upload.filename:
        raw = await upload.read(MAX_CSV + 1)
    elif form_text(request, "csv").strip():
        raw = form_text(request, "csv").encode("utf-8")
    if not raw:
        return render(request, "hittest.html", q="", result=None, batch_error="请选择 CSV 文件或粘贴内容",
                      title="命中测试", status_code=422)
    if len(raw) > MAX_CSV:
        return render(request, "hittest.html", q="", result=None, batch_error="CSV 文件太大（最多 2 MB）",
                      title="命中测试", status_code=422)
    try:
        rows = hittest.parse_csv(raw)
    except ValueError as exc:
        return render(request, "hittest.html", q="", result=None, batch_error=str(exc), title="命中测试",
                      status_code=422)
    state = request.app.state
    report = await hittest.batch(rows, database_url=state.settings.database_url, rasa_url=state.settings.rasa_url,
                                 http=state.http)
    return render(request, "hittest.html", q="", result=None, batch=report, title="批量命中测试")


# -- the unanswered queue -----------------------------------------------------------------

@page("viewer")
async def unanswered_page(request: Request) -> Response:
    order = "count" if request.query_params.get("order") == "count" else "newest"
    show_handled = request.query_params.get("handled") == "1"
    groups = await in_db(request, lambda s: [g.as_json() for g in kb_unanswered.groups(
        s, include_handled=show_handled, order=order)])
    per_page = 30
    page_no = max(1, int_param(request.query_params.get("page")))
    pages = max(1, -(-len(groups) // per_page))
    page_no = min(page_no, pages)
    return render(request, "unanswered.html", groups=groups[(page_no - 1) * per_page: page_no * per_page],
                  total_groups=len(groups), total=sum(g["count"] for g in groups), order=order,
                  show_handled=show_handled, page_no=page_no, pages=pages, title="未答问题")


def _ids(request: Request) -> list[int]:
    return [int(v) for v in request.state.form.getlist("ids") if isinstance(v, str) and v.isdigit()]


@page("editor")
async def unanswered_handled(request: Request) -> Response:
    ids = _ids(request)
    handled = form_text(request, "handled") != "0"
    n = await in_db(request, kb_unanswered.mark_handled, ids, actor=request.state.staff.username, handled=handled)
    flash(request, f"已将 {n} 条问题标记为{'已处理' if handled else '未处理'}。")
    return redirect("/admin/unanswered")


@page("editor")
async def unanswered_to_faq(request: Request) -> Response:
    ids = _ids(request)
    question, answer = form_text(request, "question"), form_text(request, "answer")
    alts = knowledge._alts(form_text(request, "alt_questions"))
    try:
        faq = await in_db(request, kb_unanswered.answer_as_faq, ids, question=question, answer=answer,
                          alt_questions=alts, actor=request.state.staff.username)
    except knowledge.NotFound:
        return error_page(request, 404, "找不到", "这些问题已不存在。")
    except knowledge.Invalid as exc:
        flash(request, field_error(str(exc), {"question": "问题", "answer": "回答"})[1], "error")
        return redirect("/admin/unanswered")
    flash(request, f"已新建问答 #{faq['id']}，{len(ids)} 条问题标记为已处理。机器人立即用它回答。")
    return redirect("/admin/unanswered")


# -- settings --------------------------------------------------------------------------------

SETTING_FORM = [
    ("welcome_text", "欢迎语", "关注公众号或打招呼时发送。留空时按知识库里的报告自动生成（占位文字即当前的默认欢迎语）。", ""),
    ("handoff_text", "人工联系方式", "市民要求转人工、或知识库里没有答案时附上的联系方式。请只写真实的电话或办公地点。",
     DEFAULT_HANDOFF),
    ("menu", "公众号菜单（JSON）", '微信自定义菜单格式：{"button": [...]}，最多 3 个一级菜单、每个最多 5 个子菜单；'
     "click 按钮的 key 必须是机器人能回答的（见 bot/menu.py）。保存后点击“发布到公众号”生效；"
     "留空则发布随程序提供的菜单（bot/menu.yaml）。", ""),
    ("reminder_days_before", "默认提醒：提前天数", "活动没有单独设置提醒时间时，提前几天提醒，例如 3,1。", "3,1"),
    ("reminder_time", "默认提醒：时刻", "提醒当天的发送时刻（BOT_TZ 时区），例如 09:00。", "09:00"),
]


@page("viewer")
async def settings_page(request: Request) -> Response:
    labels = {k: label for k, label, _, _ in SETTING_FORM}
    errors: dict[str, str] = {}
    values = await in_db(request, knowledge.read_settings)
    form = _form(await in_db(request, texts.default_welcome))
    if request.method == "POST":
        if not request.state.staff.can("admin"):
            return error_page(request, 403, "没有权限", "只有管理员可以修改设置。")
        submitted = {k: form_text(request, k) for k in labels}
        menu_error = _menu_error(submitted.get("menu", ""))
        if menu_error:
            errors["menu"] = menu_error
            return render(request, "settings.html", form=form, values=submitted, errors=errors, title="设置",
                          status_code=422)
        try:  # all or nothing: a mistake in one field saves none
            await in_db(request, knowledge.update_settings, submitted, actor=request.state.staff.username)
        except knowledge.Invalid as exc:
            name, message = field_error(str(exc), labels)
            errors[name or "menu"] = message
        if not errors:
            flash(request, "设置已保存，立即对市民生效。")
            return redirect("/admin/settings")
        values = submitted
    return render(request, "settings.html", form=form, values=values, errors=errors, title="设置",
                  status_code=422 if errors else 200)


def _shipped_menu() -> dict | None:
    """The menu shipped in bot/menu.yaml: what is published while staff saved none."""
    from bot import menu

    try:
        return menu.load()
    except (menu.MenuError, OSError):
        return None


def _form(welcome: str = "") -> list[tuple[str, str, str, str]]:
    """The settings with their defaults: the shipped menu, and the welcome the reports give now."""
    shipped = _shipped_menu()
    defaults = {"menu": json.dumps(shipped, ensure_ascii=False, indent=2) if shipped else "", "welcome_text": welcome}
    return [(k, label, help_, defaults.get(k, d)) for k, label, help_, d in SETTING_FORM]


def _menu_error(raw: str) -> str:
    """WeChat's limits and the bot's click keys (bot.menu.validate), in words staff can act on."""
    from bot import menu

    if not raw.strip():
        return ""
    try:
        menu.validate(json.loads(raw))
    except ValueError as exc:  # json.JSONDecodeError and menu.MenuError are both ValueErrors
        return f"菜单有误：{exc}"
    return ""


@page("admin")
async def publish_menu(request: Request) -> Response:
    """Send the saved menu to WeChat (menu/create) through the account's API client."""
    from starlette.concurrency import run_in_threadpool

    from bot.wechat_api import make_client

    settings = request.app.state.settings
    stored = (await in_db(request, knowledge.read_settings))["menu"]
    data = json.loads(stored) if stored else _shipped_menu()
    if not data:
        flash(request, "没有可发布的菜单。", "error")
        return redirect("/admin/settings")
    client = make_client(settings)
    if client is None:
        flash(request, "未配置 WECHAT_APPID / WECHAT_SECRET，无法发布菜单。", "error")
        return redirect("/admin/settings")
    try:
        await run_in_threadpool(client.call, client.menu.create, data)
    except Exception as exc:  # WeChatClientException, network errors
        code = getattr(exc, "errcode", None)
        flash(request, f"发布失败：{code or ''} {getattr(exc, 'errmsg', exc)}", "error")
        return redirect("/admin/settings")
    await in_db(request, lambda s: s.add(Edit(table_name="settings", action="publish",
                                              actor=request.state.staff.username, after={"key": "menu"})))
    flash(request, "菜单已发布到公众号（微信客户端可能需要几分钟刷新）。")
    return redirect("/admin/settings")


def routes() -> list[Route]:
    return [
        Route("/", dashboard),
        Route("/hittest", hit_test_page),
        Route("/hittest/batch", hit_test_batch, methods=["POST"]),
        Route("/unanswered", unanswered_page),
        Route("/unanswered/handled", unanswered_handled, methods=["POST"]),
        Route("/unanswered/faq", unanswered_to_faq, methods=["POST"]),
        Route("/settings", settings_page, methods=["GET", "POST"]),
        Route("/settings/menu/publish", publish_menu, methods=["POST"]),
    ]
