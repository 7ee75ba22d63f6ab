"""The housekeeping index (streams/stateindex.py) agrees with a full scan of the store."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.processor import REFRESH_TICKS
from streams.stateindex import RefreshPass, StateIndex, entry_of, expired
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


raw_state = st.fixed_dictionaries({
    "last_ts": st.floats(min_value=0, max_value=1e4), "touched": st.floats(min_value=0, max_value=1e4),
    "ended": st.booleans(), "queue": st.sampled_from([None, "billing", "sales"]),
    "human_request_event": st.sampled_from([None, "e1"]), "human_request_ts": st.sampled_from([None, 5.0, 90.0]),
    "sla_alerted": st.booleans(),
})  # fmt: skip
KEYS = [f"k{i}" for i in range(12)]
refresh_op = st.one_of(
    st.tuples(st.just("write"), st.sampled_from(KEYS), raw_state),   # the processor's own write (noted)
    st.tuples(st.just("behind"), st.sampled_from(KEYS), raw_state),  # a changelog restore (not noted)
    st.tuples(st.just("drop"), st.sampled_from(KEYS), st.none()),    # state gone behind the index's back
    st.tuples(st.just("step"), st.none(), st.none()),
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(refresh_op, max_size=40), st.integers(min_value=1, max_value=7))
def test_one_complete_refresh_pass_leaves_the_index_equal_to_a_fresh_scan(ops: list[Any], ticks: int) -> None:
    store: dict[str, Any] = {}
    index, rp = StateIndex(), RefreshPass(ticks)
    for op, key, raw in ops:
        if op == "write":
            store[key] = raw
            index.note(key, raw)
        elif op == "behind":
            store[key] = raw
        elif op == "drop":
            store.pop(key, None)
        else:
            rp.step(index, store)
    while rp.left:  # the pass under way (it may have started before the last writes behind its back)
        rp.step(index, store)
    steps = 1
    rp.step(index, store)
    while rp.left:
        rp.step(index, store)
        steps += 1
    assert steps <= ticks
    assert index.entries() == fresh(store).entries()
    assert index.open_count == fresh(store).open_count
    assert sorted(map(str, index.waiting_queues())) == sorted(map(str, fresh(store).waiting_queues()))
    assert sorted(index.sla_due(50.0)) == sorted(fresh(store).sla_due(50.0))


class GetCountingStore(dict):  # type: ignore[type-arg]
    gets = 0

    def get(self, k: Any, default: Any = None) -> Any:
        self.gets += 1
        return super().get(k, default)


def test_a_refresh_slice_reads_only_its_share_of_the_store() -> None:
    # Rule 25: a one-shot rebuild of ~40,000 conversations held the event loop for 92-140 ms.
    store = GetCountingStore({f"c{i}": {"last_ts": 1.0, "ended": i % 3 == 0} for i in range(500)})
    index, rp = StateIndex(), RefreshPass(60)  # empty index: the first pass only re-reads
    per_step = [0]
    while not per_step[-1] or rp.left:
        before = store.gets
        rp.step(index, store)
        per_step.append(store.gets - before)
    # ceil(500 / 60) = 9 a slice, each key once, the pass within its 60 ticks
    assert max(per_step) == 9 and sum(per_step) == 500 and len(per_step) - 1 <= 60
    assert index.entries() == fresh(store).entries()


def test_the_processor_takes_the_refresh_pass_and_a_rebuild_restarts_it() -> None:
    h = Harness(human_sla_s=60)
    h.run(*(h.event("fine thanks", iid=f"c{i}", at=0) for i in range(120)))
    h.store["theirs"] = dict(h.store["c1"])  # restored behind the processor's back
    # a slice re-reads ceil(121 / 60) = 3 stored conversations and checks ceil(120 / 60) = 2 indexed ones
    assert h.proc.reindex_step() == 5 and h.proc.refresh.left == 121 + 120 - 5 and "theirs" in h.proc.index
    h.proc.reindex()
    assert h.proc.refresh.left == 0 and h.proc.active_conversations() == 121
    del h.store["theirs"]
    for _ in range(REFRESH_TICKS):
        h.proc.reindex_step()
    assert "theirs" not in h.proc.index and h.proc.active_conversations() == 120
