"""The POST half of the console's edit pages (a passage, fact, Q&A or synonym; a report; an event).

Every edit page saves the same way, as Django's admin change form does: only editors may
save (403 for a read-only account), a row deleted meanwhile is a 404, a value the data
layer refuses is shown next to its field (the page is rendered again with what was typed,
422), and a saved form redirects back to the page with a message. One place for it, so
the edit pages cannot drift apart. (The pages that create rows — a new Q&A, synonym, event,
an imported report — have their own checks before saving and map errors themselves.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from starlette.requests import Request
from starlette.responses import Response

from bot.admin.forms import field_error, in_db
from bot.admin.render import error_page, flash, redirect
from kb import knowledge


@dataclass
class Outcome:
    response: Response | None = None  # the redirect after saving, or a 403/404 page; None: show the form again
    errors: dict[str, str] = field(default_factory=dict)  # field name -> what is wrong with it
    general: str = ""  # what is wrong that belongs to no one field


async def save_edit(request: Request, save: Callable[[Any], Any], *, labels: dict[str, str], what: str,
                    gone: str, saved: str) -> Outcome:
    """Run `save(session)` for an editor; `what` names the thing for the 403 ("知识库"),
    `gone` is the 404's message, `saved` the message after saving."""
    if not request.state.staff.can("editor"):
        return Outcome(error_page(request, 403, "没有权限", f"只读账号不能修改{what}。"))
    try:
        await in_db(request, save)
    except LookupError:  # knowledge.NotFound, or an event that is gone
        return Outcome(error_page(request, 404, "找不到", gone))
    except knowledge.Invalid as exc:
        name, message = field_error(str(exc), labels)
        return Outcome(errors={name: message}) if name else Outcome(general=message)
    flash(request, saved)
    return Outcome(redirect(request.url.path))
