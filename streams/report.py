"""``imon report``: a self-contained HTML fairness and quality report for compliance readers.

Input: JSONL files of scored events (``imon score`` output, or records read from
``interactions.scored``) and, optionally, alert records (from the ``alerts`` topic). Output: one
HTML file with inline CSS and SVG charts, no scripts and no external assets, that prints well.

Only aggregates are written: counts, rates, ratios and intervals per consented segment, alert
type, model version and redaction entity. The report never reads ``text``, ``evidence`` or ids
into its output; segment groups, queues and channels are mapped onto allow-lists first, so a
producer's free text cannot reach the page through a label either.

Fairness figures use :mod:`streams.fairness` (same outcome definitions, policy and intervals as
the live monitor) over the whole input instead of a sliding window.
"""

from __future__ import annotations

import argparse
import html
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from streams.config import DEFAULT_QUEUES
from streams.fairness import (
    Disparity,
    FairnessConfig,
    assess,
    attributes_of,
    end_outcomes,
    references,
    utterance_outcomes,
)

EVENT_TYPES = ("utterance", "start", "end", "transfer")
CHANNELS = ("voice", "chat", "email", "social")
SPEAKERS = ("customer", "agent", "bot")
SENTIMENTS = ("negative", "neutral", "positive")
BINARY_TASKS = ("escalation", "human_requested", "unfair_treatment")
ALERT_TYPES = ("escalation", "human_requested", "unfair_treatment", "human_request_sla")
SEVERITIES = ("info", "warning", "critical")
ERROR_REASONS = (
    "oversized",
    "not_utf8",
    "bad_json",
    "not_object",
    "missing_field",
    "wrong_type",
    "invalid_value",
    "unsupported_schema_version",
    "text_too_long",
    "processing_error",
)
OUTCOME_TITLES = {
    "escalation": "Escalation",
    "negative_sentiment": "Negative sentiment",
    "unresolved": "Unresolved",
    "alert": "Alerted conversation",
}
_ENTITY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
_MAX_MODELS = 10
_MAX_ENTITIES = 30


def _bounded(value: Any, allowed: Iterable[str]) -> str:
    return value if isinstance(value, str) and value in allowed else "other"


def _parse_ts(v: Any) -> datetime | None:
    if not isinstance(v, str):
        return None
    try:
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo is not None else None


# -- aggregation ---------------------------------------------------------------------------------
@dataclass
class ReportData:
    """Aggregates of the input; nothing here holds text or ids beyond what dedup needs in memory."""

    config: FairnessConfig
    inputs: list[tuple[str, int]] = field(default_factory=list)  # (file name, lines)
    bad_lines: int = 0
    duplicates: int = 0
    events: Counter[str] = field(default_factory=Counter)  # by type
    channels: Counter[str] = field(default_factory=Counter)
    queues: Counter[str] = field(default_factory=Counter)
    utterances: Counter[str] = field(default_factory=Counter)  # scored / no_consent / error
    speakers: Counter[str] = field(default_factory=Counter)  # scored utterances by speaker
    errors: Counter[str] = field(default_factory=Counter)
    sentiment: Counter[str] = field(default_factory=Counter)  # customer utterances
    task_positive: Counter[str] = field(default_factory=Counter)  # customer utterances labelled positive
    unfair_by_speaker: Counter[str] = field(default_factory=Counter)
    alerts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (type, severity)
    alerts_untyped: int = 0
    models: Counter[tuple[str, str]] = field(default_factory=Counter)
    redactions: Counter[str] = field(default_factory=Counter)
    segments_seen: int = 0  # events with a non-empty consented segment
    first_ts: datetime | None = None
    last_ts: datetime | None = None
    fairness_counts: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    group_volumes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (attribute, group) scored utts
    # In-memory joins only (never rendered):
    _seen_events: set[str] = field(default_factory=set, repr=False)
    _seen_alerts: set[str] = field(default_factory=set, repr=False)
    _conv_alerts: dict[str, set[str]] = field(default_factory=dict, repr=False)
    _untyped_ids: set[str] = field(default_factory=set, repr=False)
    _ends: list[tuple[str | None, dict[str, str], str | None]] = field(default_factory=list, repr=False)

    @property
    def disparities(self) -> list[Disparity]:
        return assess({k: (v[0], v[1]) for k, v in self.fairness_counts.items()}, self.config)

    @property
    def references(self) -> dict[tuple[str, str], str]:
        return references({k: (v[0], v[1]) for k, v in self.fairness_counts.items()}, self.config)

    def _observe(self, attrs: Mapping[str, str], outcomes: Iterable[tuple[str, bool]]) -> None:
        groups = [
            (a, g) for a in self.config.attributes if (g := self.config.group_of(a, attrs.get(a))) is not None
        ]
        for outcome, adverse in outcomes:
            if outcome not in self.config.outcomes:
                continue
            for a, g in groups:
                c = self.fairness_counts.setdefault((a, g, outcome), [0, 0])
                c[0] += 1
                c[1] += int(adverse)


def _records(path: Path, data: ReportData) -> Iterator[dict[str, Any]]:
    n = 0
    with open(path, "rb") as f:
        for line in f:
            if not line.strip():
                continue
            n += 1
            try:
                rec = orjson.loads(line)
            except orjson.JSONDecodeError:
                data.bad_lines += 1
                continue
            if isinstance(rec, dict):
                yield rec
            else:
                data.bad_lines += 1
    data.inputs.append((path.name, n))


def _add_alert(data: ReportData, alert: Mapping[str, Any], iid: Any) -> None:
    aid = alert.get("alert_id")
    if isinstance(aid, str):
        if aid in data._seen_alerts:
            return
        data._seen_alerts.add(aid)
    typ = _bounded(alert.get("type"), ALERT_TYPES)
    data.alerts[(typ, _bounded(alert.get("severity"), SEVERITIES))] += 1
    if isinstance(iid, str):
        data._conv_alerts.setdefault(iid, set()).add(typ)


def _add_model(data: ReportData, model: Any) -> None:
    if isinstance(model, Mapping):
        key = (str(model.get("name", "?"))[:64], str(model.get("version", "?"))[:32])
        if key in data.models or len(data.models) < _MAX_MODELS:
            data.models[key] += 1


def _span(data: ReportData, ts: Any) -> None:
    dt = _parse_ts(ts)
    if dt is not None:
        data.first_ts = dt if data.first_ts is None else min(data.first_ts, dt)
        data.last_ts = dt if data.last_ts is None else max(data.last_ts, dt)


def add_record(data: ReportData, rec: Mapping[str, Any], settings: Any = None) -> None:
    """Fold one input line (scored event, unscored event, contract error or alert) into ``data``."""
    if "alert_id" in rec and "severity" in rec and "scores" not in rec:
        _add_alert(data, rec, rec.get("interaction_id"))
        _add_model(data, rec.get("model"))
        return
    eid = rec.get("event_id")
    if isinstance(eid, str):
        if eid in data._seen_events:
            data.duplicates += 1
            return
        data._seen_events.add(eid)
    etype = _bounded(rec.get("type", "utterance"), EVENT_TYPES)
    data.events[etype] += 1
    _span(data, rec.get("ts"))
    if "error" in rec:
        err = rec["error"] if isinstance(rec["error"], Mapping) else {}
        data.errors[_bounded(err.get("reason"), ERROR_REASONS)] += 1
        data.utterances["error"] += etype == "utterance"
        return
    data.channels[_bounded(rec.get("channel"), CHANNELS)] += 1
    q = rec.get("queue")
    data.queues[settings.queue_label(q) if settings is not None else _bounded(q, DEFAULT_QUEUES)] += 1
    if isinstance(rec.get("segment"), Mapping) and rec["segment"]:
        data.segments_seen += 1
    attrs = attributes_of(
        rec.get("segment") if isinstance(rec.get("segment"), Mapping) else None, rec.get("channel")
    )
    iid = rec.get("interaction_id")

    if etype == "end":
        outcome = rec.get("outcome") if isinstance(rec.get("outcome"), str) else None
        data._ends.append((iid if isinstance(iid, str) else None, attrs, outcome))
    scores = rec.get("scores")
    if etype == "utterance":
        if isinstance(scores, Mapping):
            data.utterances["scored"] += 1
            speaker = _bounded(rec.get("speaker", "customer"), SPEAKERS)
            data.speakers[speaker] += 1
            labels = rec.get("labels") if isinstance(rec.get("labels"), Mapping) else {}
            assert isinstance(labels, Mapping)
            if labels.get("unfair_treatment"):
                data.unfair_by_speaker[speaker] += 1
            if speaker == "customer":
                data.sentiment[_bounded(labels.get("sentiment"), SENTIMENTS)] += 1
                for t in BINARY_TASKS:
                    data.task_positive[t] += bool(labels.get(t))
                data._observe(attrs, utterance_outcomes(labels))
                for a in data.config.attributes:
                    g = data.config.group_of(a, attrs.get(a))
                    if g is not None:
                        data.group_volumes[(a, g)] += 1
            for ent, n in (rec.get("redactions") or {}).items():
                if isinstance(n, int) and n > 0:
                    key = ent if _ENTITY.match(str(ent)) else "other"
                    if key in data.redactions or len(data.redactions) < _MAX_ENTITIES:
                        data.redactions[key] += n
            _add_model(data, rec.get("model"))
        else:
            consent = rec.get("consent")
            no_consent = rec.get("reason") == "no_consent" or (
                isinstance(consent, Mapping) and consent.get("ai_analysis") is False
            )
            data.utterances["no_consent" if no_consent else "not_scored"] += 1
    for a in rec.get("alerts") or ():
        if isinstance(a, Mapping):
            _add_alert(data, a, iid)
        elif isinstance(a, str):
            data._untyped_ids.add(a)  # a scored topic record lists ids only; types come from alerts.jsonl


def build_report(
    paths: Iterable[str | Path], config: FairnessConfig | None = None, settings: Any = None
) -> ReportData:
    """Read every input file and aggregate it."""
    data = ReportData(config=config or FairnessConfig())
    for p in paths:
        for rec in _records(Path(p), data):
            add_record(data, rec, settings)
    # Conversation outcomes need every alert of the conversation, whichever file it came from.
    for iid, attrs, outcome in data._ends:
        data._observe(attrs, end_outcomes(outcome, data._conv_alerts.get(iid or "", ())))
    data.alerts_untyped = len(data._untyped_ids - data._seen_alerts)
    return data


# -- SVG -----------------------------------------------------------------------------------------
_BLUE, _RED, _GREY, _INK, _LIGHT = "#2b6cb0", "#c0392b", "#8a94a6", "#1f2933", "#e4e7eb"


def _e(s: Any) -> str:
    return html.escape(str(s), quote=True)


def bar_chart(
    rows: Sequence[tuple[str, float, str]], title: str, width: int = 520, vmax: float | None = None
) -> str:
    """Horizontal bars: (label, value, value text) as an inline SVG figure captioned ``title``, with a
    text alternative for screen readers."""
    label_w, bar_h, gap, top = 130, 18, 6, 8
    vmax = vmax if vmax is not None else max([r[1] for r in rows] + [1e-9])
    plot_w = width - label_w - 90
    h = top * 2 + len(rows) * (bar_h + gap)
    alt = "; ".join(f"{lab}: {txt}" for lab, _, txt in rows)
    out = [
        f'<svg class="chart" width="{width}" height="{h}" viewBox="0 0 {width} {h}" role="img" '
        f'aria-label="{_e(title)}: {_e(alt)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{_e(title)}</title>",
    ]
    for i, (lab, v, txt) in enumerate(rows):
        y = top + i * (bar_h + gap)
        w = 0 if vmax <= 0 else max(0.0, min(1.0, v / vmax)) * plot_w
        out.append(
            f'<text x="{label_w - 8}" y="{y + bar_h - 5}" text-anchor="end" class="lbl">{_e(lab)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{plot_w}" height="{bar_h}" fill="{_LIGHT}"/>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{_BLUE}"/>'
            f'<text x="{label_w + plot_w + 6}" y="{y + bar_h - 5}" class="val">{_e(txt)}</text>'
        )
    out.append("</svg>")
    return figure("".join(out), title)


def ratio_chart(
    groups: Sequence[str],
    panels: Sequence[tuple[str, str | None, Sequence[tuple[str, float, float, float, bool]]]],
    threshold: float,
    title: str,
) -> str:
    """Small multiples, one panel per outcome ``(name, reference group, rows)``: the impact ratio of
    each group with its interval, a line at 1 (parity with the reference) and a dashed line at the
    threshold. Flagged groups in red; the reference is marked ``ref``; ratios above 2 are clipped."""
    label_w, panel_w, row_h, top, pad = 90, 235, 22, 34, 14
    n_rows = max(len(groups), 1)
    width = label_w + len(panels) * (panel_w + pad)
    height = top + n_rows * row_h + 26
    vmax = 2.0
    alt: list[str] = []
    out = [
        f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="__ALT__" xmlns="http://www.w3.org/2000/svg"><title>{_e(title)}</title>'
    ]
    for i, g in enumerate(groups):
        out.append(
            f'<text x="{label_w - 8}" y="{top + i * row_h + 15}" text-anchor="end" class="lbl">{_e(g)}</text>'
        )
    for p, (name, ref, rows) in enumerate(panels):
        x0 = label_w + p * (panel_w + pad)

        def sx(v: float, x0: float = x0) -> float:
            return x0 + max(0.0, min(v, vmax)) / vmax * panel_w

        bottom = top + n_rows * row_h
        out.append(f'<text x="{x0}" y="14" class="ptitle">{_e(name)}</text>')
        out.append(
            f'<rect x="{x0}" y="{top - 6}" width="{panel_w}" height="{n_rows * row_h + 6}" fill="#f7f8fa"/>'
        )
        for v, dash, colour in ((1.0, "", _INK), (threshold, ' stroke-dasharray="4 3"', _RED)):
            out.append(
                f'<line x1="{sx(v):.1f}" x2="{sx(v):.1f}" y1="{top - 8}" y2="{bottom}" '
                f'stroke="{colour}" stroke-width="1"{dash}/>'
            )
        for tick in (0, 0.5, 1.0, 1.5, 2.0):
            out.append(
                f'<text x="{sx(tick):.1f}" y="{bottom + 14}" text-anchor="middle" class="tick">{tick:g}</text>'
            )
        by_group = {g: (r, lo, hi, fl) for g, r, lo, hi, fl in rows}
        for i, g in enumerate(groups):
            y = top + i * row_h
            if g == ref:
                out.append(f'<text x="{sx(1.0) + 4:.1f}" y="{y + 14}" class="tick">ref</text>')
                continue
            if g not in by_group:
                continue
            r, lo, hi, fl = by_group[g]
            colour = _RED if fl else _BLUE
            out.append(
                f'<rect x="{x0}" y="{y + 4}" width="{sx(r) - x0:.1f}" height="12" fill="{colour}" opacity="0.85"/>'
                f'<line x1="{sx(lo):.1f}" x2="{sx(hi):.1f}" y1="{y + 10}" y2="{y + 10}" stroke="{_INK}" '
                f'stroke-width="1.5"/><line x1="{sx(lo):.1f}" x2="{sx(lo):.1f}" y1="{y + 5}" y2="{y + 15}" '
                f'stroke="{_INK}"/>'
            )
            if hi > vmax:
                out.append(
                    f'<text x="{x0 + panel_w - 2}" y="{y + 14}" text-anchor="end" class="tick">&#9656;</text>'
                )
            else:
                out.append(
                    f'<line x1="{sx(hi):.1f}" x2="{sx(hi):.1f}" y1="{y + 5}" y2="{y + 15}" stroke="{_INK}"/>'
                )
            alt.append(
                f"{name}, {g}: ratio {_fmt_ratio(r)} [{_fmt_ratio(lo)}, {_fmt_ratio(hi)}]{' disparity' if fl else ''}"
            )
    out.append("</svg>")
    return "".join(out).replace("__ALT__", _e(f"{title}. " + "; ".join(alt)), 1)


def figure(svg: str, caption: str) -> str:
    return f"<figure><figcaption>{_e(caption)}</figcaption>{svg}</figure>"


# -- HTML ----------------------------------------------------------------------------------------
def _pct(k: float, n: float) -> str:
    return "–" if n <= 0 else f"{100 * k / n:.1f}%"


def _fmt_ratio(v: float) -> str:
    if math.isinf(v):
        return "∞"
    return f"{v:.2f}"


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>'


_CSS = """
*{box-sizing:border-box}
body{font:14px/1.45 -apple-system,"Segoe UI",Roboto,"DejaVu Sans",Arial,sans-serif;color:#1f2933;margin:0;background:#fff}
header{background:#1f3a5f;color:#fff;padding:22px 32px}
header h1{margin:0 0 4px;font-size:24px}
header p{margin:2px 0;color:#d6e2f0}
main{padding:8px 32px 40px;max-width:1200px}
h2{border-bottom:2px solid #1f3a5f;padding-bottom:4px;margin-top:30px}
h3{margin:18px 0 6px}
.cards{display:grid;grid-template-columns:repeat(5,1fr);gap:12px;margin:18px 0}
.card{border:1px solid #d9dee5;border-radius:6px;padding:10px 14px;background:#f7f8fa}
.card .num{font-size:24px;font-weight:700;color:#1f3a5f}
.card.alarm .num{color:#c0392b}
.card .cap{color:#52606d;font-size:12px}
table{border-collapse:collapse;margin:8px 0 14px;font-size:13px}
th,td{border:1px solid #d9dee5;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5}
td.flag{background:#fbe3e0}
.badge{display:inline-block;background:#c0392b;color:#fff;border-radius:3px;padding:0 5px;font-size:11px;font-weight:700}
.ref{color:#52606d;font-style:italic}
.muted{color:#7b8794}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.chart .lbl{font-size:12px;fill:#1f2933}
.chart .val,.chart .tick{font-size:11px;fill:#52606d}
.chart .ptitle{font-size:12px;font-weight:700;fill:#1f3a5f}
figure{margin:10px 0 14px}
figcaption{font-size:12px;font-weight:700;color:#1f3a5f;margin-bottom:4px}
.note{background:#fff8e1;border-left:4px solid #f0b429;padding:8px 12px}
footer{color:#7b8794;font-size:12px;padding:0 32px 30px}
@media print{header{-webkit-print-color-adjust:exact;print-color-adjust:exact}.cards{grid-template-columns:repeat(5,1fr)}}
"""


def _cell(d: Disparity | None, ref: bool, n: int, k: int, min_samples: int) -> tuple[str, bool]:
    rate = f"{_pct(k, n)} <span class='muted'>(n={n})</span>" if n else "<span class='muted'>–</span>"
    if ref:
        return f"{rate}<br><span class='ref'>reference</span>", False
    if d is None:
        why = f"n&lt;{min_samples}" if 0 < n < min_samples else "not compared"
        return f"{rate}<br><span class='muted'>{why}</span>", False
    txt = f"{rate}<br>ratio {_fmt_ratio(d.ratio)} [{_fmt_ratio(d.ci_low)}–{_fmt_ratio(d.ci_high)}]"
    if d.disadvantaged == d.group:
        return f"{txt} <span class='badge'>DISPARITY</span>", True
    if d.disadvantaged == d.reference:
        return f"{txt} <span class='badge'>REFERENCE WORSE</span>", True
    return txt, False


def render_html(
    data: ReportData, title: str = "Fairness and quality report", now: datetime | None = None
) -> str:
    cfg = data.config
    now = now or datetime.now(UTC)
    ds = data.disparities
    refs = data.references
    flagged = [d for d in ds if d.flagged]
    scored = data.utterances["scored"]
    utt_total = sum(data.utterances.values())
    alerts_total = sum(data.alerts.values()) + data.alerts_untyped
    period = (
        f"{data.first_ts.astimezone(UTC):%Y-%m-%d %H:%M} – {data.last_ts.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        if data.first_ts and data.last_ts
        else "unknown (no timestamps)"
    )
    models = ", ".join(f"{_e(n)} {_e(v)}" for (n, v), _ in data.models.most_common()) or "unknown"
    inputs = ", ".join(f"{_e(n)} ({k} lines)" for n, k in data.inputs)
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{_e(title)}</h1><p>Period: {period}</p><p>Model: {models}</p>"
        f"<p>Inputs: {inputs} · generated {now:%Y-%m-%d %H:%M} UTC by imon report</p></header><main>",
        '<div class="cards">',
        f'<div class="card"><div class="num">{sum(data.events.values())}</div><div class="cap">events</div></div>',
        f'<div class="card"><div class="num">{scored}</div><div class="cap">utterances scored</div></div>',
        f'<div class="card"><div class="num">{data.utterances["no_consent"]}</div>'
        f'<div class="cap">utterances without consent (not scored)</div></div>',
        f'<div class="card"><div class="num">{alerts_total}</div><div class="cap">alerts</div></div>',
        f'<div class="card{" alarm" if flagged else ""}"><div class="num">{len(flagged)}</div>'
        f'<div class="cap">significant disparities</div></div>',
        "</div>",
        "<p>This report holds aggregates only: counts, rates and ratios. It contains no utterance "
        "text, no identifiers and no personal data. Fairness figures compare consented customer "
        "segments; the method is described at the end.</p>",
    ]

    # Volumes
    parts.append("<h2>1. Volumes</h2><div class='grid'><div>")
    parts.append(
        _table(
            ["Event type", "Events"],
            [[t, str(data.events[t])] for t in (*EVENT_TYPES, "other") if data.events[t]]
            + [["<b>total</b>", f"<b>{sum(data.events.values())}</b>"]],
        )
    )
    if data.duplicates or data.bad_lines or data.errors:
        errs = ", ".join(f"{_e(r)}: {k}" for r, k in data.errors.most_common())
        parts.append(
            f"<p class='muted'>{data.duplicates} duplicate event(s) counted once; {data.bad_lines} unreadable "
            f"line(s); {sum(data.errors.values())} event(s) that broke the contract{': ' + errs if errs else ''}.</p>"
        )
    parts.append("</div><div>")
    parts.append(
        bar_chart(
            [(c, data.channels[c], str(data.channels[c])) for c in (*CHANNELS, "other") if data.channels[c]],
            "Events by channel",
        )
    )
    if data.queues:
        parts.append(
            bar_chart(
                [(q, k, str(k)) for q, k in data.queues.most_common(12)],
                "Events by queue (queues outside the configured list pooled as other)",
            )
        )
    parts.append("</div></div>")

    # Consent
    parts.append("<h2>2. Consent</h2>")
    parts.append(
        bar_chart(
            [
                (
                    "scored (consent)",
                    data.utterances["scored"],
                    f"{data.utterances['scored']} ({_pct(data.utterances['scored'], utt_total)})",
                ),
                (
                    "no consent",
                    data.utterances["no_consent"],
                    f"{data.utterances['no_consent']} ({_pct(data.utterances['no_consent'], utt_total)})",
                ),
                ("not scored, other", data.utterances["not_scored"], str(data.utterances["not_scored"])),
                ("contract error", data.utterances["error"], str(data.utterances["error"])),
            ],
            "Utterances by consent",
            width=620,
        )
    )
    parts.append(
        "<p>Utterances without consent for AI analysis are counted here and nowhere else: they are not "
        "scored and do not enter any rate below.</p>"
    )

    # Model outputs
    cust = sum(data.sentiment.values())
    parts.append("<h2>3. Model outputs</h2><div class='grid'><div>")
    parts.append(
        bar_chart(
            [(s, data.sentiment[s], f"{_pct(data.sentiment[s], cust)}") for s in SENTIMENTS],
            "Sentiment of customer utterances",
            vmax=max(cust, 1),
        )
    )
    parts.append("</div><div>")
    parts.append(
        bar_chart(
            [
                (t.replace("_", " "), data.task_positive[t], _pct(data.task_positive[t], cust))
                for t in BINARY_TASKS
            ],
            "Share of customer utterances labelled",
            vmax=max(cust, 1),
        )
    )
    parts.append("</div></div>")
    parts.append(
        _table(
            ["Speaker", "Scored utterances", "Labelled unfair treatment"],
            [
                [
                    s,
                    str(data.speakers[s]),
                    f"{data.unfair_by_speaker[s]} ({_pct(data.unfair_by_speaker[s], data.speakers[s])})",
                ]
                for s in (*SPEAKERS, "other")
                if data.speakers[s]
            ],
        )
    )

    # Fairness
    parts.append("<h2>4. Fairness by customer segment</h2>")
    if not data.segments_seen:
        parts.append(
            "<p class='note'>The input carries no consented segment attributes (<code>segment</code>): "
            "only the channel can be compared. Score with <code>imon score</code> from events that include "
            "their segment, or add it to the scored records.</p>"
        )
    by_key = {(d.attribute, d.group, d.outcome): d for d in ds}
    for attr in cfg.attributes:
        groups = sorted(
            {g for (a, g, _) in data.fairness_counts if a == attr}, key=lambda g: (g == "other", g)
        )
        if not groups:
            continue
        parts.append(f"<h3>{_e(attr.replace('_', ' ').capitalize())}</h3>")
        outcomes = [o for o in cfg.outcomes if any((attr, g, o) in data.fairness_counts for g in groups)]
        rows = []
        for g in groups:
            row = [f"<b>{_e(g)}</b>", str(data.group_volumes[(attr, g)])]
            cells_flag = []
            for o in outcomes:
                n, k = data.fairness_counts.get((attr, g, o), [0, 0])
                txt, fl = _cell(by_key.get((attr, g, o)), refs.get((attr, o)) == g, n, k, cfg.min_samples)
                row.append(txt)
                cells_flag.append(fl)
            rows.append((row, cells_flag))
        head = ["Group", "Scored customer utterances"] + [_e(OUTCOME_TITLES[o]) + " rate" for o in outcomes]
        th = "".join(f"<th>{h}</th>" for h in head)
        body = "".join(
            "<tr>"
            + "".join(f"<td>{c}</td>" for c in r[:2])
            + "".join(f"<td class='{'flag' if f else ''}'>{c}</td>" for c, f in zip(r[2:], fl, strict=True))
            + "</tr>"
            for r, fl in rows
        )
        parts.append(f"<table class='fair'><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>")
        panels = []
        for o in outcomes:
            prow = [
                (d.group, d.ratio, d.ci_low, d.ci_high, d.disadvantaged == d.group)
                for d in ds
                if d.attribute == attr and d.outcome == o
            ]
            if prow:
                ref = refs.get((attr, o))
                panels.append((f"{OUTCOME_TITLES[o]} (vs {ref})", ref, prow))
        if panels:
            caption = (
                f"Impact ratio by {attr.replace('_', ' ')} with its confidence interval; red = significant "
                f"disparity; dashed line = {cfg.ratio_threshold:g}"
            )
            parts.append(figure(ratio_chart(groups, panels, cfg.ratio_threshold, caption), caption))

    # Alerts
    parts.append("<h2>5. Alerts</h2>")
    if data.alerts or data.alerts_untyped:
        by_type: Counter[str] = Counter()
        for (t, _), k in data.alerts.items():
            by_type[t] += k
        rows_a = [
            (t.replace("_", " "), by_type[t], str(by_type[t])) for t in (*ALERT_TYPES, "other") if by_type[t]
        ]
        if data.alerts_untyped:
            rows_a.append(("type unknown", data.alerts_untyped, str(data.alerts_untyped)))
        parts.append(bar_chart(rows_a, "Alerts by type"))
        parts.append(
            _table(
                ["Type", "Severity", "Alerts"],
                [[_e(t), _e(s), str(k)] for (t, s), k in sorted(data.alerts.items())],
            )
        )
    else:
        parts.append("<p class='muted'>No alerts in the input.</p>")

    # Redaction
    parts.append("<h2>6. Redaction</h2>")
    if data.redactions:
        parts.append(
            _table(
                ["Personal data type", "Spans redacted before scoring"],
                [[_e(k), str(v)] for k, v in data.redactions.most_common()]
                + [["<b>total</b>", f"<b>{sum(data.redactions.values())}</b>"]],
            )
        )
    else:
        parts.append("<p class='muted'>No redaction counts in the input.</p>")

    # Method
    corr = (
        f"Bonferroni-corrected over the {cfg.comparisons} comparisons the configuration allows, so all "
        f"intervals hold together at {cfg.confidence:.0%}"
        if cfg.correction == "bonferroni"
        else f"{cfg.confidence:.0%} per comparison (no multiple-comparison correction)"
    )
    ratio_def = (
        "favourable-outcome rate of the group divided by that of the reference group (favourable = not adverse)"
        if cfg.policy == "favourable"
        else "adverse-outcome rate of the reference group divided by that of the group"
    )
    parts.append(
        "<h2>7. Method and limits</h2><ul>"
        "<li><b>Outcomes.</b> Escalation and negative sentiment: per scored customer utterance, from the "
        "model's labels. Unresolved: per conversation end event whose outcome is not <i>resolved</i>. "
        "Alerted conversation: per conversation end event, when the conversation raised an escalation, "
        "unfair-treatment or human-request SLA alert.</li>"
        f"<li><b>Impact ratio.</b> The {ratio_def}. Below {cfg.ratio_threshold:g} (the four-fifths rule) the "
        "group fares worse than the reference.</li>"
        f"<li><b>Significance.</b> Score (Koopman) confidence interval of the ratio, {corr}. A disparity is "
        f"reported only when the ratio is below {cfg.ratio_threshold:g} <i>and</i> the whole interval lies below 1 "
        "(or, mirrored, when the reference group is the one that fares worse).</li>"
        f"<li><b>Minimum sample.</b> Groups (and references) with fewer than {cfg.min_samples} observations "
        "are shown but not compared.</li>"
        "<li><b>Reference group.</b> "
        + (
            ", ".join(f"{_e(a)}: {_e(g)}" for a, g in cfg.reference.items()) + " (configured); otherwise "
            if cfg.reference
            else ""
        )
        + "the group with the most observations (never <i>other</i>).</li>"
        "<li><b>Groups.</b> Only consented segment attributes and the channel are used; values outside the "
        "configured list are pooled as <i>other</i>; events without an attribute are not counted for it.</li>"
        "<li><b>Limits.</b> Rates reflect the model's labels, not ground truth; a disparity says that outcomes "
        "differ, not why. Small groups have wide intervals. Conversations without an end event in the input "
        "do not enter the conversation outcomes.</li></ul>"
    )
    parts.append("</main><footer>interaction-monitor · imon report · aggregates only</footer></body></html>")
    return "\n".join(parts)


# -- CLI -----------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input",
        "-i",
        action="append",
        required=True,
        metavar="JSONL",
        help="scored events (imon score output or interactions.scored records); repeat for alerts.jsonl",
    )
    parser.add_argument("--output", "-o", required=True, help="HTML file to write")
    parser.add_argument("--title", default="Fairness and quality report", help="report title")
    parser.add_argument("--min-samples", type=int, help="fewest observations per compared group (default 30)")
    parser.add_argument(
        "--policy", choices=["favourable", "adverse"], help="impact ratio (default favourable)"
    )
    parser.add_argument(
        "--correction", choices=["bonferroni", "none"], help="interval correction (default bonferroni)"
    )


def run(args: argparse.Namespace, settings: Any) -> int:
    cfg = FairnessConfig.from_settings(settings)
    overrides = {
        k: v
        for k, v in (
            ("min_samples", args.min_samples),
            ("policy", args.policy),
            ("correction", args.correction),
        )
        if v is not None
    }
    if overrides:
        from dataclasses import replace

        cfg = replace(cfg, **overrides)
    missing = [p for p in args.input if not Path(p).is_file()]
    if missing:
        print(f"imon report: no such input file: {', '.join(missing)}", file=sys.stderr)
        return 2
    data = build_report(args.input, cfg, settings)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(render_html(data, args.title), encoding="utf-8")
    tmp.replace(out)
    flagged = sum(d.flagged for d in data.disparities)
    print(
        f"imon report: {sum(data.events.values())} events, {data.utterances['scored']} scored utterances, "
        f"{flagged} significant disparit{'y' if flagged == 1 else 'ies'} -> {out}",
        file=sys.stderr,
    )
    return 0
