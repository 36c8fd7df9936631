"""Console pages for the knowledge: reports, passages, facts, Q&A pairs, synonyms, history, import.

Lists work like Django admin's change lists (search, filters, sortable columns,
pages); a change form shows validation messages next to the field; nothing is
deleted without a confirmation page; every change is in the history.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import distinct, select
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.admin.auth import page
from bot.admin.edit import Outcome, save_edit
from bot.admin.forms import field_error, form_text, in_db, int_param
from bot.admin.render import error_page, flash, redirect, render
from kb import knowledge
from kb.ingest import read_file
from kb.models import Document, Fact

MAX_UPLOAD = 10 * 1024 * 1024


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    widget: str = "input"  # input|textarea|checkbox|select
    options: tuple[tuple[str, str], ...] = ()
    help: str = ""


@dataclass(frozen=True)
class TableView:
    table: str
    title: str
    columns: tuple[tuple[str, str], ...]  # (field, label); the first links to the row
    filters: tuple[tuple[str, str], ...] = ()  # (field, label); options looked up
    fields: tuple[Field, ...] = ()
    new_url: str = ""
    new_label: str = ""
    search_hint: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


YES_NO = (("1", "启用"), ("0", "停用"))
SYNONYM_KINDS = (("", "一般"), ("region", "地区"), ("event", "活动"), ("platform", "平台"))

VIEWS: dict[str, TableView] = {
    "documents": TableView(
        "documents", "报告",
        (("title", "标题"), ("region", "地区"), ("published_at", "日期"), ("status", "状态"), ("version", "版本")),
        (("status", "状态"), ("region", "地区")),
        (Field("title", "标题"), Field("source", "来源"), Field("region", "地区"),
         Field("published_at", "发布日期", help="例如 2024-02 或 2024-02-15"), Field("kind", "类别")),
        new_url="/admin/documents/import", new_label="导入报告", search_hint="标题、来源、地区"),
    "passages": TableView(
        "passages", "段落",
        (("text", "内容"), ("document_title", "报告"), ("heading", "小标题"), ("enabled", "状态")),
        (("enabled", "状态"),),
        (Field("heading", "小标题"), Field("text", "段落内容", "textarea",
                                            help="机器人从这里摘句回答；改正错别字或数字后立即生效"),
         Field("enabled", "启用（参与回答）", "checkbox")),
        search_hint="段落内容、小标题"),
    "facts": TableView(
        "facts", "数据",
        (("subject", "对象"), ("metric", "指标"), ("value", "数值"), ("unit", "单位"), ("region", "地区"),
         ("as_of", "时间"), ("enabled", "状态")),
        (("enabled", "状态"), ("region", "地区")),
        (Field("subject", "对象"), Field("region", "地区"), Field("metric", "指标"), Field("value", "数值"),
         Field("unit", "单位"), Field("as_of", "时间"), Field("sentence", "原句", "textarea"),
         Field("enabled", "启用", "checkbox")),
        search_hint="对象、指标、原句、地区、数值"),
    "faqs": TableView(
        "faqs", "问答",
        (("question", "问题"), ("answer", "回答"), ("created_by", "作者"), ("updated_at", "更新"), ("enabled", "状态")),
        (("enabled", "状态"),),
        (Field("question", "问题"), Field("alt_questions", "其他问法", "textarea", help="每行一个，市民常用的不同说法"),
         Field("answer", "回答", "textarea", help="机器人原样发送；不超过 2000 字"), Field("enabled", "启用", "checkbox")),
        new_url="/admin/faqs/new", new_label="新建问答", search_hint="问题、回答"),
    "synonyms": TableView(
        "synonyms", "同义词",
        (("word", "市民的说法"), ("canonical", "报告里的说法"), ("kind", "类别")),
        (("kind", "类别"),),
        (Field("word", "市民的说法", help="例如 蓉城"), Field("canonical", "报告里的说法", help="例如 成都"),
         Field("kind", "类别", "select", SYNONYM_KINDS)),
        new_url="/admin/synonyms/new", new_label="新建同义词", search_hint="两种说法"),
}


def _labels(view: TableView) -> dict[str, str]:
    return {f.name: f.label for f in view.fields}


def _cell(table: str, name: str, row: dict[str, Any]) -> str:
    value = row.get(name)
    if name == "enabled":
        return "启用" if value else "停用"
    if name == "status":
        return {"active": "使用中", "disabled": "已停用", "superseded": "旧版本"}.get(value, value)
    if name == "kind" and table == "synonyms":
        return dict(SYNONYM_KINDS).get(value or "", value)
    if name == "published_at":
        return row.get("date_label") or ""
    if name == "updated_at" and value:
        return str(value)[:10]
    if isinstance(value, list):
        return "；".join(value)
    text = "" if value is None else str(value)
    return text if len(text) <= 80 else text[:78] + "…"


def _filter_options(session: Any, table: str, name: str) -> list[tuple[str, str]]:
    if name == "enabled":
        return list(YES_NO)
    if name == "status":
        return [("active", "使用中"), ("disabled", "已停用"), ("superseded", "旧版本")]
    if name == "kind" and table == "synonyms":
        return [(k, v) for k, v in SYNONYM_KINDS if k]
    model = {"documents": Document, "facts": Fact}[table]
    values = session.execute(select(distinct(getattr(model, name))).order_by(getattr(model, name))).scalars()
    return [(v, v) for v in values if v]


def _list_data(session: Any, view: TableView, params: dict[str, str]) -> dict[str, Any]:
    filters = {name: params.get(name, "") for name, _ in view.filters}
    if view.table == "passages" and params.get("document_id"):
        filters["document_id"] = params["document_id"]
    result = knowledge.list_rows(session, view.table, q=params.get("q", ""), filters=filters,
                                 sort=params.get("sort", ""), page=int_param(params.get("page")),
                                 per_page=int_param(params.get("per_page"), 25))
    filter_ui = [(name, label, _filter_options(session, view.table, name), filters.get(name, ""))
                 for name, label in view.filters]
    return {"result": result, "filter_ui": filter_ui}


def table_list(view: TableView):  # noqa: ANN201
    @page("viewer")
    async def endpoint(request: Request) -> Response:
        params = dict(request.query_params)
        try:
            data = await in_db(request, _list_data, view, params)
        except knowledge.Invalid as exc:
            return error_page(request, 400, "无法显示列表", str(exc))
        rows = [{"url": f"/admin/{view.table}/{r['id']}",
                 "cells": [_cell(view.table, name, r) for name, _ in view.columns]} for r in data["result"].items]
        sortable = set(knowledge.LISTS[view.table].sort)
        return render(request, "list.html", view=view, rows=rows, page=data["result"], filter_ui=data["filter_ui"],
                      q=params.get("q", ""), sortable=sortable, title=view.title)
    return endpoint


def _form_values(view: TableView, row: dict[str, Any]) -> dict[str, Any]:
    values = {}
    for f in view.fields:
        value = row.get(f.name)
        if f.name == "alt_questions":
            value = "\n".join(value or [])
        elif f.name == "published_at" and value:
            value = str(value)[:7] if str(value).endswith("-01") else str(value)
        values[f.name] = value if value is not None else ""
    return values


def _submitted(request: Request, view: TableView) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for f in view.fields:
        data[f.name] = ("1" if request.state.form.get(f.name) else "0") if f.widget == "checkbox" else form_text(request, f.name)
    return data


def _detail(session: Any, table: str, row_id: int) -> dict[str, Any]:
    row = knowledge.get_row(session, table, row_id)
    out: dict[str, Any] = {"row": row, "history": knowledge.history(session, table, row_id, limit=20)}
    if table in ("passages", "facts") and row.get("document_id"):
        doc = session.get(Document, row["document_id"])
        out["document"] = {"id": doc.id, "title": doc.title, "status": doc.status} if doc else None
    if table == "facts" and row.get("passage_id"):
        out["passage_id"] = row["passage_id"]
    return out


def table_edit(view: TableView):  # noqa: ANN201
    @page("viewer")
    async def endpoint(request: Request) -> Response:
        row_id = request.path_params["row_id"]
        outcome, values = Outcome(), None
        if request.method == "POST":
            values = _submitted(request, view)
            outcome = await save_edit(
                request, lambda s: knowledge.update_row(s, view.table, row_id, values, actor=request.state.staff.username),
                labels=_labels(view), what="知识库", gone="这一条已不存在（可能刚被删除）。",
                saved="已保存，机器人立即使用新内容。")
            if outcome.response is not None:
                return outcome.response
        errors, general = outcome.errors, outcome.general
        try:
            detail = await in_db(request, _detail, view.table, row_id)
        except knowledge.NotFound:
            return error_page(request, 404, "找不到", "这一条不存在（可能已被删除）。")
        return render(request, "edit.html", view=view, detail=detail, row=detail["row"],
                      values=values or _form_values(view, detail["row"]), errors=errors, general=general,
                      title=f"{view.title} #{row_id}", status_code=422 if (errors or general) else 200)
    return endpoint


def table_toggle(view: TableView, enabled: bool):  # noqa: ANN201
    @page("editor")
    async def endpoint(request: Request) -> Response:
        row_id = request.path_params["row_id"]
        try:
            await in_db(request, knowledge.set_enabled, view.table, row_id, enabled,
                        actor=request.state.staff.username)
        except knowledge.NotFound:
            return error_page(request, 404, "找不到", "这一条不存在（可能已被删除）。")
        except knowledge.Invalid as exc:
            flash(request, str(exc), "error")
        else:
            flash(request, ("已启用" if enabled else "已停用") + "，机器人立即按此回答。")
        back = form_text(request, "next")
        return redirect(back if back.startswith("/admin/") else f"/admin/{view.table}/{row_id}")
    return endpoint


def table_delete(view: TableView):  # noqa: ANN201
    @page("viewer")
    async def endpoint(request: Request) -> Response:
        row_id = request.path_params["row_id"]
        if request.method == "POST":
            if not request.state.staff.can("editor"):
                return error_page(request, 403, "没有权限", "只读账号不能删除。")
            if form_text(request, "confirm") != "yes":
                return redirect(f"/admin/{view.table}/{row_id}/delete")
            try:
                await in_db(request, knowledge.delete_row, view.table, row_id, actor=request.state.staff.username)
            except knowledge.NotFound:
                return error_page(request, 404, "找不到", "这一条已不存在。")
            flash(request, f"已删除{view.title} #{row_id}（修改记录里保留了删除前的内容）。")
            return redirect(f"/admin/{view.table}")
        try:
            detail = await in_db(request, _delete_preview, view.table, row_id)
        except knowledge.NotFound:
            return error_page(request, 404, "找不到", "这一条不存在（可能已被删除）。")
        return render(request, "delete.html", view=view, row_id=row_id, detail=detail, title=f"删除{view.title}")
    return endpoint


def _delete_preview(session: Any, table: str, row_id: int) -> dict[str, Any]:
    row = knowledge.get_row(session, table, row_id)
    summary = row.get("title") or row.get("question") or row.get("text") or row.get("word") or row.get("subject") or ""
    out = {"summary": str(summary)[:200], "also": []}
    if table == "documents":
        detail = knowledge.document_detail(session, row_id)
        out["also"] = [f"{len(detail['passages'])} 个段落", f"{len(detail['facts'])} 条数据",
                       f"{len(detail['events'])} 个活动"]
    return out


def table_new(view: TableView):  # noqa: ANN201
    @page("editor")
    async def endpoint(request: Request) -> Response:
        errors: dict[str, str] = {}
        general = ""
        values: dict[str, Any] = {f.name: request.query_params.get(f.name, "") for f in view.fields}
        if view.table == "faqs" and request.method == "GET":
            values["enabled"] = "1"
        if request.method == "POST":
            values = _submitted(request, view)
            try:
                if view.table == "faqs":
                    row = await in_db(request, _create_faq, values, request.state.staff.username)
                else:
                    row = await in_db(request, lambda s: knowledge.create_synonym(
                        s, word=values["word"], canonical=values["canonical"], kind=values["kind"],
                        actor=request.state.staff.username))
            except knowledge.Invalid as exc:
                name, message = field_error(str(exc), _labels(view))
                if name:
                    errors[name] = message
                else:
                    general = message
            else:
                flash(request, f"已新建{view.title}，机器人立即使用。")
                back = form_text(request, "next")
                return redirect(back if back.startswith("/admin/") else f"/admin/{view.table}/{row['id']}")
        return render(request, "new.html", view=view, values=values, errors=errors, general=general,
                      title=view.new_label, status_code=422 if (errors or general) else 200)
    return endpoint


def _create_faq(session: Any, values: dict[str, Any], actor: str) -> dict[str, Any]:
    row = knowledge.create_faq(session, question=values["question"], answer=values["answer"],
                               alt_questions=knowledge._alts(values.get("alt_questions")), actor=actor)
    if values.get("enabled") == "0":
        row = knowledge.set_enabled(session, "faqs", row["id"], False, actor=actor)
    return row


# -- reports: detail (review what was extracted) and import ----------------------------

DOC_VIEW = VIEWS["documents"]


@page("viewer")
async def document_detail(request: Request) -> Response:
    doc_id = request.path_params["row_id"]
    outcome, values = Outcome(), None
    if request.method == "POST":
        values = _submitted(request, DOC_VIEW)
        outcome = await save_edit(
            request, lambda s: knowledge.update_row(s, "documents", doc_id, values, actor=request.state.staff.username),
            labels=_labels(DOC_VIEW), what="知识库", gone="这份报告已不存在。", saved="已保存报告信息，机器人立即使用。")
        if outcome.response is not None:
            return outcome.response
    errors, general = outcome.errors, outcome.general
    try:
        doc = await in_db(request, knowledge.document_detail, doc_id)
        history = await in_db(request, knowledge.history, "documents", doc_id, 20)
    except knowledge.NotFound:
        return error_page(request, 404, "找不到", "这份报告不存在（可能已被删除）。")
    return render(request, "document.html", doc=doc, view=DOC_VIEW, values=values or _form_values(DOC_VIEW, doc),
                  errors=errors, general=general, history=history, imported=request.query_params.get("imported"),
                  title=doc["title"], status_code=422 if (errors or general) else 200)


@page("editor")
async def document_import(request: Request) -> Response:
    values = {"title": "", "source": "", "region": "", "published_at": "", "text": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = request.state.form
        values = {k: form_text(request, k) for k in values}
        upload = form.get("file")
        text = values["text"]
        slug = None
        if isinstance(upload, UploadFile) and upload.filename:
            raw = await upload.read(MAX_UPLOAD + 1)
            if len(raw) > MAX_UPLOAD:
                errors["file"] = "文件太大（最多 10 MB）"
            else:
                suffix = Path(upload.filename).suffix.lower()
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / ("upload" + suffix)
                    path.write_bytes(raw)
                    try:
                        text = read_file(path)
                    except Exception as exc:  # python-docx raises many kinds on a broken file
                        errors["file"] = ("只能导入 .txt、.md 或 .docx 文件" if isinstance(exc, ValueError)
                                          and "only" in str(exc) else f"无法读取这个文件：{exc}")
                values["title"] = values["title"] or Path(upload.filename).stem
                slug = "upload-" + Path(upload.filename).name
        if not errors:
            if not text.strip():
                errors["text"] = "请上传文件或粘贴报告正文"
            if not values["title"].strip():
                errors["title"] = "标题不能为空"
        if not errors:
            try:
                result = await in_db(request, lambda s: knowledge.import_text(
                    s, title=values["title"], text=text, source=values["source"], region=values["region"],
                    published_at=values["published_at"] or None, actor=request.state.staff.username, slug=slug))
            except (knowledge.Invalid, ValueError) as exc:
                name, message = field_error(str(exc), {"title": "标题", "text": "正文", "published_at": "发布日期"})
                errors[name or "text"] = message
            else:
                if result["changed"]:
                    flash(request, f"已导入：{result['passages']} 个段落，提取出 {result['facts']} 条数据、"
                                   f"{result['events']} 个活动。请核对下面提取的内容。")
                else:
                    flash(request, "内容与已有版本相同，未重复导入。", "warn")
                return redirect(f"/admin/documents/{result['id']}?imported=1")
    return render(request, "import.html", values=values, errors=errors, title="导入报告",
                  status_code=422 if errors else 200)


# -- the edit history ------------------------------------------------------------------------

HISTORY_FILTERS = (("table_name", "对象"), ("action", "操作"), ("actor", "操作人"))


def _history_data(session: Any, params: dict[str, str]) -> dict[str, Any]:
    from kb.models import Edit

    filters = {name: params.get(name, "") for name, _ in HISTORY_FILTERS}
    if params.get("row_id"):
        filters["row_id"] = params["row_id"]
    result = knowledge.list_rows(session, "edits", q=params.get("q", ""), filters=filters,
                                 sort=params.get("sort", "-id"), page=int_param(params.get("page")), per_page=50)
    options = {name: [v for v in session.execute(select(distinct(getattr(Edit, name)))
                                                 .order_by(getattr(Edit, name))).scalars() if v]
               for name, _ in HISTORY_FILTERS}
    return {"result": result, "options": options, "filters": filters}


@page("viewer")
async def history_list(request: Request) -> Response:
    params = dict(request.query_params)
    try:
        data = await in_db(request, _history_data, params)
    except knowledge.Invalid as exc:
        return error_page(request, 400, "无法显示列表", str(exc))
    return render(request, "history.html", page=data["result"], options=data["options"], filters=data["filters"],
                  filter_labels=HISTORY_FILTERS, q=params.get("q", ""), title="修改记录")


@page("viewer")
async def history_detail(request: Request) -> Response:
    from kb.models import Edit, as_dict

    edit_id = request.path_params["edit_id"]
    edit = await in_db(request, lambda s: (as_dict(e) if (e := s.get(Edit, edit_id)) else None))
    if edit is None:
        return error_page(request, 404, "找不到", "没有这条修改记录。")
    before, after = edit.get("before") or {}, edit.get("after") or {}
    keys = list(dict.fromkeys([*before.keys(), *after.keys()])) if isinstance(before, dict) and isinstance(after, dict) else []
    diff = [(k, before.get(k), after.get(k), before.get(k) != after.get(k)) for k in keys]
    return render(request, "history_detail.html", edit=edit, diff=diff, title=f"修改记录 #{edit_id}")


def routes() -> list[Route]:
    out = [
        Route("/documents/import", document_import, methods=["GET", "POST"]),
        Route("/documents/{row_id:int}", document_detail, methods=["GET", "POST"]),
        Route("/faqs/new", table_new(VIEWS["faqs"]), methods=["GET", "POST"]),
        Route("/synonyms/new", table_new(VIEWS["synonyms"]), methods=["GET", "POST"]),
        Route("/history", history_list),
        Route("/history/{edit_id:int}", history_detail),
    ]
    for name, view in VIEWS.items():
        out.append(Route(f"/{name}", table_list(view)))
        if name != "documents":
            out.append(Route(f"/{name}/{{row_id:int}}", table_edit(view), methods=["GET", "POST"]))
        if name != "synonyms":
            out.append(Route(f"/{name}/{{row_id:int}}/enable", table_toggle(view, True), methods=["POST"]))
            out.append(Route(f"/{name}/{{row_id:int}}/disable", table_toggle(view, False), methods=["POST"]))
        out.append(Route(f"/{name}/{{row_id:int}}/delete", table_delete(view), methods=["GET", "POST"]))
    return out
