"""``imon score``: offline scoring of a JSONL file through the worker's own processing code.

Each input line is an event (at least ``{"text": ...}``); missing contract fields get defaults:
``event_id`` = ``line-N``, ``interaction_id`` = the event id (each line its own conversation
unless ids are given), ``type`` = utterance, ``speaker`` = customer, ``channel`` = chat, ``ts`` = now,
``consent.ai_analysis`` = true (running this command asserts a lawful basis for the analysis; an
explicit ``false`` is respected and the line is not scored). Each line is written back, in order,
with ``text`` replaced by the redacted text and ``scores``, ``labels``, ``evidence``,
``conversation``, ``alerts`` and ``quoted_history_chars`` (how much of the text was an email's quoted
history, which the model did not read) added; a line that breaks the contract gets ``error`` instead.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any

import orjson
from prometheus_client import CollectorRegistry

from models.base import Scorer
from streams.config import Settings
from streams.metrics import Metrics
from streams.processor import Output, Prepared, Processor
from streams.redaction import Redactor
from streams.schema import InvalidEvent, decode_event, rfc3339, utcnow


def _fill_defaults(obj: dict[str, Any], lineno: int, now: str) -> dict[str, Any]:
    ev = dict(obj)
    ev.setdefault("schema_version", 1)
    ev.setdefault("event_id", f"line-{lineno}")
    ev.setdefault("interaction_id", ev["event_id"] if isinstance(ev["event_id"], str) else f"line-{lineno}")
    ev.setdefault("type", "utterance")
    ev.setdefault("channel", "chat")
    if ev.get("type") == "utterance":
        ev.setdefault("speaker", "customer")
    ev.setdefault("ts", now)
    if "consent" not in ev:
        ev["consent"] = {"ai_analysis": True}
    return ev


class BatchScorer:
    """Scores events in order, in model batches, keeping conversation state across lines."""

    def __init__(self, settings: Settings, scorer: Scorer, redactor: Redactor | None = None) -> None:
        self.settings = settings
        self.metrics = Metrics.create(CollectorRegistry(), process=False)
        self.processor = Processor(settings, scorer, redactor or Redactor(), self.metrics, store={})
        self.scorer = scorer
        self.errors = 0

    def score_lines(self, lines: Iterable[bytes | str]) -> Iterator[dict[str, Any]]:
        chunk: list[tuple[int, bytes]] = []
        for n, line in enumerate(lines, start=1):
            raw = line.encode() if isinstance(line, str) else line
            if not raw.strip():
                continue
            chunk.append((n, raw))
            if len(chunk) >= self.settings.batch_max_size:
                yield from self._chunk(chunk)
                chunk = []
        if chunk:
            yield from self._chunk(chunk)

    def _chunk(self, chunk: list[tuple[int, bytes]]) -> Iterator[dict[str, Any]]:
        s = self.settings
        now = rfc3339(utcnow())
        results: list[dict[str, Any] | None] = []
        prepared: list[Prepared] = []
        slots: list[int] = []  # index into results for each prepared event
        for n, raw in chunk:
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError:
                self.errors += 1
                results.append(
                    {"line": n, "error": {"reason": "bad_json", "detail": "line is not valid JSON"}}
                )
                continue
            if not isinstance(obj, dict):
                self.errors += 1
                results.append(
                    {"line": n, "error": {"reason": "not_object", "detail": "line is not a JSON object"}}
                )
                continue
            ev_obj = _fill_defaults(obj, n, now)
            try:
                ev = decode_event(
                    orjson.dumps(ev_obj), max_event_bytes=s.max_event_bytes, max_text_bytes=s.max_text_bytes,
                    history_cut=s.quoted_history == "cut",
                )
            except InvalidEvent as err:
                self.errors += 1
                out = {k: v for k, v in obj.items() if k != "text"}
                out.setdefault("line", n)  # which input line, as for lines that are not JSON objects at all
                out["error"] = {"reason": err.reason, "detail": err.detail}
                results.append(out)
                continue
            slots.append(len(results))
            results.append(ev_obj)
            prepared.append(self.processor.prepare(ev))
        utts = self.processor.utterances(prepared)
        scores = self.scorer.score(utts) if utts else []
        groups = self.processor.finish_each(prepared, scores)
        for idx, p, group in zip(slots, prepared, groups, strict=True):
            results[idx] = self._merge(results[idx] or {}, p, group)
        for r in results:
            assert r is not None
            yield r

    def _merge(self, ev_obj: dict[str, Any], p: Prepared, group: list[Output]) -> dict[str, Any]:
        out = dict(ev_obj)
        scored = next((o.value for o in group if o.topic == "scored"), None)
        dlq = next((o.value for o in group if o.topic == "dlq"), None)
        if dlq is not None:
            self.errors += 1
            out.pop("text", None)
            out["error"] = {"reason": dlq["reason"], "detail": dlq["detail"]}
            return out
        if "text" in out:
            # Never write back the raw text: redacted when scored, dropped when not analysed.
            out["text"] = scored["text"] if scored else None
        if scored is not None:
            out["scores"] = scored["scores"]
            out["labels"] = scored["labels"]
            out["evidence"] = scored["evidence"]
            out["conversation"] = scored["conversation"]
            out["redactions"] = scored["redactions"]
            out["quoted_history_chars"] = scored["quoted_history_chars"]
            out["model"] = scored["model"]
        else:
            out["scored"] = False
            out["reason"] = "no_consent" if p.event.type == "utterance" else "not_an_utterance"
        out["alerts"] = [
            {
                k: a.value[k]
                for k in ("alert_id", "type", "severity", "score", "threshold", "rule", "evidence")
            }
            for a in group
            if a.topic == "alerts"
        ]
        return out


def run_score(
    settings: Settings, scorer: Scorer, inp: IO[bytes], out: IO[bytes], progress: bool = True
) -> int:
    """Score ``inp`` into ``out``; returns the number of lines that had an error."""
    from tqdm import tqdm

    bs = BatchScorer(settings, scorer)
    bar = tqdm(unit="line", desc="score", disable=not progress, file=sys.stderr)
    for rec in bs.score_lines(inp):
        out.write(orjson.dumps(rec) + b"\n")
        bar.update(1)
    bar.close()
    out.flush()
    return bs.errors
