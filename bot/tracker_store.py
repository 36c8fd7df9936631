"""Rasa's SQL tracker store without one query per save.

`SQLTrackerStore.save` finds the events it has not stored yet by COUNTING the
stored events of the conversation's latest session (a query with a subquery
on every save) and skipping that many of the tracker's events. In a turn,
Rasa loads the tracker, works on it under the conversation's lock (the Redis
lock store, shared by the replicas), and saves it: the count is simply the
number of events it loaded. This store remembers that number for the tracker
object it handed out and uses it on that object's next save; any other save
(a tracker Rasa created itself, a second save of the same object) counts in
the database as before. Profiling `make bench` showed the count at ~14% of a
Rasa replica's time.

Configured in endpoints.yml as `type: bot.tracker_store.LoadCountingSQLTrackerStore`
with the same settings as `type: SQL`. Rasa imports it by module path and
falls back to an in-memory store, with only a warning, if the path does not
import: tests/test_topology.py proves conversations move between replicas.
"""
from __future__ import annotations

import itertools
from typing import Any, Iterator

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker


# Set on a tracker this store loaded: how many of its events are in the database. (Trackers
# are not hashable, so the number travels on the object and dies with it.)
STORED = "_kexie_events_stored"


class LoadCountingSQLTrackerStore(SQLTrackerStore):
    async def _retrieve(self, sender_id: str, fetch_events_from_all_sessions: bool) -> DialogueStateTracker | None:
        tracker = await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        if tracker is not None and not fetch_events_from_all_sessions:
            setattr(tracker, STORED, len(tracker.events))
        return tracker

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator:
        stored = tracker.__dict__.pop(STORED, None)
        if stored is None:
            return super()._additional_events(session, tracker)
        return itertools.islice(tracker.events, stored, len(tracker.events))
