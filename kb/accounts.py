"""Staff accounts of the console: argon2 password hashes, roles, personal API tokens.

Roles are ordered: a viewer reads, an editor also changes the knowledge, an
admin also manages accounts and settings. Every change to an account is in the
edit history (never the hash). The last active admin cannot be demoted or
disabled, so the console can never lock everyone out.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timezone
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kb.db import get_setting, set_setting
from kb.models import Edit, Setting, StaffUser

ROLES = ("admin", "editor", "viewer")
ROLE_LABELS = {"admin": "管理员", "editor": "编辑", "viewer": "只读"}
_RANK = {"viewer": 0, "editor": 1, "admin": 2}
MIN_PASSWORD = 8
USERNAME = re.compile(r"^[A-Za-z0-9_.@\-\u4e00-\u9fff]{2,50}$")
TOKEN_PREFIX = "kx"

_hasher = PasswordHasher()
# Verified when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """Something about an account a person must correct; the message says what (in Chinese)."""


def at_least(role: str, needed: str) -> bool:
    return _RANK.get(role, -1) >= _RANK[needed]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符")


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"角色必须是 {', '.join(ROLES)} 之一")


def user_dict(user: StaffUser) -> dict[str, Any]:
    """An account as data, never with its hash."""
    return {"id": user.id, "username": user.username, "role": user.role, "active": user.active,
            "created_at": user.created_at.isoformat() if user.created_at else None,
            "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None}


def stamp(user: StaffUser) -> str:
    """Changes when the password changes: a session carrying an old stamp is over."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def get_user(session: Session, user_id: int) -> StaffUser | None:
    return session.get(StaffUser, user_id)


def by_name(session: Session, username: str) -> StaffUser | None:
    return session.execute(select(StaffUser).where(StaffUser.username == username.strip())).scalars().first()


def list_users(session: Session) -> list[dict[str, Any]]:
    return [user_dict(u) for u in session.execute(select(StaffUser).order_by(StaffUser.id)).scalars()]


def count_users(session: Session) -> int:
    return int(session.execute(select(func.count(StaffUser.id))).scalar() or 0)


def create_user(session: Session, username: str, password: str, role: str = "viewer",
                actor: str = "system") -> StaffUser:
    username = username.strip()
    if not USERNAME.match(username):
        raise AccountError("用户名为 2–50 个字母、数字、汉字或 _ . @ -")
    _check_role(role)
    _check_password(password)
    if by_name(session, username) is not None:
        raise AccountError(f"用户名 {username} 已存在")
    user = StaffUser(username=username, password_hash=hash_password(password), role=role, active=True)
    session.add(user)
    session.flush()
    session.add(Edit(table_name="staff_users", row_id=user.id, action="create", actor=actor,
                     after=user_dict(user)))
    return user


def authenticate(session: Session, username: str, password: str) -> StaffUser | None:
    """The active account with this name and password, or None (same cost either way)."""
    user = by_name(session, username) if username.strip() else None
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = datetime.now(timezone.utc)
    return user


def _active_admins(session: Session) -> int:
    return int(session.execute(select(func.count(StaffUser.id)).where(
        StaffUser.role == "admin", StaffUser.active.is_(True))).scalar() or 0)


def update_user(session: Session, user_id: int, *, role: str | None = None, active: bool | None = None,
                actor: str = "system") -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise AccountError("账号不存在")
    before = user_dict(user)
    if role is not None:
        _check_role(role)
    losing_admin = user.role == "admin" and user.active and (
        (role is not None and role != "admin") or active is False)
    if losing_admin and _active_admins(session) <= 1:
        raise AccountError("这是最后一个管理员账号，不能降级或停用")
    if role is not None:
        user.role = role
    if active is not None:
        user.active = active
    session.flush()
    session.add(Edit(table_name="staff_users", row_id=user.id, action="update", actor=actor,
                     before=before, after=user_dict(user)))
    if active is False:
        revoke_api_token(session, user.id, actor=actor)
    return user


def set_password(session: Session, user_id: int, password: str, actor: str = "system") -> StaffUser:
    """A new password ends the account's sessions elsewhere and revokes its API token."""
    _check_password(password)
    user = session.get(StaffUser, user_id)
    if user is None:
        raise AccountError("账号不存在")
    user.password_hash = hash_password(password)
    session.add(Edit(table_name="staff_users", row_id=user.id, action="password", actor=actor,
                     after={"username": user.username}))
    revoke_api_token(session, user.id, actor=actor)
    return user


def ensure_first_admin(session: Session, username: str, password: str | None) -> str | None:
    """Create the first admin when there is no account at all.

    Returns the generated password when the operator gave none (to print once),
    else None. Existing accounts are never touched, so a changed
    BOT_ADMIN_PASSWORD does not silently reset a password staff chose.
    """
    if count_users(session) > 0:
        return None
    generated = None
    if not password:
        password = generated = secrets.token_urlsafe(12)
    try:
        with session.begin_nested():
            create_user(session, username or "admin", password, role="admin", actor="bootstrap")
    except (AccountError, IntegrityError):
        # two servers starting together (replicas sharing one database) both found no account;
        # the other one created it between our count and our insert: nothing left to do
        if count_users(session) > 0:
            return None
        raise
    return generated


# -- personal API tokens: "kx_<user id>_<secret>", only a digest is stored --------------

def _token_key(user_id: int) -> str:
    return f"api_token:{user_id}"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_api_token(session: Session, user_id: int, actor: str = "system") -> str:
    """A new personal token for /api/* with the account's role; the previous one stops working."""
    user = session.get(StaffUser, user_id)
    if user is None or not user.active:
        raise AccountError("账号不存在或已停用")
    secret = secrets.token_urlsafe(24)
    set_setting(session, _token_key(user_id), _digest(secret))
    session.add(Edit(table_name="staff_users", row_id=user_id, action="api_token", actor=actor,
                     after={"username": user.username}))
    return f"{TOKEN_PREFIX}_{user_id}_{secret}"


def has_api_token(session: Session, user_id: int) -> bool:
    return bool(get_setting(session, _token_key(user_id)))


def revoke_api_token(session: Session, user_id: int, actor: str = "system") -> None:
    row = session.get(Setting, _token_key(user_id))
    if row is not None:
        session.delete(row)


def user_for_api_token(session: Session, token: str) -> StaffUser | None:
    """The active account a personal token belongs to, or None."""
    m = re.fullmatch(rf"{TOKEN_PREFIX}_(\d+)_([A-Za-z0-9_\-]+)", token.strip())
    if not m:
        return None
    user_id, secret = int(m.group(1)), m.group(2)
    stored = get_setting(session, _token_key(user_id))
    if not stored or not hmac.compare_digest(stored, _digest(secret)):
        return None
    user = session.get(StaffUser, user_id)
    return user if user is not None and user.active else None
