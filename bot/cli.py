"""`bot`: the command line for operators and staff (see README, "Command line")."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bot.config import load_settings


def _settings(secrets: bool = False):  # noqa: ANN202
    return load_settings(generate_secrets=secrets)


def cmd_kb_build(args: argparse.Namespace) -> int:
    from bot.training import write_nlu_resources
    from kb.db import migrate, session_scope
    from kb.ingest import CORPUS_DIR, build_corpus
    from kb.search import get_index

    url = _settings().database_url
    print("Migrating the database ...", flush=True)
    migrate(url)
    with session_scope(url) as session:
        build_corpus(session, Path(args.corpus) if args.corpus else CORPUS_DIR,
                     progress=lambda line: print(line, flush=True))
    with session_scope(url) as session:
        print("Building the search index ...", flush=True)
        index = get_index(session)
        sentences = sum(1 for u in index.units if u.kind == "sentence")
        figures = sum(len(u.figures) for u in index.units)
        print(f"  {sentences} sentences, {figures} figures, {len(index.faqs)} staff answers", flush=True)
        write_nlu_resources(session)
    print("Knowledge base ready.")
    return 0


def cmd_kb_import(args: argparse.Namespace) -> int:
    from kb import knowledge
    from kb.db import migrate, session_scope
    from kb.ingest import read_file

    path = Path(args.file)
    try:
        text = read_file(path)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a broken .docx (zip/XML errors): say so, no traceback
        print(f"error: {path.name} could not be read: {exc}", file=sys.stderr)
        return 2
    url = _settings().database_url
    migrate(url)
    print(f"Importing {path.name} ({len(text)} characters) ...", flush=True)
    try:
        with session_scope(url) as session:
            result = knowledge.import_text(
                session, title=args.title or path.stem, text=text, source=args.source or "",
                region=args.region or "", published_at=args.date, actor="cli", slug=path.name,
            )
    except (knowledge.Invalid, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state = "imported" if result["changed"] else "unchanged"
    print(f"{state}: document {result['id']} v{result['version']}, {result['passages']} passages, "
          f"{result['facts']} facts, {result['events']} events")
    return 0


def cmd_kb_search(args: argparse.Namespace) -> int:
    """The hit test: what the question became, the ranked candidates, why, and the reply."""
    from kb import answer
    from kb.db import session_scope

    with session_scope(_settings().database_url) as session:
        result = answer.answer(session, args.question, record_unanswered=False)
        q = result.query
        print(f"question: {args.question}")
        if q is not None:
            print(f"read as:  {q.normalized}")
            print(f"words:    {' '.join(q.words) or '-'}   regions: {','.join(q.regions) or '-'}   "
                  f"kind: {q.qtype}{' (' + q.unit_class + ')' if q.unit_class else ''}")
            if q.fixes:
                print(f"typos:    {', '.join(f'{a}→{b}' for a, b in q.fixes)}")
            if q.also_asked:  # two questions read apart: the reply also quotes what the second asks
                print(f"also asked: {' '.join(q.also_asked)}")
            if q.alternatives:
                pairs = [w + "→" + "/".join(a) for w, a in q.alternatives.items()]
                print(f"synonyms: {', '.join(pairs)}")
        print()
        for i, c in enumerate(result.candidates[: args.limit], 1):
            where = f"staff answer #{c.unit.faq_id}" if c.unit.kind == "faq" else \
                f"《{c.unit.title}》 {c.unit.date_label}"
            flag = "" if c.eligible else "  [not eligible]"
            print(f"{i}. score {c.score:7.2f}  coverage {c.coverage:.2f}  matched: {' '.join(c.matched) or '-'}{flag}")
            if c.why:
                print(f"   why: {'; '.join(c.why)}")
            print(f"   {where}")
            print(f"   {c.unit.text[:160]}")
        print()
        print(f"answered: {result.answered}   ({result.reason})")
        print(f"reply:    {result.reply}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from bot.training import ensure_model, write_nlu_resources
    from kb.db import session_scope

    with session_scope(_settings().database_url) as session:
        write_nlu_resources(session)
    ensure_model(force=args.force)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from bot.app import create_app

    settings = _settings(secrets=True)
    if args.workers > 1:  # each worker process builds its own app from the environment
        uvicorn.run("bot.app:create_app", factory=True, workers=args.workers, host=settings.bot_host,
                    port=settings.bot_port, log_level="info", access_log=args.access_log, ws="none")
    else:
        uvicorn.run(create_app(settings), host=settings.bot_host, port=settings.bot_port,
                    log_level="info", access_log=args.access_log, ws="none")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from bot.supervisor import run_all

    return run_all(_settings(secrets=True))


def cmd_stack(args: argparse.Namespace) -> int:
    from bot.supervisor import run_stack

    return run_stack(_settings(secrets=True), rasa_replicas=args.rasa_replicas, web_workers=args.workers)


def cmd_menu_push(args: argparse.Namespace) -> int:
    """Create the account's custom menu from a YAML file (default: bot/menu.yaml)."""
    from wechatpy.exceptions import WeChatClientException

    from bot import menu
    from bot.wechat_api import make_client, meaning, push_menu

    path = Path(args.file) if args.file else menu.DEFAULT_MENU
    try:
        data = menu.load(path)
    except menu.MenuError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    client = make_client(_settings())
    if client is None:
        print("error: WECHAT_APPID and WECHAT_SECRET must be set to push a menu", file=sys.stderr)
        return 2
    try:
        push_menu(client, data)
    except WeChatClientException as exc:
        print(f"error: WeChat refused the menu: {exc.errcode} {exc.errmsg} ({meaning(exc.errcode)})",
              file=sys.stderr)
        return 1
    except Exception as exc:  # timeouts, connection errors
        print(f"error: could not reach the WeChat API: {exc}", file=sys.stderr)
        return 1
    names = ", ".join(b["name"] for b in data["button"])
    print(f"menu created from {path}: {names}")
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.chat import chat

    return chat(_settings(), user=args.user, once=args.message)


def cmd_scheduler(args: argparse.Namespace) -> int:
    from bot.scheduler import run

    return run(_settings(), reconcile_every=args.reconcile_every, tick=args.tick)


def _print_event(ev: dict, tz: str) -> None:
    from bot.push import format_time
    from kb.events import parse_when

    starts = parse_when(ev["starts_at"], "starts_at") if ev.get("starts_at") else None
    when = format_time(starts, tz) if starts else (ev.get("date_text") or "日期不详")
    state = "  [cancelled]" if ev.get("cancelled") else ""
    print(f"#{ev['id']:<5} {when:<20} {ev['kind']:<5} {ev['title']}{state}")
    details = "  ".join(x for x in (ev.get("location") or "", ev.get("region") or "") if x)
    if details:
        print(f"       {details}")
    if ev.get("remind_at"):
        print("       remind at: " + ", ".join(format_time(parse_when(r, "remind_at"), tz) for r in ev["remind_at"]))


def cmd_events_add(args: argparse.Namespace) -> int:
    from kb import events, knowledge
    from kb.db import migrate, session_scope

    settings = _settings()
    migrate(settings.database_url)
    data = {"title": args.title, "kind": args.kind, "starts_at": args.starts_at, "ends_at": args.ends_at,
            "location": args.location, "region": args.region, "organiser": args.organiser,
            "description": args.description, "registration": args.registration, "remind_at": args.remind_at or []}
    try:
        with session_scope(settings.database_url) as session:
            ev = events.create_event(session, data, actor="cli", tz=settings.tz)
    except knowledge.Invalid as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("added:")
    _print_event(ev, settings.tz)
    return 0


def cmd_events_list(args: argparse.Namespace) -> int:
    from kb import events
    from kb.db import session_scope

    settings = _settings()
    with session_scope(settings.database_url) as session:
        rows = events.list_events(session, upcoming_only=args.upcoming, include_cancelled=args.all)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for ev in rows:
        _print_event(ev, settings.tz)
    print(f"{len(rows)} event(s)")
    return 0


def cmd_events_cancel(args: argparse.Namespace) -> int:
    from kb import events
    from kb.db import session_scope

    settings = _settings()
    try:
        with session_scope(settings.database_url) as session:
            ev = events.cancel_event(session, args.id, actor="cli")
    except LookupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("cancelled (its reminders are removed by the scheduler):")
    _print_event(ev, settings.tz)
    return 0


def cmd_push_due(args: argparse.Namespace) -> int:
    """Dry run: what the scheduler would send now, and through which channel."""
    from bot.push import Pusher, format_time
    from kb.events import parse_when

    settings = _settings()
    now = parse_when(args.at, "--at", settings.tz) if args.at else None
    planned = Pusher(settings).preview(now)
    for reminder, channel in planned:
        print(f"event #{reminder.event_id} {reminder.title[:30]}  starts {format_time(reminder.starts_at, settings.tz)}"
              f"  reminder of {format_time(reminder.remind_at, settings.tz)}  -> {reminder.openid}  via {channel}")
    print(f"{len(planned)} reminder(s) due{' at ' + args.at if args.at else ' now'} (dry run: nothing was sent)")
    return 0


def cmd_wait_ready(args: argparse.Namespace) -> int:
    from bot.supervisor import wait_ready

    return wait_ready(_settings(), timeout=args.timeout, stay=args.stay)


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """The new password: from stdin (--password-stdin), typed twice at a terminal, or generated."""
    import getpass
    import secrets

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if first != getpass.getpass("again: "):
            raise SystemExit("error: the two passwords differ")
        return first, False
    return secrets.token_urlsafe(12), True


def cmd_admin_create_user(args: argparse.Namespace) -> int:
    """A staff account for the console (/admin) and the API."""
    from kb import accounts
    from kb.db import migrate, session_scope

    password, generated = _password(args)
    url = _settings().database_url
    migrate(url)
    try:
        with session_scope(url) as session:
            accounts.create_user(session, args.username, password, role=args.role, actor="cli")
    except accounts.AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"created {args.role} account '{args.username}'"
          + (f" with password {password} (shown once)" if generated else ""))
    return 0


def cmd_admin_set_password(args: argparse.Namespace) -> int:
    from kb import accounts
    from kb.db import session_scope

    password, generated = _password(args)
    try:
        with session_scope(_settings().database_url) as session:
            user = accounts.by_name(session, args.username)
            if user is None:
                raise accounts.AccountError(f"no account '{args.username}'")
            accounts.set_password(session, user.id, password, actor="cli")
            if args.activate and not user.active:
                accounts.update_user(session, user.id, active=True, actor="cli")
    except accounts.AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"password of '{args.username}' changed" + (f" to {password} (shown once)" if generated else "")
          + "; its sessions and API token are no longer valid")
    return 0


def cmd_admin_list_users(args: argparse.Namespace) -> int:
    from kb import accounts
    from kb.db import session_scope

    with session_scope(_settings().database_url) as session:
        users = accounts.list_users(session)
    for u in users:
        print(f"{u['id']:>4}  {u['username']:<20} {u['role']:<7} {'active' if u['active'] else 'disabled':<8} "
              f"last login {u['last_login_at'] or 'never'}")
    return 0


def cmd_admin_hittest(args: argparse.Namespace) -> int:
    """Batch hit test from a CSV (question,expected): what the console's batch test does, in a terminal."""
    import asyncio

    import httpx

    from bot.admin import hittest

    settings = _settings()
    try:
        rows = hittest.parse_csv(Path(args.csv).read_bytes())
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    async def run() -> dict:
        async with httpx.AsyncClient() as http:
            return await hittest.batch(rows, database_url=settings.database_url, rasa_url=settings.rasa_url, http=http)
    report = asyncio.run(run())
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for r in report["rows"]:
            print(f"{'PASS' if r['passed'] else 'FAIL'}  {r['question']}  [{r['intent'] or '-'}]"
                  + (f"  {r['why']}" if r["why"] else ""))
        print(f"accuracy {report['passed']}/{report['total']} = {report['accuracy']:.1%}"
              + ("" if report["rasa_up"] else "  (Rasa not running: knowledge base only)"))
    return 0 if report["passed"] == report["total"] else 1


def cmd_admin_unanswered(args: argparse.Namespace) -> int:
    """The unanswered queue, grouped by similarity, as staff see it in the console."""
    from kb import unanswered
    from kb.db import session_scope

    with session_scope(_settings().database_url) as session:
        groups = unanswered.groups(session, order=args.order)
    for g in groups[: args.limit]:
        print(f"x{g.count:<3} {g.text}   (ids {','.join(map(str, g.ids))})")
    print(f"{len(groups)} group(s), {sum(g.count for g in groups)} question(s) open")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bot", description="科协助手 command line")
    sub = parser.add_subparsers(dest="command", required=True)

    kb = sub.add_parser("kb", help="the knowledge base").add_subparsers(dest="kb_command", required=True)
    p = kb.add_parser("build", help="migrate the database and import the corpus (kb/corpus)")
    p.add_argument("--corpus", help="a folder with index.yaml and reports")
    p.set_defaults(func=cmd_kb_build)
    p = kb.add_parser("import", help="import a report (.txt, .md, .docx); a changed file replaces its old version")
    p.add_argument("file")
    p.add_argument("--title")
    p.add_argument("--source")
    p.add_argument("--region")
    p.add_argument("--date", help="publication date, e.g. 2024-02")
    p.set_defaults(func=cmd_kb_import)
    p = kb.add_parser("search", help="rank candidates for a question and show why")
    p.add_argument("question")
    p.add_argument("--limit", type=int, default=8, help="candidates to show")
    p.set_defaults(func=cmd_kb_search)

    p = sub.add_parser("train", help="train the Rasa model when its inputs changed")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("serve", help="the bot's web server only")
    p.add_argument("--access-log", action="store_true")
    p.add_argument("--workers", type=int, default=1, help="worker processes (needs REDIS_URL to share retries)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("run", help="Rasa, the action server, the bot and the scheduler, one log stream")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("stack", help="the production topology as plain processes (local PostgreSQL and Redis)")
    p.add_argument("--rasa-replicas", type=int, default=2)
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(func=cmd_stack)

    p = sub.add_parser("chat", help="talk to the running bot through its real /wechat endpoint")
    p.add_argument("--user", default="chat-user", help="the openid to talk as")
    p.add_argument("-m", "--message", help="send one message, print the reply and exit")
    p.set_defaults(func=cmd_chat)

    menu_cmd = sub.add_parser("menu", help="the public account's custom menu").add_subparsers(
        dest="menu_command", required=True)
    p = menu_cmd.add_parser("push", help="create the menu from a YAML file (default: bot/menu.yaml)")
    p.add_argument("file", nargs="?", help="menu YAML (WeChat's menu JSON as YAML)")
    p.set_defaults(func=cmd_menu_push)

    p = sub.add_parser("scheduler", help="run timed jobs (exactly one per deployment)")
    p.add_argument("--reconcile-every", type=float, default=30.0,
                   help="seconds between full reconciliations of reminder jobs with the events table")
    p.add_argument("--tick", type=float, default=5.0,
                   help="seconds between lock checks and checks for changed events")
    p.set_defaults(func=cmd_scheduler)

    ev_cmd = sub.add_parser("events", help="events and their reminders").add_subparsers(
        dest="events_command", required=True)
    p = ev_cmd.add_parser("add", help="add an event; subscribers are reminded before it")
    p.add_argument("--title", required=True)
    p.add_argument("--kind", default="科普活动", help="科普活动, 竞赛 or 会议")
    p.add_argument("--starts-at", required=True, help="ISO 8601, e.g. 2025-05-01T14:00 (BOT_TZ without an offset)")
    p.add_argument("--ends-at")
    p.add_argument("--location", default="")
    p.add_argument("--region", default="")
    p.add_argument("--organiser", default="")
    p.add_argument("--description", default="")
    p.add_argument("--registration", default="")
    p.add_argument("--remind-at", action="append",
                   help="a reminder time (repeatable); default: 3 days and 1 day before at 09:00")
    p.set_defaults(func=cmd_events_add)
    p = ev_cmd.add_parser("list", help="list events, latest first")
    p.add_argument("--upcoming", action="store_true", help="only those that have not started")
    p.add_argument("--all", action="store_true", help="cancelled ones too")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_events_list)
    p = ev_cmd.add_parser("cancel", help="cancel an event (kept in the history; reminders removed)")
    p.add_argument("id", type=int)
    p.set_defaults(func=cmd_events_cancel)

    push_cmd = sub.add_parser("push", help="event reminders").add_subparsers(dest="push_command", required=True)
    p = push_cmd.add_parser("due", help="list the reminders the scheduler would send now (dry run)")
    p.add_argument("--at", help="as if it were this time (ISO 8601)")
    p.set_defaults(func=cmd_push_due)

    adm = sub.add_parser("admin", help="staff accounts and the console's tools").add_subparsers(
        dest="admin_command", required=True)
    p = adm.add_parser("create-user", help="a staff account for /admin and the API")
    p.add_argument("username")
    p.add_argument("--role", choices=("admin", "editor", "viewer"), default="editor")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.set_defaults(func=cmd_admin_create_user)
    p = adm.add_parser("set-password", help="reset an account's password (ends its sessions)")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.add_argument("--activate", action="store_true", help="also re-enable a disabled account")
    p.set_defaults(func=cmd_admin_set_password)
    p = adm.add_parser("list-users", help="the staff accounts")
    p.set_defaults(func=cmd_admin_list_users)
    p = adm.add_parser("hittest", help="batch hit test: a CSV of question,expected -> accuracy")
    p.add_argument("csv")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_admin_hittest)
    p = adm.add_parser("unanswered", help="the unanswered queue, grouped by similarity")
    p.add_argument("--order", choices=("newest", "count"), default="newest")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_admin_unanswered)

    p = sub.add_parser("wait-ready", help="wait until /healthz says everything is up")
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--stay", action="store_true", help="keep running after (used by `bot run`)")
    p.set_defaults(func=cmd_wait_ready)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`bot kb search "…" | head`): stop quietly, as other command-line tools do,
        # and point stdout at /dev/null so that Python's own flush at exit does not fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
