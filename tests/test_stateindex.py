"""The housekeeping index (streams/stateindex.py) agrees with a full scan of the store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.stateindex import StateIndex, entry_of, expired
from tests.test_processor import T0, Harness, of

IIDS = ["c1", "c2", "c3", "c4"]

step = st.one_of(
    st.tuples(st.just("say"), st.sampled_from(IIDS),
              st.sampled_from(["[human] a person please", "[neg] this is broken", "fine thanks", "[esc] now"])),
    st.tuples(st.just("agent"), st.sampled_from(IIDS), st.just("Hi, Sam here")),
    st.tuples(st.just("end"), st.sampled_from(IIDS), st.just("")),
    st.tuples(st.just("transfer"), st.sampled_from(IIDS), st.just("")),
    st.tuples(st.just("sla"), st.just(""), st.just("")),
    st.tuples(st.just("expire"), st.just(""), st.just("")),
)  # fmt: skip


def scan(h: Harness) -> dict[str, Any]:
    """What the sweeps computed before the index: a walk over every stored conversation."""
    sla, now = h.settings.human_sla_s, h.now
    waiting: dict[str, int] = {}
    for raw in h.store.values():
        if raw.get("human_request_event") is not None:
            q = h.settings.queue_label(raw.get("queue"))
            waiting[q] = waiting.get(q, 0) + 1
    return {
        "active": sum(1 for raw in h.store.values() if not raw.get("ended")),
        "waiting": waiting,
        "sla_due": sorted(
            iid for iid, raw in h.store.items()
            if raw.get("human_request_event") is not None and not raw.get("sla_alerted")
            and raw.get("human_request_ts") is not None and now - float(raw["human_request_ts"]) >= sla
        ),
    }  # fmt: skip


def fresh(store: dict[str, Any]) -> StateIndex:
    ix = StateIndex()
    ix.rebuild(store.items())
    return ix


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(step, st.integers(min_value=1, max_value=200)), min_size=1, max_size=25))
def test_index_equals_a_full_scan_after_any_writes_and_expiries(steps: list[tuple[Any, int]]) -> None:
    h = Harness(human_sla_s=60, state_idle_expiry_s=600, state_ended_expiry_s=120)
    h.now, at = T0.timestamp(), 0
    h.proc.wall_clock = lambda: h.now
    for (op, iid, text), dt in steps:
        at += dt
        h.now = (T0 + timedelta(seconds=at)).timestamp()
        if op == "say":
            h.run(h.event(text, iid=iid, at=at))
        elif op == "agent":
            h.run(h.event(text, iid=iid, at=at, speaker="agent"))
        elif op in ("end", "transfer"):
            h.run(h.event(iid=iid, etype=op, at=at, **({"outcome": "resolved"} if op == "end" else {})))
        elif op == "sla":
            due = scan(h)["sla_due"]
            outs = h.proc.check_sla_all(h.now)
            assert sorted(a["interaction_id"] for a in of(outs, "alerts")) == due
        else:
            idle, ended = h.now - 600, h.now - 120
            gone = sorted(i for i, raw in h.store.items() if expired(entry_of(raw), idle, ended))
            assert h.proc.expire_idle(h.now) == len(gone) and not set(gone) & set(h.store)
        assert h.proc.index.entries() == fresh(h.store).entries()
        want = scan(h)
        assert h.proc.active_conversations() == want["active"]
        assert h.proc.waiting_by_queue() == want["waiting"]
        assert sorted(h.proc.index.sla_due(h.now - 60)) == want["sla_due"]


def test_state_written_behind_the_processors_back_counts_after_a_reindex() -> None:
    # A changelog restore writes the table directly: the index learns of it at the next rebuild.
    h = Harness(human_sla_s=60)
    h.run(h.event("[human] a person please", iid="mine", at=0))
    restored = dict(h.store["mine"], queue="sales")
    h.store["theirs"] = restored
    assert h.proc.waiting_by_queue() == {"billing": 1}
    assert h.proc.reindex() == 2
    assert h.proc.waiting_by_queue() == {"billing": 1, "sales": 1} and h.proc.active_conversations() == 2
    outs = h.proc.check_sla_all((T0 + timedelta(seconds=61)).timestamp())
    assert sorted(a["interaction_id"] for a in of(outs, "alerts")) == ["mine", "theirs"]


def test_the_store_decides_when_the_index_is_stale() -> None:
    # State dropped behind the index's back (a revoked partition): no alert, no error, the entry goes.
    h = Harness(human_sla_s=60, state_idle_expiry_s=600)
    h.run(h.event("[human] a person please", iid="gone", at=0))
    del h.store["gone"]
    assert h.proc.check_sla_all((T0 + timedelta(seconds=61)).timestamp()) == []
    assert "gone" not in h.proc.index and h.proc.active_conversations() == 0
    # and an expiry the index suggests is not made when the store's value is newer
    h.proc.wall_clock = lambda: T0.timestamp()
    h.run(h.event("hello", iid="kept", at=0))
    h.store["kept"] = dict(h.store["kept"], touched=(T0 + timedelta(seconds=900)).timestamp())
    assert h.proc.expire_idle((T0 + timedelta(seconds=700)).timestamp()) == 0 and "kept" in h.store


class CountingStore(dict):  # type: ignore[type-arg]
    """A store that counts reads: the housekeeping sweeps must not walk it (bug 14)."""

    reads = 0

    def get(self, k: Any, default: Any = None) -> Any:
        self.reads += 1
        return super().get(k, default)

    def keys(self) -> Any:
        self.reads += len(self)
        return super().keys()


def test_housekeeping_reads_only_what_is_due_not_the_whole_store() -> None:
    # Bug 14: walking every conversation each second took 58 % of a soaking worker's busy time.
    h = Harness(human_sla_s=60, state_idle_expiry_s=600)
    h.store = h.proc.store = CountingStore()
    h.proc.wall_clock = lambda: T0.timestamp()
    h.run(*(h.event("fine thanks", iid=f"c{i}", at=0) for i in range(500)))
    h.run(h.event("[human] a person please", iid="c7", at=0))
    h.store.reads = 0
    at = (T0 + timedelta(seconds=30)).timestamp()
    assert h.proc.check_sla_all(at) == [] and h.proc.expire_idle(at) == 0
    assert h.proc.waiting_by_queue() == {"billing": 1} and h.proc.active_conversations() == 500
    assert h.store.reads == 0
    # past the SLA: one read, of the conversation that is due
    assert len(of(h.proc.check_sla_all((T0 + timedelta(seconds=61)).timestamp()), "alerts")) == 1
    assert h.store.reads == 1
