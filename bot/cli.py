"""`bot`: the command line for operators and staff (see README, "Command line")."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bot.config import load_settings


def _settings(secrets: bool = False):  # noqa: ANN202
    return load_settings(generate_secrets=secrets)


def cmd_kb_build(args: argparse.Namespace) -> int:
    from bot.training import write_nlu_resources
    from kb.db import migrate, session_scope
    from kb.ingest import CORPUS_DIR, build_corpus

    url = _settings().database_url
    migrate(url)
    with session_scope(url) as session:
        build_corpus(session, Path(args.corpus) if args.corpus else CORPUS_DIR, progress=print)
    with session_scope(url) as session:
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
    url = _settings().database_url
    migrate(url)
    print(f"Importing {path.name} ({len(text)} characters) ...", flush=True)
    try:
        with session_scope(url) as session:
            result = knowledge.import_text(
                session, title=args.title or path.stem, text=text, source=args.source or "",
                region=args.region or "", published_at=args.date, actor="cli", slug=path.name,
            )
    except knowledge.Invalid as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state = "imported" if result["changed"] else "unchanged"
    print(f"{state}: document {result['id']} v{result['version']}, {result['passages']} passages, "
          f"{result['facts']} facts, {result['events']} events")
    return 0


def cmd_kb_search(args: argparse.Namespace) -> int:
    from kb import answer
    from kb.db import session_scope

    with session_scope(_settings().database_url) as session:
        result = answer.answer(session, args.question, record_unanswered=False)
        q = result.query
        print(f"question: {args.question}")
        if q is not None:
            print(f"tokens:   {' '.join(q.tokens)}   regions: {','.join(q.regions) or '-'}   "
                  f"figure question: {'yes' if q.figure else 'no'}")
        print()
        for i, c in enumerate(result.candidates, 1):
            where = f"faq #{c.unit.faq_id}" if c.unit.kind == "faq" else f"《{c.unit.title}》 {c.unit.date_label}"
            print(f"{i}. score {c.score:6.2f}  coverage {c.coverage:.2f}  matched: {' '.join(c.matched)}")
            print(f"   {where}")
            print(f"   {c.unit.text[:160]}")
        print()
        print(f"answered: {result.answered}")
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


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.chat import chat

    return chat(_settings(), user=args.user, once=args.message)


def cmd_scheduler(args: argparse.Namespace) -> int:
    from bot.scheduler import run

    return run(_settings())


def cmd_wait_ready(args: argparse.Namespace) -> int:
    from bot.supervisor import wait_ready

    return wait_ready(_settings(), timeout=args.timeout, stay=args.stay)


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

    p = sub.add_parser("scheduler", help="run timed jobs (exactly one per deployment)")
    p.set_defaults(func=cmd_scheduler)

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


if __name__ == "__main__":
    sys.exit(main())
