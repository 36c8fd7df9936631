"""Staff accounts: hashing, roles, the first admin, personal API tokens, and `bot admin` on the CLI."""
from __future__ import annotations

import os
import subprocess

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from kb import accounts
from kb.db import session_scope
from kb.models import Edit, StaffUser
from tests.admin_support import admin_kb, app_for, sqlite_kb  # noqa: F401  (fixtures)
from tests.conftest import BIN, ROOT


def test_passwords_are_argon2_hashes_and_authenticate(admin_kb: str) -> None:
    with session_scope(admin_kb) as session:
        user = accounts.create_user(session, "editor1", "correct horse", "editor", actor="test")
        assert user.password_hash.startswith("$argon2")
        assert "correct horse" not in user.password_hash
    with session_scope(admin_kb) as session:
        assert accounts.authenticate(session, "editor1", "correct horse").username == "editor1"
        assert accounts.authenticate(session, "editor1", "wrong horse") is None
        assert accounts.authenticate(session, "nobody", "correct horse") is None
        u = accounts.by_name(session, "editor1")
        assert u.last_login_at is not None
        history = session.execute(select(Edit).where(Edit.table_name == "staff_users")).scalars().all()
        assert history and all("password_hash" not in (e.after or {}) for e in history)


def test_bad_accounts_are_refused(sqlite_kb: str) -> None:
    with session_scope(sqlite_kb) as session:
        with pytest.raises(accounts.AccountError):
            accounts.create_user(session, "short", "1234567", "editor")  # password too short
        with pytest.raises(accounts.AccountError):
            accounts.create_user(session, "x", "long enough", "editor")  # name too short
        with pytest.raises(accounts.AccountError):
            accounts.create_user(session, "someone", "long enough", "superuser")
        accounts.create_user(session, "twice", "long enough", "viewer")
        with pytest.raises(accounts.AccountError):
            accounts.create_user(session, "twice", "long enough", "viewer")


def test_disabled_account_cannot_log_in(sqlite_kb: str) -> None:
    with session_scope(sqlite_kb) as session:
        accounts.create_user(session, "admin1", "long enough", "admin")
        u = accounts.create_user(session, "gone", "long enough", "editor")
        accounts.update_user(session, u.id, active=False)
    with session_scope(sqlite_kb) as session:
        assert accounts.authenticate(session, "gone", "long enough") is None


def test_the_last_admin_cannot_be_demoted_or_disabled(admin_kb: str) -> None:
    with session_scope(admin_kb) as session:
        a = accounts.create_user(session, "only-admin", "long enough", "admin")
        with pytest.raises(accounts.AccountError):
            accounts.update_user(session, a.id, role="editor")
        with pytest.raises(accounts.AccountError):
            accounts.update_user(session, a.id, active=False)
        b = accounts.create_user(session, "second-admin", "long enough", "admin")
        accounts.update_user(session, a.id, role="viewer")  # now there is another admin
        with pytest.raises(accounts.AccountError):
            accounts.update_user(session, b.id, active=False)
        assert session.get(StaffUser, a.id).role == "viewer"


def test_first_admin_only_when_there_is_no_account(sqlite_kb: str) -> None:
    with session_scope(sqlite_kb) as session:
        assert accounts.ensure_first_admin(session, "root", "given password") is None
    with session_scope(sqlite_kb) as session:
        assert accounts.authenticate(session, "root", "given password").role == "admin"
        # an existing account is never reset by a changed BOT_ADMIN_PASSWORD
        assert accounts.ensure_first_admin(session, "root", "another password") is None
        assert accounts.authenticate(session, "root", "another password") is None
        assert accounts.count_users(session) == 1


@pytest.mark.parametrize("stale", ["count", "count and name"])
def test_two_servers_starting_together_create_one_first_admin(admin_kb: str, stale: str,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Replicas sharing a database both find no account at start; the one that comes second
    (its count, and maybe its name check, read before the other's commit) must start anyway."""
    with session_scope(admin_kb) as session:
        assert accounts.ensure_first_admin(session, "admin", "first password") is None  # server A
    real_count = accounts.count_users
    monkeypatch.setattr(accounts, "count_users", _once(0, real_count))
    if stale == "count and name":  # the insert itself meets the other's row: IntegrityError
        monkeypatch.setattr(accounts, "by_name", _once(None, accounts.by_name))
    with session_scope(admin_kb) as session:  # server B
        assert accounts.ensure_first_admin(session, "admin", "second password") is None
    with session_scope(admin_kb) as session:
        assert real_count(session) == 1
        assert accounts.authenticate(session, "admin", "first password") is not None


def _once(value, then):  # noqa: ANN001, ANN202
    """A stand-in that returns `value` on its first call (a read made before the other server's
    commit), then what `then` returns."""
    calls: list[int] = []

    def stand_in(*args):  # noqa: ANN002, ANN202
        if not calls:
            calls.append(1)
            return value
        return then(*args)
    return stand_in


def test_first_admin_with_a_generated_password(sqlite_kb: str) -> None:
    with session_scope(sqlite_kb) as session:
        generated = accounts.ensure_first_admin(session, "admin", None)
    assert generated and len(generated) >= 12
    with session_scope(sqlite_kb) as session:
        assert accounts.authenticate(session, "admin", generated).role == "admin"


def test_app_start_creates_the_first_admin_from_the_environment(sqlite_kb: str, capsys: pytest.CaptureFixture,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_SECRET_KEY", "k" * 32)
    with TestClient(app_for(sqlite_kb, BOT_ADMIN_USER="chief", BOT_ADMIN_PASSWORD="chief-password")):
        pass
    with session_scope(sqlite_kb) as session:
        assert accounts.authenticate(session, "chief", "chief-password").role == "admin"
    assert "chief-password" not in capsys.readouterr().out  # a password the operator chose is never printed


def test_app_start_prints_a_generated_password_once(tmp_path, capsys, monkeypatch) -> None:  # noqa: ANN001
    from tests.conftest import build_kb

    url = f"sqlite:///{tmp_path / 'kb.sqlite3'}"
    build_kb(url)
    monkeypatch.setenv("BOT_SECRET_KEY", "k" * 32)
    from bot.app import create_app
    from bot.config import load_settings

    settings = load_settings({"DATABASE_URL": url, "BOT_API_TOKEN": "t"}, generate_secrets=False)
    with TestClient(create_app(settings)):
        pass
    out = capsys.readouterr().out
    password = out.split("created with password ", 1)[1].split(" ", 1)[0]
    with session_scope(url) as session:
        assert accounts.authenticate(session, "admin", password).role == "admin"
    with TestClient(create_app(settings)):
        pass
    assert "created with password" not in capsys.readouterr().out


def test_personal_api_tokens(admin_kb: str) -> None:
    with session_scope(admin_kb) as session:
        u = accounts.create_user(session, "scripter", "long enough", "editor")
        token = accounts.issue_api_token(session, u.id)
        uid = u.id
    assert token.startswith(f"kx_{uid}_")
    with session_scope(admin_kb) as session:
        assert accounts.user_for_api_token(session, token).username == "scripter"
        assert accounts.user_for_api_token(session, token + "x") is None
        assert accounts.user_for_api_token(session, f"kx_{uid}_wrong") is None
        assert accounts.user_for_api_token(session, "not-a-token") is None
        newer = accounts.issue_api_token(session, uid)
    with session_scope(admin_kb) as session:
        assert accounts.user_for_api_token(session, token) is None  # replaced
        assert accounts.user_for_api_token(session, newer).id == uid
        accounts.set_password(session, uid, "a new password")
    with session_scope(admin_kb) as session:
        assert accounts.user_for_api_token(session, newer) is None  # a new password revokes it


def _cli(args: list[str], url: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["DATABASE_URL"] = url
    return subprocess.run([str(BIN / "bot"), *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=120)


def test_cli_create_user_set_password_and_list(sqlite_kb: str) -> None:
    done = _cli(["admin", "create-user", "clerk", "--role", "viewer", "--password-stdin"], sqlite_kb,
                "clerk password\n")
    assert done.returncode == 0, done.stderr
    assert "clerk password" not in done.stdout
    with session_scope(sqlite_kb) as session:
        assert accounts.authenticate(session, "clerk", "clerk password").role == "viewer"
    again = _cli(["admin", "create-user", "clerk", "--password-stdin"], sqlite_kb, "whatever12\n")
    assert again.returncode == 2 and "已存在" in again.stderr
    short = _cli(["admin", "create-user", "tiny", "--password-stdin"], sqlite_kb, "short\n")
    assert short.returncode == 2
    generated = _cli(["admin", "create-user", "robot", "--role", "admin"], sqlite_kb)  # stdin not a terminal
    assert generated.returncode == 0
    password = generated.stdout.split("with password ", 1)[1].split(" ", 1)[0]
    with session_scope(sqlite_kb) as session:
        assert accounts.authenticate(session, "robot", password).role == "admin"
    reset = _cli(["admin", "set-password", "clerk", "--password-stdin"], sqlite_kb, "brand new pw\n")
    assert reset.returncode == 0, reset.stderr
    with session_scope(sqlite_kb) as session:
        assert accounts.authenticate(session, "clerk", "clerk password") is None
        assert accounts.authenticate(session, "clerk", "brand new pw") is not None
    listing = _cli(["admin", "list-users"], sqlite_kb)
    assert "clerk" in listing.stdout and "robot" in listing.stdout and "viewer" in listing.stdout
