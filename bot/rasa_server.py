"""`kexie-rasa`: Rasa's own command line, with two slow paths of Rasa 3.6 made fast.

Profiling the Rasa server under load (py-spy, `make bench` at 8 users) showed
where a turn's CPU went: 46% in validating the action server's reply against
Rasa's JSON schema, because `jsonschema.validate()` first re-checks the
*schema itself* against the JSON-Schema meta-schema on every call, and ~7% in
turning stored events back into objects, because `Event.resolve_by_type` walks
the whole class tree of events for every event of every tracker it loads.

Both are fixed here without changing what Rasa does:

- the action reply is still validated against the same schema, with the same
  "best match" error message, by a validator compiled once;
- an event type name still resolves to the first class Rasa's own search
  finds; the answer is remembered per name, and a name not seen before (a
  class imported later) searches again.

Everything else is `rasa` unchanged: `kexie-rasa run --enable-api ...` takes
the same arguments as `rasa run ...`. Rasa is pinned (3.6.21, the last 3.6),
so these two functions are known; `patch()` refuses to run on other versions
rather than patching something it has not read.
"""
from __future__ import annotations

import functools
from typing import Any

PATCHED_VERSION = "3.6.21"


@functools.cache
def _action_response_validator() -> Any:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    spec = RemoteAction.action_response_format_spec()
    cls = validator_for(spec)
    cls.check_schema(spec)  # once, as jsonschema.validate() would on every call
    return cls(spec)


def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    """RemoteAction._validate_action_result with a compiled validator (same checks, same error)."""
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    error = best_match(_action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, "
        "make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


_EVENT_TYPES: dict[str, Any] = {}


def _resolve_by_type(type_name: str, default: Any = None) -> Any:
    """Event.resolve_by_type, remembering each name's class instead of walking the tree each time."""
    import rasa.shared.utils.common
    from rasa.shared.core.events import Event

    cls = _EVENT_TYPES.get(type_name)
    if cls is None:
        for candidate in rasa.shared.utils.common.all_subclasses(Event):
            _EVENT_TYPES.setdefault(candidate.type_name, candidate)
        cls = _EVENT_TYPES.get(type_name)
    if cls is not None:
        return cls
    if type_name == "topic":
        return None  # Rasa's backwards compatibility for old TopicSet events
    if default is not None:
        return default
    raise ValueError(f"Unknown event name '{type_name}'.")


def patch() -> None:
    """Install both fixes into the running interpreter (idempotent)."""
    import rasa
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.core.events import Event

    if rasa.__version__ != PATCHED_VERSION:
        raise RuntimeError(f"bot.rasa_server was written against Rasa {PATCHED_VERSION}, found {rasa.__version__}")
    RemoteAction._validate_action_result = _validate_action_result
    Event.resolve_by_type = staticmethod(_resolve_by_type)


def main() -> None:
    patch()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
