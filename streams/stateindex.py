"""What the worker's housekeeping needs from the conversation store, kept beside it.

The once-a-second housekeeping (SLA sweep, waiting and active gauges) and the expiry every few seconds
used to walk every conversation in the Faust table: each read goes through Faust's sensors and mapping
layers, and the table holds every conversation until it expires (ended ones after
``IMON_STATE_ENDED_EXPIRY_S``). At minute 6 of a soak at 370 events/s those walks took 27.7 % of the
worker's busy samples (docs/experiments/rule_24.md), and their cost grew with the time served.

:class:`StateIndex` holds, per conversation, only what those sweeps read. The processor notes each of its
own writes; writes it does not make (Faust restoring the changelog after a rebalance) are picked up by
:meth:`StateIndex.rebuild`, which the worker calls when a table recovery completes, and by a
:class:`RefreshPass` that re-reads every conversation once a minute, a slice per housekeeping tick (a
one-shot rebuild of ~40,000 conversations held the event loop for 92-140 ms; docs/experiments/rule_25.md).
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

    def keys(self) -> list[str]:
        return list(self._entries)

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


class RefreshPass:
    """A full re-read of the store into the index, spread over ``ticks`` calls of :meth:`step`.

    A pass starts from a snapshot of the keys in the store and of those in the index (two lists, no
    union: building a set of ~40,000 keys alone took ~7 ms). Each step takes about 1/``ticks`` of each
    list: a store key is re-read into the index; an index key is only checked, and leaves the index if
    the store no longer holds it. Every re-read takes the store's value of that moment, so the index is
    never less right after a step than before it. A write the processor did not make is picked up by the
    first pass that starts after it (in the worker: within two minutes).
    """

    def __init__(self, ticks: int) -> None:
        self.ticks = max(1, ticks)
        self._reread: list[str] = []
        self._check: list[str] = []
        self._per_step = (0, 0)

    def reset(self) -> None:
        """Drop the pass under way (a full rebuild just made it moot)."""
        self._reread, self._check = [], []

    @property
    def left(self) -> int:
        """Keys of the current pass not yet re-read or checked."""
        return len(self._reread) + len(self._check)

    def step(self, index: StateIndex, store: Mapping[str, Any]) -> int:
        """Take the next slice; returns how many keys it re-read or checked."""
        if not self.left:
            self._reread, self._check = list(store), index.keys()
            self._per_step = (-(-len(self._reread) // self.ticks), -(-len(self._check) // self.ticks))
        reread, check = self._per_step
        reread, check = min(reread, len(self._reread)), min(check, len(self._check))
        for _ in range(reread):
            iid = self._reread.pop()
            index.note(iid, store.get(iid))
        for _ in range(check):
            iid = self._check.pop()
            if iid in index and store.get(iid) is None:
                index.note(iid, None)
        return reread + check
