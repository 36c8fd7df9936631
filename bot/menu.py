"""The account's custom menu: the YAML shipped in bot/menu.yaml, and the answers to its clicks.

A CLICK button sends an event with the button's key; the key is answered
here straight from the knowledge base, without NLU, because a button press
has no wording to classify. `bot menu push FILE` checks the file against
WeChat's limits and against the keys answered here (a button nobody answers
would be a dead end), then creates the menu through bot.wechat_api.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy.orm import Session

from bot import texts

DEFAULT_MENU = Path(__file__).with_name("menu.yaml")
MAX_EVENTS = 5

# WeChat's limits (menu/create): 3 buttons of 16 bytes, 5 sub-buttons of 60 bytes each.
MAX_BUTTONS, MAX_SUB_BUTTONS = 3, 5
MAX_NAME_BYTES, MAX_SUB_NAME_BYTES = 16, 60
MAX_KEY_BYTES, MAX_URL_BYTES = 128, 1024
BUTTON_TYPES = {"click", "view", "scancode_push", "scancode_waitmsg", "pic_sysphoto", "pic_photo_or_album",
                "pic_weixin", "location_select", "media_id", "view_limited", "miniprogram"}


class MenuError(ValueError):
    """The menu file would be refused by WeChat or leave a button unanswered; the message says where."""


# -- answers to clicks ----------------------------------------------------------------------

def _when(iso: str | None, tz: str) -> str:
    if not iso:
        return ""
    dt = datetime.fromisoformat(iso).astimezone(ZoneInfo(tz))
    day = f"{dt.year}年{dt.month}月{dt.day}日"
    return day if (dt.hour, dt.minute) == (0, 0) else f"{day} {dt:%H:%M}"


def upcoming_events(session: Session, tz: str) -> str:
    """The next events from the knowledge base, soonest first, and how to be reminded."""
    from kb import events as kb_events

    upcoming = kb_events.list_events(session, upcoming_only=True)
    upcoming.sort(key=lambda e: e.get("starts_at") or "")
    if not upcoming:
        return texts.NO_UPCOMING_EVENTS
    lines = ["近期活动："]
    for i, ev in enumerate(upcoming[:MAX_EVENTS], 1):
        details = "，".join(x for x in (_when(ev.get("starts_at"), tz), (ev.get("location") or "").strip()) if x)
        lines.append(f"{i}. {ev['title']}" + (f"（{details}）" if details else ""))
    if len(upcoming) > MAX_EVENTS:
        lines.append(f"另有{len(upcoming) - MAX_EVENTS}项，可以直接问我，比如“成都有什么科普活动”。")
    lines.append(texts.REMIND_HINT)
    return "\n".join(lines)


def how_to_subscribe(session: Session, tz: str, openid: str) -> str:
    return texts.HOW_TO_SUBSCRIBE


def what_to_ask(session: Session, tz: str, openid: str) -> str:
    return texts.WHAT_TO_ASK


def human(session: Session, tz: str, openid: str) -> str:
    from kb.answer import handoff_text

    return handoff_text(session)


def subscription_click(session: Session, tz: str, openid: str, key: str) -> str:
    """SUBSCRIBE_* and UNSUBSCRIBE buttons act at once (kb.subscriptions owns the keys and the topics)."""
    from kb import subscriptions

    outcome = subscriptions.apply_menu_key(session, openid, key)
    if outcome == "subscribed":
        sub = subscriptions.get(session, openid)
        return texts.SUBSCRIBED_BY_MENU.format(topics=subscriptions.describe(sub.topics if sub else None))
    if outcome == "paused":
        return texts.UNSUBSCRIBED_BY_MENU
    if outcome == "not_subscribed":
        return texts.NOT_SUBSCRIBED
    return texts.UNKNOWN_MENU_KEY


def _subscription_keys() -> list[str]:
    from kb import subscriptions

    return [*subscriptions.MENU_SUBSCRIBE, subscriptions.MENU_UNSUBSCRIBE]


KEYS: dict[str, Callable[[Session, str, str], str]] = {
    "UPCOMING_EVENTS": lambda session, tz, openid: upcoming_events(session, tz),
    "HOW_TO_SUBSCRIBE": how_to_subscribe,
    "WHAT_TO_ASK": what_to_ask,
    "HUMAN": human,
    **{key: (lambda session, tz, openid, key=key: subscription_click(session, tz, openid, key))
       for key in _subscription_keys()},
}


def answer_click(session: Session, key: str, tz: str, openid: str = "") -> str:
    """The reply to a CLICK event; a key from an older menu gets a polite pointer, not silence."""
    fn = KEYS.get(key)
    return fn(session, tz, openid) if fn else texts.UNKNOWN_MENU_KEY


# -- the menu file ------------------------------------------------------------------------------

def _bytes(value: Any) -> int:
    return len(str(value).encode("utf-8"))


def _check_leaf(button: dict[str, Any], where: str) -> None:
    kind = button.get("type")
    if kind not in BUTTON_TYPES:
        raise MenuError(f"{where}: type must be one of click, view, ... (got {kind!r})")
    if kind == "click" or kind.startswith(("scancode", "pic_", "location")):
        key = button.get("key")
        if not key or not isinstance(key, str) or _bytes(key) > MAX_KEY_BYTES:
            raise MenuError(f"{where}: a {kind} button needs a key of at most {MAX_KEY_BYTES} bytes")
        if kind == "click" and key not in KEYS:
            raise MenuError(f"{where}: the bot has no answer for key {key!r} (known: {', '.join(KEYS)})")
    if kind == "view":
        url = button.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or _bytes(url) > MAX_URL_BYTES:
            raise MenuError(f"{where}: a view button needs an http(s) url of at most {MAX_URL_BYTES} bytes")


def validate(menu: Any) -> dict[str, Any]:
    """The menu as WeChat's menu/create expects it, or MenuError."""
    if not isinstance(menu, dict) or not isinstance(menu.get("button"), list):
        raise MenuError("the file must have a top-level 'button' list")
    buttons = menu["button"]
    if not 1 <= len(buttons) <= MAX_BUTTONS:
        raise MenuError(f"a menu has 1 to {MAX_BUTTONS} buttons, not {len(buttons)}")
    for i, button in enumerate(buttons, 1):
        where = f"button {i}"
        if not isinstance(button, dict) or not button.get("name"):
            raise MenuError(f"{where}: needs a name")
        if _bytes(button["name"]) > MAX_NAME_BYTES:
            raise MenuError(f"{where}: name {button['name']!r} is longer than {MAX_NAME_BYTES} bytes")
        subs = button.get("sub_button")
        if subs is None:
            _check_leaf(button, where)
            continue
        if not isinstance(subs, list) or not 1 <= len(subs) <= MAX_SUB_BUTTONS:
            raise MenuError(f"{where}: sub_button is a list of 1 to {MAX_SUB_BUTTONS} buttons")
        for j, sub in enumerate(subs, 1):
            sub_where = f"{where}, sub-button {j}"
            if not isinstance(sub, dict) or not sub.get("name"):
                raise MenuError(f"{sub_where}: needs a name")
            if _bytes(sub["name"]) > MAX_SUB_NAME_BYTES:
                raise MenuError(f"{sub_where}: name {sub['name']!r} is longer than {MAX_SUB_NAME_BYTES} bytes")
            _check_leaf(sub, sub_where)
    return {"button": buttons}


def load(path: Path | str = DEFAULT_MENU) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise MenuError(f"cannot read {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise MenuError(f"{path} is not valid YAML: {exc}") from None
    return validate(data)
