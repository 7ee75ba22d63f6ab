"""What the worker's housekeeping needs from the conversation store, kept beside it.

The once-a-second housekeeping (SLA sweep, waiting and active gauges) and the expiry every few seconds
used to walk every conversation in the Faust table: each read goes through Faust's sensors and mapping
layers, and the table holds every conversation until it expires (ended ones after
``IMON_STATE_ENDED_EXPIRY_S``). At minute 6 of a soak at 370 events/s those walks took 27.7 % of the
worker's busy samples (docs/experiments/rule_24.md), and their cost grew with the time served.

:class:`StateIndex` holds, per conversation, only what those sweeps read. The processor notes each of its
own writes; writes it does not make (Faust restoring the changelog after a rebalance) are picked up by
:meth:`StateIndex.rebuild`, which the worker calls when a table recovery completes and once a minute.
(Faust's in-memory store keeps a revoked partition's conversations, so the walks counted them too.) The
store stays the truth: every decision the index suggests (an SLA due, an expiry) is checked against the
store before it acts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple


class Entry(NamedTuple):
    """One conversation as housekeeping sees it."""

    #: The later of its last event time and the wall-clock time of its last change (expiry waits for both).
    last: float
    ended: bool
    #: A human request is pending (``human_request_event`` set).
    waiting: bool
    #: The conversation's queue as stored (the gauge maps it to a label).
    queue: str | None
    #: Event time of a pending request not yet SLA-alerted, else None.
    sla_from: float | None


def entry_of(raw: Mapping[str, Any]) -> Entry:
    """The index entry of one stored conversation (the dict :class:`ConversationState` writes)."""
    waiting = raw.get("human_request_event") is not None
    ts = raw.get("human_request_ts")
    sla_from = float(ts) if waiting and ts is not None and not raw.get("sla_alerted") else None
    return Entry(
        last=max(float(raw.get("last_ts") or 0.0), float(raw.get("touched") or 0.0)),
        ended=bool(raw.get("ended")),
        waiting=waiting,
        queue=raw.get("queue"),
        sla_from=sla_from,
    )


def expired(e: Entry, idle_before: float, ended_before: float) -> bool:
    return e.last < (ended_before if e.ended else idle_before)


class StateIndex:
    """Per-conversation entries plus the two small sets the one-second sweeps read."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._open = 0
        self._waiting: dict[str, str | None] = {}
        self._sla: dict[str, float] = {}

    def clear(self) -> None:
        self._entries.clear()
        self._open = 0
        self._waiting.clear()
        self._sla.clear()

    def note(self, iid: str, raw: Mapping[str, Any] | None) -> None:
        """Record the conversation's stored value after a write (None: it is gone)."""
        old = self._entries.pop(iid, None)
        if old is not None and not old.ended:
            self._open -= 1
        self._waiting.pop(iid, None)
        self._sla.pop(iid, None)
        if not raw:
            return
        e = entry_of(raw)
        self._entries[iid] = e
        if not e.ended:
            self._open += 1
        if e.waiting:
            self._waiting[iid] = e.queue
        if e.sla_from is not None:
            self._sla[iid] = e.sla_from

    def rebuild(self, items: Iterable[tuple[str, Any]]) -> None:
        """Forget everything and index ``items`` (the store's (key, value) pairs)."""
        self.clear()
        for iid, raw in items:
            self.note(iid, raw)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, iid: object) -> bool:
        return iid in self._entries

    def entries(self) -> dict[str, Entry]:
        """A copy of every entry (tests compare it with a fresh index of the store)."""
        return dict(self._entries)

    @property
    def open_count(self) -> int:
        """Conversations not ended."""
        return self._open

    def waiting_queues(self) -> list[str | None]:
        """The stored queue of each conversation with a pending human request."""
        return list(self._waiting.values())

    def sla_due(self, requested_before: float) -> list[str]:
        """Conversations whose un-alerted human request was made before ``requested_before``."""
        return [iid for iid, ts in self._sla.items() if ts <= requested_before]

    def expired(self, idle_before: float, ended_before: float) -> list[str]:
        """Conversations last changed before their cut-off (ended ones: ``ended_before``)."""
        return [iid for iid, e in self._entries.items() if expired(e, idle_before, ended_before)]
