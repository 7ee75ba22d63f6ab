"""The Faust worker: consumes ``interactions``, scores in batches, publishes every output.

Delivery is at-least-once with agent concurrency 1 (scale by partitions). A batch's outputs are
flushed to Kafka before its input offsets are acknowledged, so a crash replays rather than loses;
replays are recognised by event id in the conversation state and counted once.
Nothing happens at import time: :func:`build_app` makes the app from the settings.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import tempfile
import time
from collections import deque
from collections.abc import Iterator, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import orjson

from models.base import Scorer, UtteranceScore
from streams.alertmanager import AlertPusher, to_alertmanager
from streams.audit import AuditChain, ChainNotResumed, create_audit_metrics
from streams.audit_cli import read_tails, topic_partitions
from streams.batching import Batcher, HandledOffsets
from streams.config import Settings
from streams.feedback import FeedbackDataWriter, InvalidFeedback, decode_feedback
from streams.gcpause import apply_threshold as apply_gc_threshold
from streams.http import HealthState, RecoveryWatch, serve
from streams.kafka_io import create_topics
from streams.metrics import Metrics
from streams.processor import Ethics, Output, Prepared, Processor
from streams.redaction import Redactor
from streams.schema import InvalidEvent, decode_event

log = logging.getLogger("imon.worker")


#: How long a revoke waits for the batch in flight before committing (then it commits what it has).
REVOKE_BATCH_WAIT_S = 30.0
#: How often the batch loop looks whether a rebalance has ended, while it holds fetched events.
REBALANCE_POLL_S = 0.01
#: The sleep whose late wake-ups ``imon_event_loop_lag_seconds`` measures.
LOOP_PROBE_S = 0.25


async def watch_event_loop(lag: Any, interval: float = LOOP_PROBE_S) -> None:
    """Observe, forever, how late the running loop wakes a sleep of ``interval`` (into the histogram
    ``lag``): the longest stretch it spent on other work. Such stretches delay every fetch, Kafka
    heartbeat and health probe; bug 14's table walks were ones that grew with the state held."""
    loop = asyncio.get_running_loop()
    while True:
        t = loop.time()
        await asyncio.sleep(interval)
        lag.observe(max(0.0, loop.time() - t - interval))


def _at(outs: list[Output], partition: int) -> list[Output]:
    for o in outs:
        o.partition = partition
    return outs


class _ChangelogRecord(asyncio.Future[Any]):
    """The future of one table changelog record sent by the worker (``Worker._track_changelog_sends``).

    It resolves with the record's metadata when Kafka acknowledged it. ``message.partition`` is what
    Faust's table reads from the future ``send_changelog`` returns.
    """

    def __init__(self, partition: int) -> None:
        super().__init__()
        self.message = SimpleNamespace(partition=partition)

    def settle_from(self, fut: asyncio.Future[Any]) -> None:
        if self.done():
            return
        if fut.cancelled():
            self.cancel()
        elif (exc := fut.exception()) is not None:
            self.set_exception(exc)
        else:
            self.set_result(fut.result())


def _delivered(fut: Any) -> bool:
    return bool(fut.done() and not fut.cancelled() and fut.exception() is None)


def _await_chain(task: asyncio.Task[Any], limit: int = 16) -> str:
    """``outer -> ... -> innermost`` await chain of a task (code locations only, never data)."""
    hops: list[str] = []
    aw: Any = task.get_coro()
    while aw is not None and len(hops) < limit:
        frame = getattr(aw, "cr_frame", None) or getattr(aw, "gi_frame", None) or getattr(aw, "ag_frame", None)
        if frame is None:
            hops.append(type(aw).__name__)  # a Future, an Event's waiter...
            break
        hops.append(f"{frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno} {frame.f_code.co_name}")
        aw = getattr(aw, "cr_await", None) or getattr(aw, "gi_yieldfrom", None) or getattr(aw, "ag_await", None)
    return " -> ".join(hops)


def _aiokafka_fetch(consumer: Any) -> tuple[Any, Any, Any]:
    """(fetcher, subscription state, assignment or None) of the aiokafka consumer under Faust's
    (private state of aiokafka 0.14; read from another thread without locks)."""
    fetcher = consumer._thread._consumer._fetcher
    sub = fetcher._subscriptions
    return fetcher, sub, sub.subscription.assignment if sub.subscription is not None else None


def _fetch_state(consumer: Any, recovery: Any) -> str:
    """aiokafka's fetch state per assigned partition, beside Faust's read offset and its
    recovery's progress: the layer under Faust's bookkeeping, for bug 11 (a snapshot that may be a
    moment inconsistent; numbers only)."""
    fetcher, sub, assignment = _aiokafka_fetch(consumer)
    parts = [
        f"reassigning={sub.reassignment_in_progress} assignment_active="
        f"{assignment.active if assignment is not None else None} in_flight_nodes={sorted(fetcher._in_flight)} "
        f"pending_tasks={len(fetcher._pending_tasks)} fetch_task_done={fetcher._fetch_task.done()} "
        f"waiters={len(fetcher._fetch_waiters)}"
    ]
    if assignment is None:
        return " ".join(parts)
    active_offsets = getattr(recovery, "active_offsets", {})
    active_high = getattr(recovery, "active_highwaters", {})
    for tp in sorted(assignment.tps, key=lambda t: (t.topic, t.partition)):
        st = assignment.state_value(tp)
        held = fetcher._records.get(tp)
        parts.append(
            f"{tp.topic}:{tp.partition}[pos={st._position} status={getattr(st._status, 'name', st._status)} "
            f"reset={st._reset_strategy} paused={st.paused} hw={st.highwater} "
            f"held={type(held).__name__ if held is not None else None}"
            f"{'/more' if held is not None and getattr(held, 'has_more', lambda: False)() else ''} "
            f"faust_read={consumer._read_offset.get(tp)} "
            f"recovered={active_offsets.get(tp)}/{active_high.get(tp)}]"
        )
    return " ".join(parts)


def _stuck_changelog_partitions(consumer: Any, recovery: Any) -> dict[Any, int]:
    """Active changelog partitions a table recovery still waits for although aiokafka has already
    read past the recovery's offset and holds no record of them: the records were handed to Faust and
    never reached the recovery (bug 11). Maps each to the offset to read again from (the recovery's
    offset + 1; 0 when it has read nothing). Empty when the state cannot be read."""
    try:
        fetcher, sub, assignment = _aiokafka_fetch(consumer)
        if assignment is None or not assignment.active or sub.reassignment_in_progress:
            return {}
        assigned = set(assignment.tps)
        out: dict[Any, int] = {}
        for tp, highwater in dict(recovery.active_highwaters).items():
            offset = recovery.active_offsets.get(tp)
            offset = -1 if offset is None else int(offset)
            if highwater is None or offset >= highwater or tp not in assigned:
                continue
            position = assignment.state_value(tp)._position
            if position is not None and position > offset + 1 and tp not in fetcher._records:
                out[tp] = offset + 1
        return out
    except Exception as err:  # private aiokafka state: a version change must not break the worker
        log.warning("recovery re-seek: consumer state unreadable (%r)", err)
        return {}


def _log_task_stacks() -> None:
    """Log where every asyncio task of the running loop waits."""
    for task in asyncio.all_tasks():
        log.warning("task %s waits at: %s", task.get_name(), _await_chain(task) or "(done)")


def _clear_queues_only_on_a_real_resume(flow_control: Any) -> None:
    """Keep the events already queued for the agent when Faust "resumes" a flow that is running.

    ``FlowControlEvent.resume()`` (mode-streaming) empties every queue it manages, the agent's input
    buffer included, even when the flow was not suspended. Faust's recovery resumes the flow while
    it reads the changelog, then resumes the input partitions, seeks them to the committed offsets
    (a broker round trip, during which records are fetched and queued) and calls ``resume()`` again:
    the records queued meanwhile were thrown away, unacked, with Faust's read offset already past
    them. A restarted worker with a backlog skipped 216 records that way (105 processed by no one, the commit
    stuck below them; docs/RELIABILITY.md, bug 10). Clearing on a real suspended -> running change
    is kept: that is what drops events fetched before a rebalance.
    """
    resume = flow_control.resume

    def resume_if_suspended() -> None:
        if not flow_control.is_active():
            resume()

    flow_control.resume = resume_if_suspended


class TableStore(MutableMapping[str, Any]):
    """The processor's conversation store over a Faust table with bytes keys.

    The table uses the producer's partitioner for its changelog (``use_partitioner=True``), so a
    conversation's state lands on the changelog partition with the same number as its input
    partition (both keyed by interaction id with Kafka's default murmur2 partitioner), whatever
    event happens to be current inside a batch.
    """

    def __init__(self, table: Any) -> None:
        self.table = table

    def __getitem__(self, k: str) -> Any:
        v = self.table.get(k.encode())
        if v is None:
            raise KeyError(k)
        return v

    def get(self, k: str, default: Any = None) -> Any:
        v = self.table.get(k.encode())
        return default if v is None else v

    def __setitem__(self, k: str, v: Any) -> None:
        self.table[k.encode()] = v

    def __delitem__(self, k: str) -> None:
        del self.table[k.encode()]

    def pop(self, k: str, default: Any = None) -> Any:
        key = k.encode()
        if key in self.table:
            v = self.table[key]
            del self.table[key]
            return v
        return default

    def __iter__(self) -> Iterator[str]:
        # A list, not a generator: housekeeping snapshots ~40,000 keys at a time (rule 25).
        return iter([k.decode() if isinstance(k, bytes) else str(k) for k in list(self.table.keys())])

    def __len__(self) -> int:
        return len(self.table)


def _credentials(s: Settings) -> Any:
    if s.kafka_security_protocol == "PLAINTEXT":
        return None
    ctx = None
    if "SSL" in s.kafka_security_protocol:
        ctx = ssl.create_default_context(cafile=str(s.kafka_ssl_cafile) if s.kafka_ssl_cafile else None)
        if s.kafka_ssl_certfile:
            ctx.load_cert_chain(
                str(s.kafka_ssl_certfile), str(s.kafka_ssl_keyfile) if s.kafka_ssl_keyfile else None
            )
    if "SASL" in s.kafka_security_protocol:
        return faust.SASLCredentials(
            username=s.kafka_sasl_username,
            password=s.kafka_sasl_password.get_secret_value() if s.kafka_sasl_password else None,
            ssl_context=ctx,
            mechanism=s.kafka_sasl_mechanism,
        )
    return faust.SSLCredentials(ctx)


class Worker:
    """Holds what one worker process owns: settings, model, metrics, Faust app."""

    def __init__(
        self, settings: Settings, scorer: Scorer, redactor: Redactor, metrics: Metrics, ethics: Ethics | None = None
    ) -> None:
        self.settings = settings
        self.ethics = ethics or Ethics()
        self._ethics_metrics = make_ethics_metrics(metrics, self.ethics)
        self.scorer = scorer
        self.metrics = metrics
        self.health = HealthState()
        self._recovery_watch = RecoveryWatch(settings.recovery_stall_s)
        self._reseek_task: asyncio.Task[None] | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imon-infer")
        self.pusher = AlertPusher(settings.alertmanager_url, metrics) if settings.alertmanager_url else None
        s = settings
        self.app = faust.App(
            s.app_id,
            broker=[f"kafka://{b.strip()}" for b in s.kafka_bootstrap.split(",")],
            broker_credentials=_credentials(s),
            value_serializer="raw",
            key_serializer="raw",
            topic_partitions=s.topic_partitions,
            topic_replication_factor=1,
            topic_allow_declare=True,
            web_enabled=False,
            store="memory://",
            # Faust makes "<app id>-data/" in the working directory by default; the state lives in
            # memory and the changelog, so keep its empty folders out of the user's checkout.
            # (Faust makes only the last level of the path.)
            datadir=str(Path(tempfile.gettempdir()) / f"{s.app_id}-data"),
            processing_guarantee="at_least_once",
            consumer_auto_offset_reset="earliest",
            producer_acks=-1,
            broker_commit_interval=1.0,
            stream_buffer_maxsize=max(4096, 4 * s.batch_max_size),
            table_cleanup_interval=60.0,
        )
        self.table = self.app.Table(
            "conversations",
            default=None,
            partitions=s.topic_partitions,
            # key_type as well as the schema: Faust derives the changelog's key serializer from the
            # table's key_type (json when unset), and raw keys read back as JSON break recovery.
            key_type=bytes,
            schema=faust.Schema(key_type=bytes, key_serializer="raw", value_serializer="json"),
            use_partitioner=True,
        )
        self._changelog_sends: list[Any] = []
        self._changelog_queue: deque[tuple[str, Any, Any, int, Any, _ChangelogRecord]] = deque()
        self._changelog_lock = asyncio.Lock()
        self._changelog_sender: asyncio.Future[None] | None = None
        self._idle = asyncio.Event()  # set while no batch is being handled (see _commit_acks_before_revoke)
        self._idle.set()
        self._handled = HandledOffsets()  # input offsets handled and acked (see _unhandled)
        self._track_changelog_sends()
        _clear_queues_only_on_a_real_resume(self.app.flow_control)
        self.processor = Processor(s, scorer, redactor, metrics, TableStore(self.table), self.ethics)
        self.topics = {
            "scored": self.app.topic(s.topic_scored, key_serializer="raw", value_serializer="raw"),
            "alerts": self.app.topic(s.topic_alerts, key_serializer="raw", value_serializer="raw"),
            "audit": self.app.topic(s.topic_audit, key_serializer="raw", value_serializer="raw"),
            "dlq": self.app.topic(s.topic_dlq, key_serializer="raw", value_serializer="raw"),
        }
        self._topic_names = {k: t.get_topic_name() for k, t in self.topics.items()}
        self.chain = AuditChain(create_audit_metrics(metrics.registry))
        self.audit_partitions = s.topic_partitions  # checked against the topic in run()
        self._audit_lock = asyncio.Lock()
        self._last_expiry = 0.0
        self._recovering = False
        self.feedback_topic = self.app.topic(s.topic_feedback, key_serializer="raw", value_serializer="raw")
        self.input = self.app.topic(
            s.topic_input, key_serializer="raw", value_serializer="raw", partitions=s.topic_partitions
        )
        self._wire()

    # -- Faust wiring ------------------------------------------------------------------------
    def _wire(self) -> None:
        app, s = self.app, self.settings

        @app.agent(self.input, concurrency=1, name="imon.score")
        async def score(stream: Any) -> None:
            # Manual acks: events are acknowledged only after their batch's outputs were accepted
            # by Kafka. The batching is ours (streams/batching.py), not Faust's take_events, whose
            # parallel value/event buffers were seen to skip one record and repeat another after
            # a restart with a backlog.
            manual = stream.noack()
            pending: Batcher[Any] = Batcher(
                s.batch_max_size, s.batch_max_wait_s, small_size=min(s.batch_small_size, s.batch_max_size) or None
            )
            batcher = asyncio.ensure_future(self._batches(pending, manual))
            try:
                async for event in manual.events():
                    if batcher.done():
                        batcher.result()  # re-raise what stopped the batcher
                    await pending.put(event)
                    # Hold no reference: Faust waits on a rebalance until every unacked message
                    # is acked or garbage (a weak set), and a stale one is dropped unacked.
                    del event
            finally:
                batcher.cancel()

        if self.pusher is not None:
            pusher = self.pusher

            @app.agent(self.topics["alerts"], concurrency=1, name="imon.alert-forwarder")
            async def forward(stream: Any) -> None:
                # One alert at a time: the stream only acknowledges an alert when the loop moves
                # on, i.e. after Alertmanager accepted it, so an outage delays alerts, never drops them.
                async for event in stream.events():
                    try:
                        alert = to_alertmanager(orjson.loads(event.value))
                    except (orjson.JSONDecodeError, TypeError, AttributeError):
                        log.error("skipping a malformed record on the alerts topic")
                        continue
                    if not await pusher.push([alert]):
                        return

        tracker = self.ethics.feedback
        if tracker is not None:
            writer = FeedbackDataWriter(s.feedback_data_dir) if s.feedback_data_dir else None

            @app.agent(self.feedback_topic, concurrency=1, name="imon.feedback")
            async def feedback(stream: Any) -> None:
                # Supervisors' verdicts: live precision per alert type, and (optionally) training rows.
                async for event in stream.events():
                    try:
                        fb = decode_feedback(event.value)
                    except InvalidFeedback as err:
                        tracker.reject(err)
                        log.warning("rejected a feedback record: %s", err.reason)
                        continue
                    seen = tracker.observe(fb)
                    if seen.example is not None and writer is not None:
                        await asyncio.get_running_loop().run_in_executor(None, writer.write, seen.example)

        @app.timer(interval=s.fairness_eval_interval_s)
        async def export_ethics() -> None:
            em = self._ethics_metrics
            if self.ethics.fairness is not None:
                self.ethics.fairness.export(em["fairness"])
            if self.ethics.drift is not None:
                self.ethics.drift.export(em["drift"])
            if self.ethics.feedback is not None:
                self.ethics.feedback.export()

        @app.task
        async def event_loop_lag() -> None:
            await watch_event_loop(self.metrics.loop_lag)

        @app.timer(interval=1.0)
        async def housekeeping() -> None:
            self.health.tick()
            self._watch_recovery(time.monotonic())
            self._reindex()
            outs = self.processor.check_sla_all(time.time())
            if outs:
                await self.publish(outs)
            waiting = self.processor.waiting_by_queue()
            for q in set(s.queues) | {"other"}:
                self.metrics.human_waiting.labels(q).set(waiting.get(q, 0))
            now = time.time()
            if now - self._last_expiry >= 5.0:
                self._last_expiry = now
                self.processor.expire_idle(now)
            # Forget changelog sends Kafka already took (timers write state between batches too);
            # a failed one stays for the next batch to raise.
            self._changelog_sends[:] = [f for f in self._changelog_sends if not _delivered(f)]
            self.metrics.conversations_active.set(self.processor.active_conversations())
            await self._export_lag()

        @app.on_partitions_revoked.connect  # type: ignore[arg-type]
        async def on_revoked(app_: Any, revoked: Any, **kwargs: Any) -> None:
            self._handled.forget(revoked)
            await self._release_audit_chains(revoked)

        @app.on_partitions_assigned.connect  # type: ignore[arg-type]
        async def on_assigned(app_: Any, assigned: Any, **kwargs: Any) -> None:
            self.metrics.rebalances.inc()
            self._commit_acks_before_revoke(app_.consumer)
            await self._resume_audit_chains(assigned)
            self.health.ready = True
            self.metrics.consumer_lag.clear()

    def _reindex(self) -> None:
        """Keep the processor's housekeeping index (streams/stateindex.py) in step with the table.

        A completed table recovery restored state the processor did not write: one full rebuild. Every
        other second: the next slice of the safety-net pass that re-reads the whole table once a minute
        (a one-shot rebuild of ~40,000 conversations held the event loop for 92-140 ms; rule 25).
        """
        recovering = bool(self.app.tables.recovery.in_recovery)  # type: ignore[attr-defined]
        finished = self._recovering and not recovering
        self._recovering = recovering
        if finished:
            n = self.processor.reindex()
            log.debug("housekeeping index rebuilt after a table recovery: %d conversations", n)
        else:
            self.processor.reindex_step()

    def _watch_recovery(self, now: float) -> None:
        """Report unhealthy when Faust's table recovery stopped reading the changelog (bug 11).

        A stuck recovery never finishes by itself and its partitions' events wait unprocessed while
        the event loop (and so liveness) looks fine; a restart recovers afresh, so /healthz turns 503
        and the orchestrator's liveness probe restarts the worker (no events are lost: none of them
        was acked).
        """
        if self.health.failed is not None:
            return
        rec: Any = self.app.tables.recovery  # type: ignore[attr-defined]  # TableManager, not in its T-type
        in_recovery = bool(rec.in_recovery)
        left = rec.active_remaining_total() if in_recovery else 0
        tripped = self._recovery_watch.observe(in_recovery, (self.app.consumer_generation_id, left), now)
        if not tripped and self._recovery_watch.nudge_due(now, self.settings.recovery_reseek_s):
            self._reseek_stuck_changelogs(rec, now)
        if tripped:
            waited = self._recovery_watch.stalled_for(now)
            log.error(
                "table recovery read nothing for %.0f s (generation %s, %d changelog records left): "
                "/healthz reports unhealthy from now on so the worker gets restarted",
                waited, self.app.consumer_generation_id, left,
            )
            self.health.fail(f"table recovery stalled for {waited:.0f} s")
            _log_task_stacks()  # where everything waits: the evidence for the root cause
            self._log_consumer_state()

    def _reseek_stuck_changelogs(self, rec: Any, now: float) -> None:
        """The cheap cure for bug 11: seek the changelog partitions whose records were read but never
        applied back to the recovery's offset, so they are fetched and applied again (applying is
        idempotent: the recovery skips offsets it has seen). Runs in the consumer's own thread
        (Faust's ``seek_wait``); if the recovery still does not move, the watch trips as before."""
        stuck = _stuck_changelog_partitions(self.app.consumer, rec)
        if not stuck or (self._reseek_task is not None and not self._reseek_task.done()):
            return
        log.warning(
            "table recovery read nothing for %.0f s although the consumer is past it: seeking %s back to %s",
            self._recovery_watch.stalled_for(now), ", ".join(f"{tp.topic}:{tp.partition}" for tp in stuck),
            ", ".join(str(o) for o in stuck.values()),
        )
        self.metrics.recovery_reseeks.inc(len(stuck))

        async def reseek() -> None:
            try:
                await self.app.consumer.seek_wait(stuck)
            except Exception as err:  # the watch's restart path stays as the fallback
                log.error("recovery re-seek failed: %r", err)

        self._reseek_task = asyncio.ensure_future(reseek())

    def _log_consumer_state(self) -> None:
        """Faust's fetch bookkeeping at a stall: which partitions it would fetch, pause or skip."""
        c: Any = self.app.consumer

        def tps(s: Any) -> list[str]:
            return sorted(f"{tp.topic}:{tp.partition}" for tp in (s or ()))

        try:
            assigned: object = tps(c.assignment())
        except Exception as err:  # e.g. the consumer thread is gone; diagnostics never raise
            assigned = repr(err)
        log.warning(
            "consumer at the stall: flow_active=%s flow_control_active=%s in_recovery=%s assigned=%s "
            "active=%s paused=%s buffered=%s",
            getattr(c, "flow_active", None), self.app.flow_control.is_active(), self.app.in_recovery, assigned,
            tps(getattr(c, "_active_partitions", None)), tps(getattr(c, "_paused_partitions", None)),
            tps(getattr(c, "_buffered_partitions", None)),
        )
        try:
            log.warning("aiokafka at the stall: %s", _fetch_state(c, self.app.tables.recovery))  # type: ignore[attr-defined]
        except Exception as err:  # diagnostics never raise
            log.warning("aiokafka at the stall: unreadable (%r)", err)

    async def _batches(self, pending: Batcher[Any], stream: Any) -> None:
        """Take up to IMON_BATCH_MAX_SIZE events, waiting at most IMON_BATCH_MAX_WAIT_S after the
        first; process them (never raises for bad input) and ack them once published.

        One batch at a time. Overlapping batch N's publish with batch N+1's scoring was measured
        twice and not kept (docs/RELIABILITY.md, "Tried and not kept"): on two shared cores the
        publish work competes with the model for CPU, and throughput did not improve.
        """
        while True:
            events = await pending.take()
            # From a revoke until Faust's recovery has sought the input partitions to their
            # committed offsets, records fetched for the new generation are held, not handled:
            # handled then, they were acked while Faust's committed offset was unknown (a periodic
            # commit could skip records the revoke had cleared from the queues), and their state
            # changes could be overwritten by the changelog restore. Not dropped: Faust does not
            # always read a dropped record again (it was seen losing one so). A new revoke stops
            # the flow, and then _current drops them as before (bug 8).
            while self.app.rebalancing and self.app.flow_control.is_active():
                await asyncio.sleep(REBALANCE_POLL_S)
            batch = self._current(events)
            del events
            batch = await self._unhandled(batch, stream)
            if not batch:
                continue
            if log.isEnabledFor(logging.DEBUG):  # which records a batch holds, for fault analysis
                spans: dict[int, list[int]] = {}
                for e in batch:
                    spans.setdefault(e.message.partition, []).append(e.message.offset)
                log.debug(
                    "batch of generation %s: partition -> (first offset, last offset, events) %s",
                    self.app.consumer_generation_id, {p: (min(o), max(o), len(o)) for p, o in spans.items()},
                )
            self._idle.clear()
            try:
                await self.handle_batch(batch)
                # The batch's state changes reach Kafka through the table's changelog, whose records
                # are sent apart from our outputs (``_track_changelog_sends``): wait for them too, so
                # no offset is acked before the state that knows its event is durable (a restart or
                # the next owner of the partition would count the event new again).
                await self._changelog_durable()
                while batch:  # in order, holding no reference to an acked event
                    e = batch.pop(0)
                    self._handled.add(e.message.tp, e.message.offset)
                    await stream.ack(e)
                    del e
            finally:
                self._idle.set()
            self.health.tick()

    async def _unhandled(self, batch: list[Any], stream: Any) -> list[Any]:
        """Ack and count as ``duplicate``, without handling them again, events at offsets this
        worker has already handled and acked (see :class:`streams.batching.HandledOffsets`): after
        a restart, the records fetched before recovery's seek are handled, then delivered again."""
        fresh: list[Any] = []
        again: list[Any] = []
        for e in batch:
            (again if self._handled.seen(e.message.tp, e.message.offset) else fresh).append(e)
        del batch
        if not again:
            return fresh
        log.info("%d events delivered again at offsets already handled: acked, counted as duplicate", len(again))
        self.metrics.events.labels("duplicate", "other", "other").inc(len(again))
        while again:
            await stream.ack(again.pop(0))
        return fresh

    def _commit_acks_before_revoke(self, consumer: Any) -> None:
        """Commit what was acked before Faust forgets it on a revoke (bug 12).

        faust-streaming 0.15.3's ``Consumer.on_partitions_revoked`` drops its acked-offset bookkeeping
        for every revoked partition (all of them: the protocol is eager) *before* the app waits for
        in-flight events and commits. Events acked since the last periodic commit
        (``broker_commit_interval``, 1 s) were therefore never committed and the partition's next
        owner read them again: valid events come back as recognised duplicates, but a bad record
        has no conversation state to recognise it by, so it was dead-lettered and counted twice.
        This wraps the consumer's revoke handler (installed once; Faust looks it up per call) so it
        first lets the batch in flight finish and commits every acked offset while the generation
        is still valid, then runs Faust's own handler.
        """
        if getattr(consumer, "_imon_commits_before_revoke", False):
            return
        original = consumer.on_partitions_revoked
        idle = self._idle

        async def on_partitions_revoked(revoked: Any) -> Any:
            try:
                # Faust's handler waits for that batch without a limit; this wait is bounded.
                await asyncio.wait_for(idle.wait(), REVOKE_BATCH_WAIT_S)
                await consumer.commit()
                await consumer.commit()  # once more if a periodic commit was already under way
            except Exception:  # never block the rebalance; Faust's own commit follows anyway
                log.warning("commit before a revoke failed; some acked events may be read again", exc_info=True)
            return await original(revoked)

        consumer.on_partitions_revoked = on_partitions_revoked
        consumer._imon_commits_before_revoke = True

    def _track_changelog_sends(self) -> None:
        """Send the table's changelog records ourselves, in the order written, and keep the future of
        each (see :meth:`_changelog_durable`).

        Faust's own ``producer.flush()`` is no proof: its buffer gives up after 0.1 s without a send
        and returns with records still queued (faust-streaming 0.15.3, ``ProducerBuffer.flush_atmost``),
        which is how a busy worker acked events whose state the next owner never saw (bug 9). And its
        path (``Topic.send_soon`` through that buffer) cost 80-88 µs of CPU per record against 12-13
        through the producer driver (``scripts/publish_cost.py``), one record per state change, on the
        event loop. So a record is serialised as Faust would (the table's schema) and partitioned as
        Faust's eager partitioning would (the producer's partitioner on the serialised key), queued, and
        sent through the driver by :meth:`_flush_changelog`, one sender at a time, so records of a key
        reach the changelog in the order the table was written. Before the producer has started (no
        partitioner yet) Faust's own path is used. (Faust's callback for a sent changelog record only
        notes its offset for an on-disk store; this worker's table is in memory, ``store="memory://"``.)
        """
        send = self.table.send_changelog
        sends = self._changelog_sends
        queue = self._changelog_queue
        table: Any = self.table
        topic: Any = table.changelog_topic
        name = topic.get_topic_name()

        def send_changelog(partition: int | None, key: Any, value: Any, key_serializer: Any = None,
                           value_serializer: Any = None) -> Any:
            producer = self.app.producer
            if not producer.started:
                sends.append(send(partition, key, value, key_serializer, value_serializer))
                return sends[-1]
            k, headers = topic.prepare_key(key, key_serializer or table.key_serializer, None, {})
            v, headers = topic.prepare_value(value, value_serializer or table.value_serializer, None, headers)
            if partition is None:
                partition = producer.key_partition(name, k).partition
            record = _ChangelogRecord(partition)
            queue.append((name, k, v, partition, headers or None, record))
            if self._changelog_sender is None or self._changelog_sender.done():
                self._changelog_sender = asyncio.ensure_future(self._flush_changelog())
            sends.append(record)
            return record

        self.table.send_changelog = send_changelog  # type: ignore[method-assign]

    async def _flush_changelog(self) -> None:
        """Hand every queued changelog record to the producer, in order (their futures resolve on Kafka's ack)."""
        queue = self._changelog_queue
        async with self._changelog_lock:
            if not queue:
                return
            producer = await self.app.maybe_start_producer()
            while queue:
                name, key, value, partition, headers, record = queue.popleft()
                try:
                    fut = await producer.send(name, key, value, partition=partition, timestamp=None, headers=headers)
                except Exception as exc:  # the batch that wrote it must not be acked: its wait raises this
                    if not record.done():
                        record.set_exception(exc)
                    continue
                fut.add_done_callback(record.settle_from)

    async def _changelog_durable(self) -> None:
        """Wait until Kafka acknowledged every changelog record sent so far (raises if one failed)."""
        await self._flush_changelog()
        sends = self._changelog_sends
        while sends:
            futs = sends[:]
            del sends[: len(futs)]
            await asyncio.gather(*futs)

    def _current(self, events: list[Any]) -> list[Any]:
        """Drop, without acking, events fetched before a rebalance began (or while one is running).

        An event handled while partitions are being revoked could publish and then fail to commit
        (the group is rebalancing), so the partition's next owner would count it a second time.
        Faust seeks back to the committed offsets after a rebalance, so a dropped event is read
        again by whichever worker owns its partition then. It is removed from the consumer's
        unacked set (not acked: its offset is not committed), or Faust's wait for in-flight
        events would hang on it, since Faust's own fetch loop still references the last message.
        """
        app = self.app
        if app.flow_control.is_active():
            generation = app.consumer_generation_id
            owned = app.consumer.assignment()
            # Also never handle an event of a partition this worker does not own now: a fetch that
            # completed across a rebalance can carry the new generation for a partition now elsewhere.
            current = [e for e in events if e.message.generation_id == generation and e.message.tp in owned]
        else:
            current = []
        if len(current) < len(events):
            keep = {id(e) for e in current}
            unacked = app.consumer.unacked
            for e in events:
                if id(e) not in keep:
                    unacked.discard(e.message)
            log.info("dropped %d events fetched before a rebalance; they are read again", len(events) - len(current))
        return current

    async def _resume_audit_chains(self, assigned: Any) -> None:
        """Own the audit partitions numbered like our input partitions, continuing each chain from
        the last record on the topic (the previous owner flushed its producer on revoke)."""
        parts = sorted(tp.partition for tp in assigned if tp.topic == self.settings.topic_input)
        async with self._audit_lock:
            for p in self.chain.partitions - set(parts):
                self.chain.release(p)
            tails = await asyncio.get_running_loop().run_in_executor(
                None, read_tails, self.settings, self.settings.topic_audit, parts
            )
            for p in parts:
                result = self.chain.resume(p, tails.get(p))
                if result in ("invalid_tail", "unchained_tail"):
                    log.error("audit partition %d resumed from an %s; see imon audit verify", p, result)

    async def _release_audit_chains(self, revoked: Any) -> None:
        async with self._audit_lock:
            for tp in revoked:
                if tp.topic == self.settings.topic_input:
                    self.chain.release(tp.partition)

    async def _export_lag(self) -> None:
        try:
            consumer = self.app.consumer
            for tp in consumer.assignment():
                if tp.topic != self.settings.topic_input:
                    continue
                hw = consumer.highwater(tp)
                committed = consumer._committed_offset.get(tp)  # type: ignore[attr-defined]  # no public accessor
                pos = committed if committed is not None else 0
                if hw is not None:
                    self.metrics.consumer_lag.labels(str(tp.partition)).set(max(0, hw - pos))
        except Exception:  # lag is best effort; never break the timer
            log.debug("lag export failed", exc_info=True)

    # -- the batch ---------------------------------------------------------------------------
    async def handle_batch(self, events: Sequence[Any]) -> None:
        """Process one batch and publish its outputs."""
        outs = await self.process_batch(events)
        t0 = time.perf_counter()
        await self.publish(outs)
        self.metrics.stages.labels("publish").observe(time.perf_counter() - t0)

    async def process_batch(self, events: Sequence[Any]) -> list[Output]:
        """Decode, redact, score and update state for ``events``; return every output to publish.
        Never raises for bad input: such events become dead-letter outputs."""
        s, proc = self.settings, self.processor
        stage = self.metrics.stages
        t0 = time.perf_counter()
        queued = stage.labels("queued")
        now = time.time()
        outs: list[Output] = []
        prepared: list[Prepared] = []
        sources: list[int] = []
        for e in events:
            msg = e.message
            if ts := getattr(msg, "timestamp", None):  # Faust gives the record timestamp in seconds
                queued.observe(max(0.0, now - ts))
            raw = bytes(e.value) if isinstance(e.value, bytes | bytearray) else None
            source = {"topic": msg.topic, "partition": msg.partition, "offset": msg.offset}
            try:
                ev = decode_event(raw, max_event_bytes=s.max_event_bytes, max_text_bytes=s.max_text_bytes,
                                  history_cut=s.quoted_history == "cut")
                prepared.append(proc.prepare(ev))
                sources.append(msg.partition)
            except InvalidEvent as invalid:
                outs.extend(_at(proc.reject(invalid, raw, source), msg.partition))
            except Exception as exc:  # never drop: dead-letter with the failure type
                log.exception("unexpected error decoding an event at %s", source)
                err = InvalidEvent("processing_error", type(exc).__name__)
                outs.extend(_at(proc.reject(err, raw, source), msg.partition))
        utts = proc.utterances(prepared)
        t1 = time.perf_counter()
        stage.labels("prepare").observe(t1 - t0)
        scores: list[UtteranceScore] = []
        if utts:
            scores = await self._score(utts, prepared, outs)
        t2 = time.perf_counter()
        stage.labels("score").observe(t2 - t1)
        if len(scores) == len(utts):
            for group, part in zip(proc.finish_each(prepared, scores), sources, strict=True):
                outs.extend(_at(group, part))
        stage.labels("finish").observe(time.perf_counter() - t2)
        return outs

    async def _score(
        self, utts: list[Any], prepared: list[Prepared], outs: list[Output]
    ) -> list[UtteranceScore]:
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            t0 = time.perf_counter()
            restarts = getattr(self.scorer, "restarts", 0)  # a scorer process (models/procscorer.py) restarts
            try:
                routed_before = getattr(self.scorer, "routed", None)
                try:
                    scores = await loop.run_in_executor(self.executor, self.scorer.score, utts)
                finally:
                    if started := getattr(self.scorer, "restarts", 0) - restarts:
                        self.metrics.scorer_restarts.inc(started)
                    for generation, seconds in getattr(self.scorer, "take_gc_pauses", list)():
                        self.metrics.gc_pauses.observe(generation, seconds)  # the scorer process's pauses stall the batch too
                self.metrics.inference.observe(time.perf_counter() - t0)
                if routed_before is not None:  # the cascade (models/cascade.py) counts what it routed
                    routed = int(self.scorer.routed) - int(routed_before)  # type: ignore[attr-defined]
                    self.metrics.cascade.labels("transformer").inc(routed)
                    self.metrics.cascade.labels("fast").inc(len(utts) - routed)
                self.metrics.batch_size.observe(len(utts))
                return scores
            except Exception as exc:
                log.exception("model failed on a batch of %d (attempt %d)", len(utts), attempt)
                last = exc
        # The model keeps failing on this batch: dead-letter its events rather than lose them.
        for p in prepared:
            err = InvalidEvent(
                "processing_error", f"model: {type(last).__name__}", p.event.event_id, p.event.interaction_id
            )
            outs.extend(self.processor.reject(err, None, {"event_id": p.event.event_id}))
        prepared.clear()
        return []

    async def publish(self, outs: Sequence[Output]) -> None:
        """Send every output and wait until Kafka acknowledged all of them.

        The records go to Faust's producer driver, not through ``Topic.send``: that wrapper (futures,
        serialiser lookups, sensors, a callback per record) cost ~5x the driver's CPU per record here
        (``scripts/publish_cost.py``), on the event loop the next batch waits for. Keys and values are
        bytes already, and the driver's futures resolve when Kafka acknowledged the record.
        """
        if not outs:
            return
        producer = await self.app.maybe_start_producer()
        names = self._topic_names
        futs = []
        # Audit records are sealed into their partition's hash chain in send order: hold the lock
        # from seal to enqueue so a timer's records cannot interleave with a batch's.
        async with self._audit_lock:
            for o in outs:
                key = o.key.encode() if o.key else None
                value = o.value
                partition = None
                if o.topic == "audit":
                    try:
                        partition = self.chain.choose_partition(key, self.audit_partitions, o.partition)
                        value = self.chain.seal(o.value, partition)
                    except ChainNotResumed:
                        log.error("no audit partition owned yet; audit record sent unchained")
                        partition, value = None, o.value
                futs.append(await producer.send(names[o.topic], key, orjson.dumps(value), partition=partition,
                                                timestamp=None, headers=None))
        if futs:
            try:
                await asyncio.gather(*futs)
            except Exception:
                # A failed send leaves a gap in the chain: forget the heads so the next batch
                # resumes from what is really on the topic, then let Faust retry/crash as usual.
                for p in list(self.chain.partitions):
                    self.chain.release(p)
                raise

    # -- running -----------------------------------------------------------------------------
    def run(self) -> None:
        s = self.settings
        create_topics(s)
        n_in = len(topic_partitions(s, s.topic_input))
        n_audit = len(topic_partitions(s, s.topic_audit))
        if n_in != n_audit:
            # One writer per audit partition keeps each hash chain linear: that needs the audit topic
            # numbered like the input topic (input partition p -> audit partition p).
            raise SystemExit(
                f"imon worker: the audit topic {s.topic_audit!r} has {n_audit} partitions but the input topic "
                f"has {n_in}; they must match (one audit chain per input partition)"
            )
        self.audit_partitions = n_audit
        server = serve(s.metrics_host, s.metrics_port, self.metrics.registry, self.health)
        port = server.server_port
        sd_file = self._register_sd(port)
        log.info("metrics on http://%s:%d/metrics", s.metrics_host, port)
        try:
            worker = faust.Worker(self.app, loglevel=s.log_level.lower(), quiet=True, redirect_stdouts=False)
            worker.execute_from_commandline()
        finally:
            if sd_file:
                sd_file.unlink(missing_ok=True)
            server.shutdown()
            self.executor.shutdown(wait=False)

    def _register_sd(self, port: int) -> Path | None:
        """Register /metrics with a file_sd Prometheus (the local stack) when configured."""
        d = self.settings.prometheus_sd_dir
        if d is None:
            return None
        d.mkdir(parents=True, exist_ok=True)
        f = d / f"{self.settings.app_id}-{os.getpid()}.json"
        tmp = f.with_suffix(".tmp")
        tmp.write_text(
            json.dumps([{"targets": [f"127.0.0.1:{port}"], "labels": {"instance_pid": str(os.getpid())}}])
        )
        tmp.replace(f)
        return f


def make_ethics_metrics(metrics: Metrics, ethics: Ethics) -> dict[str, Any]:
    """Register the fairness/drift/feedback metrics of the monitors that are on."""
    from streams.drift import create_drift_metrics
    from streams.fairness import create_fairness_metrics
    from streams.feedback import create_feedback_metrics

    out: dict[str, Any] = {}
    if ethics.fairness is not None:
        out["fairness"] = create_fairness_metrics(metrics.registry)
    if ethics.drift is not None:
        out["drift"] = create_drift_metrics(metrics.registry)
    if ethics.feedback is not None:
        ethics.feedback.metrics = out["feedback"] = create_feedback_metrics(metrics.registry)
    return out


def build_ethics(settings: Settings) -> Ethics:
    """Fairness, drift and feedback monitors from the settings (drift only with a reference file)."""
    from streams.drift import DEFAULT_REFERENCE_PATH, DriftMonitor, load_reference
    from streams.fairness import FairnessConfig, FairnessMonitor
    from streams.feedback import FeedbackTracker

    drift = None
    ref_path = settings.drift_reference_path or DEFAULT_REFERENCE_PATH
    try:
        drift = DriftMonitor(load_reference(ref_path), settings.drift_window_s, settings.drift_min_samples)
    except (OSError, ValueError) as e:
        log.warning("drift monitoring off: no usable reference at %s (%s)", ref_path, type(e).__name__)
    return Ethics(
        fairness=FairnessMonitor(FairnessConfig.from_settings(settings)), drift=drift, feedback=FeedbackTracker()
    )


def run_worker(settings: Settings) -> int:
    from models.scorer import load_scorer

    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    metrics = Metrics.create()
    metrics.gc_pauses.install()
    t0 = time.perf_counter()
    scorer: Scorer
    if settings.scorer_process:
        from models.procscorer import ProcessScorer

        child = ProcessScorer(settings)
        metrics.scorer_process.pid = lambda: child.pid  # a restarted child has a new pid
        scorer = child
    else:
        scorer = load_scorer(settings)
        scorer.warmup()
    metrics.model.info({"name": scorer.name, "version": scorer.version, "encoder": scorer.encoder})
    log.info("model %s %s loaded in %.1fs", scorer.name, scorer.version, time.perf_counter() - t0)
    log.info("garbage collector thresholds %s", apply_gc_threshold(settings.gc_threshold0))
    Worker(settings, scorer, Redactor(), metrics, build_ethics(settings)).run()
    return 0
