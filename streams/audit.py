"""Tamper-evident audit trail: one hash chain per partition of the audit topic.

Every audit record the worker writes gets a ``chain`` field::

    {"partition": p, "seq": n, "prev": <hash of record n-1 on p>, "hash": <hash of this record>}

    hash = sha256( canonical_json(record without "chain") + prev ).hexdigest()

``canonical_json`` is the JSON Canonicalization Scheme (RFC 8785): keys sorted by UTF-16 code units,
no insignificant white space, numbers in their shortest ECMAScript form, UTF-8. Any third party can
re-check the chain with an RFC 8785 library in any language. The first record of a chain has
``seq`` 0 and ``prev`` = 64 zeros (:data:`GENESIS`).

Why per partition: Kafka orders records only within a partition, and only one worker owns an audit
partition at a time, so a partition has exactly one writer and one order to chain. The worker must
therefore send each audit record to an explicit partition (:func:`partition_for_key` gives the one
Kafka's default partitioner would pick) and :meth:`AuditChain.resume` each partition it is assigned
from the last record on the topic before sealing anything for it.

At-least-once replays re-emit audit records: they are sealed again as new links (the chain is over
what was written, not over distinct decisions), so replays verify. A producer retry that writes the
same sealed record twice in a row is recognised by :class:`ChainVerifier` as a duplicate, not a
break.

Nothing here touches Kafka; :mod:`streams.audit_cli` reads the topic.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import struct
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge

#: ``prev`` of the first record of a chain.
GENESIS = "0" * 64
#: Outcomes of :meth:`AuditChain.resume` (the ``result`` label of ``imon_audit_chain_resumes_total``).
RESUME_RESULTS = ("genesis", "continued", "unchained_tail", "invalid_tail")
#: Reasons a chain check fails; see :class:`ChainVerifier`.
BREAK_REASONS = (
    "altered",  # the record's content does not match its own hash
    "link",  # its prev is not the hash of the record before it (that one was replaced or re-hashed)
    "missing",  # sequence numbers skip: records were deleted or never written
    "reordered",  # sequence numbers go backwards / a missing record turns up later
    "forked",  # two different records claim the same sequence number
    "restarted",  # a new chain (seq 0, genesis prev) begins in the middle of the partition
    "unchained",  # a record without a valid chain field after chained ones
    "wrong_partition",  # the record says it belongs to another partition
)


# -- Kafka's default partitioner -----------------------------------------------------------------
_M = 0x5BD1E995
_SEED = 0x9747B28C
_MASK = 0xFFFFFFFF


def murmur2(data: bytes) -> int:
    """32-bit MurmurHash2 as Kafka's Java client computes it (``Utils.murmur2``), unsigned.

    Written from the algorithm (Austin Appleby's MurmurHash2 with Kafka's seed 0x9747b28c); the
    tests check it against kafka-python's and aiokafka's implementations and Kafka's own vectors.
    """
    n = len(data)
    h = (_SEED ^ n) & _MASK
    whole = n - n % 4
    for (k,) in struct.iter_unpack("<I", data[:whole]):
        k = (k * _M) & _MASK
        k ^= k >> 24
        k = (k * _M) & _MASK
        h = ((h * _M) & _MASK) ^ k
    tail = data[whole:]
    if tail:
        # The remaining 1-3 bytes, little end first, then one multiply (the switch fall-through).
        h ^= int.from_bytes(tail, "little")
        h = (h * _M) & _MASK
    h ^= h >> 13
    h = (h * _M) & _MASK
    h ^= h >> 15
    return h


def partition_for_key(key: bytes, n_partitions: int) -> int:
    """The partition Kafka's default partitioner (Java, kafka-python, aiokafka) picks for ``key``."""
    if n_partitions < 1:
        raise ValueError("n_partitions must be >= 1")
    return (murmur2(key) & 0x7FFFFFFF) % n_partitions


# -- canonical JSON (RFC 8785) -------------------------------------------------------------------
def _number(x: float) -> str:
    """ECMAScript Number::toString of a finite double (RFC 8785 section 3.2.2.3)."""
    if x == 0:
        return "0"  # -0 too
    r = repr(x)
    if "e" not in r and "n" not in r:  # plain decimal (not inf/nan): ECMAScript writes the same
        return r[:-2] if r.endswith(".0") else r
    return _number_exp(x)


def _number_exp(x: float) -> str:
    """The general case of :func:`_number`: from the shortest round-trip digits, ECMAScript's layout."""
    if not math.isfinite(x):
        raise ValueError("NaN and infinities have no canonical JSON form")
    if x == 0:
        return "0"
    if x < 0:
        return "-" + _number_exp(-x)
    # repr gives the shortest digits that round-trip, as ECMAScript requires.
    mant, _, exp = repr(x).partition("e")
    int_part, _, frac = mant.partition(".")
    digits = (int_part + frac).lstrip("0")
    e10 = (int(exp) if exp else 0) - len(frac)  # value = int(digits) * 10**e10
    stripped = digits.rstrip("0")
    e10 += len(digits) - len(stripped)
    s, k = stripped, len(stripped)
    n = e10 + k  # the decimal point sits after n digits of s
    if k <= n <= 21:
        return s + "0" * (n - k)
    if 0 < n <= 21:
        return s[:n] + "." + s[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + s
    e = n - 1
    sign = "+" if e >= 0 else "-"
    return (s if k == 1 else s[0] + "." + s[1:]) + "e" + sign + str(abs(e))


def _string(s: str) -> str:
    # Python's escaping with ensure_ascii=False is RFC 8785's: \" \\ \b \f \n \r \t, other controls
    # as lower-case \u00xx, everything else verbatim. Most strings need none of it.
    if s.isprintable() and '"' not in s and "\\" not in s:
        return '"' + s + '"'
    return json.dumps(s, ensure_ascii=False)


def _write(v: Any, out: list[str]) -> None:
    t = type(v)
    if t is str:
        out.append(_string(v))
    elif v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif t is float or isinstance(v, float):
        out.append(_number(v))
    elif isinstance(v, int):
        # JSON numbers are doubles in RFC 8785; integers beyond 2**53 take their double's form.
        out.append(str(v) if -(2**53) < v < 2**53 else _number(float(v)))
    elif isinstance(v, str):
        out.append(_string(v))
    elif isinstance(v, Mapping):
        keys = list(v)
        if not all(isinstance(k, str) for k in keys):
            raise TypeError("JSON object keys must be strings")
        # UTF-16 code-unit order; for keys without astral characters that is plain code-point order.
        if all(k.isascii() for k in keys):
            keys.sort()
        else:
            keys.sort(key=lambda k: k.encode("utf-16-be"))
        out.append("{")
        for i, key in enumerate(keys):
            if i:
                out.append(",")
            out.append(_string(key))
            out.append(":")
            _write(v[key], out)
        out.append("}")
    elif isinstance(v, list | tuple):
        out.append("[")
        for i, item in enumerate(v):
            if i:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise TypeError(f"{type(v).__name__} is not a JSON type")


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical UTF-8 JSON of a JSON-native value (dict, list, str, number, bool, None)."""
    out: list[str] = []
    _write(value, out)
    return "".join(out).encode("utf-8")


def record_hash(record: Mapping[str, Any], prev: str) -> str:
    """The chain hash of ``record`` (its ``chain`` field ignored) linked to ``prev``."""
    body = {k: v for k, v in record.items() if k != "chain"}
    return hashlib.sha256(canonical_json(body) + prev.encode("ascii")).hexdigest()


def as_written(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` as a reader will parse it after the worker's ``orjson.dumps``.

    Sealing this form guarantees that the hash is over what lands on the topic: orjson writes
    NaN/infinity as null, datetimes as RFC 3339 strings, tuples as lists.
    """
    out = orjson.loads(orjson.dumps(record))
    if not isinstance(out, dict):
        raise TypeError("an audit record must be a JSON object")
    return out


# -- metrics -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditMetrics:
    sealed: Counter
    head_seq: Gauge
    resumes: Counter


def create_audit_metrics(registry: CollectorRegistry) -> AuditMetrics:
    """Metrics of the audit chain. ``partition`` is bounded by the audit topic's partition count."""
    return AuditMetrics(
        sealed=Counter(
            "imon_audit_records_sealed_total",
            "Audit records sealed into the hash chain (replays included: they are new links).",
            registry=registry,
        ),
        head_seq=Gauge(
            "imon_audit_chain_seq",
            "Sequence number of the last audit record sealed on each audit partition this worker owns.",
            ["partition"],
            registry=registry,
        ),
        resumes=Counter(
            "imon_audit_chain_resumes_total",
            "Audit partitions taken over, by how the chain continued "
            "(genesis, continued, unchained_tail, invalid_tail).",
            ["result"],
            registry=registry,
        ),
    )


# -- sealing -------------------------------------------------------------------------------------
class ChainNotResumed(KeyError):
    """Sealing for an audit partition this chain has not resumed (not owned, or released)."""


@dataclass
class _Head:
    seq: int  # seq of the last record sealed/seen; -1 before the first record
    hash: str


def chain_of(record: Any) -> dict[str, Any] | None:
    """The record's ``chain`` field when it is well formed, else None."""
    if not isinstance(record, Mapping):
        return None
    c = record.get("chain")
    if not isinstance(c, Mapping):
        return None
    p, seq, prev, h = c.get("partition"), c.get("seq"), c.get("prev"), c.get("hash")
    ok = (
        isinstance(p, int)
        and not isinstance(p, bool)
        and isinstance(seq, int)
        and not isinstance(seq, bool)
        and seq >= 0
        and _is_hex64(prev)
        and _is_hex64(h)
    )
    return dict(c) if ok else None


def _is_hex64(v: Any) -> bool:
    return isinstance(v, str) and len(v) == 64 and all(ch in "0123456789abcdef" for ch in v)


class AuditChain:
    """Per-partition chain heads of the audit topic for one worker.

    Usage: on assignment, :meth:`resume` each audit partition from the last record on the topic;
    on revocation (or after a failed send), :meth:`release` it; :meth:`seal` each record right
    before sending it to that partition, in send order. Not thread-safe: use it on the event loop.
    """

    def __init__(self, metrics: AuditMetrics | None = None) -> None:
        self._heads: dict[int, _Head] = {}
        self.metrics = metrics

    @property
    def partitions(self) -> frozenset[int]:
        """Audit partitions this chain may seal for."""
        return frozenset(self._heads)

    def owns(self, partition: int) -> bool:
        return partition in self._heads

    def heads(self) -> dict[int, tuple[int, str]]:
        """partition -> (seq, hash) of the last record sealed. Log it now and then (a hash holds no
        personal data): an outside copy of the head is what makes cutting off the newest records
        detectable, which the chain alone cannot show."""
        return {p: (h.seq, h.hash) for p, h in sorted(self._heads.items()) if h.seq >= 0}

    def resume(self, partition: int, last_record: Mapping[str, Any] | None) -> str:
        """Continue ``partition``'s chain after ``last_record`` (the last record on it, parsed).

        Returns one of :data:`RESUME_RESULTS`: ``genesis`` (empty partition: a new chain),
        ``continued``, ``unchained_tail`` (the last record has no chain: a new chain starts, which
        the verifier will show as the start of the chain), ``invalid_tail`` (the last record's
        hash or partition does not check out: the chain continues from its stored hash so one
        bad record is one break; log it and investigate).
        """
        c = chain_of(last_record) if last_record is not None else None
        if last_record is None:
            head, result = _Head(-1, GENESIS), "genesis"
        elif c is None:
            head, result = _Head(-1, GENESIS), "unchained_tail"
        else:
            assert last_record is not None
            valid = c["partition"] == partition and record_hash(last_record, c["prev"]) == c["hash"]
            head, result = _Head(c["seq"], c["hash"]), ("continued" if valid else "invalid_tail")
        self._heads[partition] = head
        if self.metrics is not None:
            self.metrics.resumes.labels(result).inc()
            if head.seq >= 0:
                self.metrics.head_seq.labels(str(partition)).set(head.seq)
        return result

    def release(self, partition: int) -> None:
        """Stop sealing for ``partition`` (revoked, or a send failed: resume it from the topic)."""
        self._heads.pop(partition, None)
        if self.metrics is not None:
            with contextlib.suppress(KeyError):  # never sealed on it
                self.metrics.head_seq.remove(str(partition))

    def choose_partition(self, key: bytes | None, n_partitions: int, source: int | None = None) -> int:
        """The audit partition for a record, always one this chain owns.

        ``source`` (the input partition the record derives from) first, then the partition Kafka
        would give ``key``; a record whose key maps to a partition another worker owns (a producer
        that keyed the input differently) goes to this worker's lowest partition rather than fork
        another writer's chain. Raises :class:`ChainNotResumed` when no partition is owned.
        """
        if source is not None and source in self._heads:
            return source
        if key is not None:
            p = partition_for_key(key, n_partitions)
            if p in self._heads:
                return p
        if not self._heads:
            raise ChainNotResumed("no audit partition resumed")
        return min(self._heads)

    def seal(self, record: Mapping[str, Any], partition: int) -> dict[str, Any]:
        """Return ``record`` (as it will be written) with its ``chain`` link on ``partition``.

        Raises :class:`ChainNotResumed` when ``partition`` was not resumed. A ``chain`` field
        already on ``record`` (a replayed record) is replaced.
        """
        head = self._heads.get(partition)
        if head is None:
            raise ChainNotResumed(partition)
        body = as_written({k: v for k, v in record.items() if k != "chain"})
        seq = head.seq + 1
        h = record_hash(body, head.hash)
        body["chain"] = {"partition": partition, "seq": seq, "prev": head.hash, "hash": h}
        head.seq, head.hash = seq, h
        if self.metrics is not None:
            self.metrics.sealed.inc()
            self.metrics.head_seq.labels(str(partition)).set(seq)
        return body


# -- verification --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Break:
    """Where and why a chain check failed."""

    reason: str  # one of BREAK_REASONS
    offset: int | None  # Kafka offset of the record where it was found (None when not given)
    seq: int | None  # its chain seq (None for an unchained record)
    detail: str

    def describe(self) -> str:
        where = f"offset {self.offset}" if self.offset is not None else "record"
        seq = f" (seq {self.seq})" if self.seq is not None else ""
        return f"{self.reason} at {where}{seq}: {self.detail}"


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of checking a run of records from one partition."""

    ok: bool
    checked: int  # chained records checked (duplicates not counted)
    first_break: Break | None
    breaks: int  # number of breaks found
    duplicates: int  # adjacent identical records (producer retries), ignored
    unchained_prefix: int  # records without a chain before the first chained one (pre-chain history)
    first_seq: int | None
    last_seq: int | None
    from_genesis: bool  # the checked run starts at its chain's first record
    all_breaks: tuple[Break, ...] = ()  # the first MAX_REPORTED_BREAKS breaks, in order

    def summary(self) -> str:
        span = (
            f"seq {self.first_seq}..{self.last_seq}" if self.first_seq is not None else "no chained records"
        )
        head = "OK" if self.ok else f"BROKEN ({self.breaks} break(s))"
        extra = []
        if self.duplicates:
            extra.append(f"{self.duplicates} duplicate(s) from producer retries ignored")
        if self.unchained_prefix:
            extra.append(f"{self.unchained_prefix} record(s) before the chain began")
        if self.first_seq is not None and not self.from_genesis:
            extra.append("run starts mid-chain: its first link is trusted as the anchor")
        tail = f"; {'; '.join(extra)}" if extra else ""
        return f"{head}: {self.checked} record(s) checked, {span}{tail}"


MAX_REPORTED_BREAKS = 100
#: How many recent links the verifier keeps to check out-of-order records and fill gaps.
_RECENT = 4096
_MAX_GAPS = 64


class ChainVerifier:
    """Streaming check of one partition's records in offset order. Feed, then :meth:`result`.

    Each record is checked three ways: its own hash (content unchanged), its link (``prev`` equals
    the stored hash of the record with ``seq - 1``, whenever that one is known, even if it comes
    later), and its order (``seq`` is one more than the highest seen). A gap is reported as
    ``missing`` unless the missing records turn up later, then it is ``reordered``. The first
    record of the run is the anchor: its own link can only be checked if the run starts at the
    chain's genesis.
    """

    def __init__(self, partition: int | None = None, expect_genesis: bool = False) -> None:
        self.partition = partition
        #: The run starts at the partition's first offset ever (0): its first chained record must
        #: be the chain's genesis, else records at the start were removed.
        self.expect_genesis = expect_genesis
        self._breaks: list[Break] = []
        self._n_breaks = 0
        self._checked = 0
        self._dups = 0
        self._unchained_prefix = 0
        self._first_seq: int | None = None
        self._high: int | None = None  # highest seq seen
        self._from_genesis = False
        self._recent: OrderedDict[int, str] = OrderedDict()  # seq -> stored hash
        self._gaps: list[list[Any]] = []  # [lo, hi, break index] of seqs not seen yet
        self._claims: dict[int, tuple[str, int | None]] = {}  # seq -> (hash its successor links to, offset)

    def _add(self, reason: str, offset: int | None, seq: int | None, detail: str) -> int:
        self._n_breaks += 1
        if len(self._breaks) < MAX_REPORTED_BREAKS:
            self._breaks.append(Break(reason, offset, seq, detail))
            return len(self._breaks) - 1
        return -1

    def _remember(self, seq: int, h: str) -> None:
        self._recent[seq] = h
        self._recent.move_to_end(seq)
        while len(self._recent) > _RECENT:
            self._recent.popitem(last=False)

    def _fill_gap(self, seq: int) -> bool:
        for g in self._gaps:
            lo, hi, idx = g
            if lo <= seq <= hi:
                if 0 <= idx < len(self._breaks) and self._breaks[idx].reason == "missing":
                    b = self._breaks[idx]
                    self._breaks[idx] = Break(
                        "reordered", b.offset, b.seq, f"records {lo}..{hi} were written after seq {b.seq}"
                    )
                self._gaps.remove(g)
                if lo < seq:
                    self._gaps.append([lo, seq - 1, -1])
                if seq < hi:
                    self._gaps.append([seq + 1, hi, -1])
                return True
        return False

    def feed(self, record: Any, offset: int | None = None) -> None:
        """Check the next record (parsed JSON, or None/garbage for an unreadable one)."""
        c = chain_of(record)
        if c is None:
            if self._high is None:
                self._unchained_prefix += 1
            else:
                self._add("unchained", offset, None, "record has no valid chain field")
            return
        seq, prev, stored = c["seq"], c["prev"], c["hash"]

        # Adjacent exact duplicate: a producer retry wrote the same sealed record twice.
        if (
            self._high is not None
            and seq == self._high
            and self._recent.get(seq) == stored
            and record_hash(record, prev) == stored
        ):
            self._dups += 1
            return

        self._checked += 1
        if self.partition is not None and c["partition"] != self.partition:
            self._add(
                "wrong_partition",
                offset,
                seq,
                f"record claims partition {c['partition']}, read from {self.partition}",
            )
        if record_hash(record, prev) != stored:
            self._add(
                "altered", offset, seq, "content does not match its hash (record changed after sealing)"
            )

        if self._high is None:  # the anchor
            self._first_seq = seq
            self._from_genesis = seq == 0 and prev == GENESIS
            self._high = seq
            if self.expect_genesis and not self._from_genesis:
                self._add(
                    "missing",
                    offset,
                    seq,
                    f"the partition starts at seq {seq}, not at the chain's first record (seq 0)",
                )
        elif seq == 0 and prev == GENESIS:
            self._add(
                "restarted",
                offset,
                seq,
                f"a new chain starts after seq {self._high} (the writer did not continue from the last record)",
            )
            self._recent.clear()
            self._gaps.clear()
            self._claims.clear()
            self._high = 0
        elif seq == self._high + 1:
            self._high = seq
        elif seq > self._high + 1:
            lo, hi = self._high + 1, seq - 1
            idx = self._add(
                "missing", offset, seq, f"expected seq {lo}, found {seq}: {hi - lo + 1} record(s) absent"
            )
            self._gaps.append([lo, hi, idx])
            del self._gaps[:-_MAX_GAPS]
            self._high = seq
        elif not self._fill_gap(seq):
            known = self._recent.get(seq)
            if known is not None and known != stored:
                self._add("forked", offset, seq, f"a different record with seq {seq} was seen before")
            else:
                self._add("reordered", offset, seq, f"seq {seq} after seq {self._high}")

        # Link to the predecessor, now or when it turns up.
        pred = self._recent.get(seq - 1)
        if pred is not None:
            if prev != pred:
                self._add(
                    "link",
                    offset,
                    seq,
                    f"prev is not the hash of seq {seq - 1}: that record was replaced or re-hashed",
                )
        elif seq > 0:
            self._claims[seq - 1] = (prev, offset)
            if len(self._claims) > _RECENT:
                self._claims.pop(next(iter(self._claims)))
        claim = self._claims.pop(seq, None)
        if claim is not None and claim[0] != stored:
            self._add(
                "link",
                claim[1],
                seq + 1,
                f"prev is not the hash of seq {seq}: one of the two was replaced or re-hashed",
            )
        self._remember(seq, stored)

    def result(self) -> VerifyResult:
        return VerifyResult(
            ok=self._n_breaks == 0,
            checked=self._checked,
            first_break=self._breaks[0] if self._breaks else None,
            breaks=self._n_breaks,
            duplicates=self._dups,
            unchained_prefix=self._unchained_prefix,
            first_seq=self._first_seq,
            last_seq=self._high,
            from_genesis=self._from_genesis,
            all_breaks=tuple(self._breaks),
        )


def verify(
    records: Iterable[Any],
    offsets: Iterable[int] | None = None,
    partition: int | None = None,
    expect_genesis: bool = False,
) -> VerifyResult:
    """Check ``records`` (parsed, in offset order) from one partition; see :class:`ChainVerifier`."""
    v = ChainVerifier(partition, expect_genesis)
    if offsets is None:
        for r in records:
            v.feed(r)
    else:
        for r, off in zip(records, offsets, strict=True):
            v.feed(r, off)
    return v.result()


def parse_tail(value: bytes | None) -> dict[str, Any]:
    """Parse the last record read from an audit partition for :meth:`AuditChain.resume`.

    An unreadable record (not JSON, not an object, a null value) becomes ``{}``, which resumes as
    ``unchained_tail``; pass None to ``resume`` only when the partition holds no record at all.
    """
    if not value:
        return {}
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError:
        return {}
    return obj if isinstance(obj, dict) else {}
