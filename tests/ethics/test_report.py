"""``imon report``: aggregates, fairness figures and the privacy promise of the HTML."""

from __future__ import annotations

import argparse
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import orjson
import pytest

from streams.config import Settings
from streams.report import add_arguments, build_report, render_html, run
from tests.ethics.report_data import CANARY, MODEL, scored_lines, write_jsonl

VOID = {"meta", "br", "hr", "img", "input", "link"}


class TagChecker(HTMLParser):
    """Every non-void element closed in order; no script, no external reference."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "iframe", "object", "embed", "link", "img"):
            self.problems.append(f"<{tag}> present")
        for k, v in attrs:
            if k == "xmlns":  # a namespace name, never fetched
                continue
            if k in ("src", "href") or k.startswith("on") or (v and re.match(r"\s*(https?:|//)", v)):
                self.problems.append(f"{tag}[{k}] = {v}")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


@pytest.fixture(scope="module")
def biased_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = write_jsonl(tmp_path_factory.mktemp("r") / "scored.jsonl", scored_lines())
    return render_html(build_report([path], settings=Settings()))


def test_the_report_is_self_contained_well_formed_html(biased_html: str) -> None:
    checker = TagChecker()
    checker.feed(biased_html)
    checker.close()
    assert checker.problems == [] and checker.stack == []
    assert "url(" not in biased_html and "@import" not in biased_html
    svgs = re.findall(r"<svg.*?</svg>", biased_html, flags=re.S)
    assert len(svgs) >= 10
    for svg in svgs:
        ET.fromstring(svg)  # each chart is well-formed XML


def test_the_report_never_shows_text_ids_or_free_labels(biased_html: str) -> None:
    for secret in (
        CANARY,
        "jan.jansen",
        "CANARY",
        "conv-",
        "utterance 1",
        "weird queue name",
        "unknown-band",
    ):
        assert secret not in biased_html, secret


def test_the_report_has_volumes_consent_alerts_model_and_redactions(biased_html: str) -> None:
    rows = scored_lines()
    scored = sum(1 for r in rows if "scores" in r)
    no_consent = sum(1 for r in rows if r.get("reason") == "no_consent")
    esc = sum(1 for r in rows for a in r["alerts"] if a["type"] == "escalation")
    emails = sum(r.get("redactions", {}).get("EMAIL", 0) for r in rows)
    assert f'<div class="num">{len(rows)}</div><div class="cap">events' in biased_html
    assert f'<div class="num">{scored}</div><div class="cap">utterances scored' in biased_html
    assert f'<div class="num">{no_consent}</div>' in biased_html
    assert f"<td>escalation</td><td>warning</td><td>{esc}</td>" in biased_html
    assert f"<td>EMAIL</td><td>{emails}</td>" in biased_html
    assert f"{MODEL['name']} {MODEL['version']}" in biased_html
    assert "Period: 2025-03-03 08:00" in biased_html


def test_the_biased_segment_is_flagged_with_its_ratio_and_interval(tmp_path: Path) -> None:
    data = build_report([write_jsonl(tmp_path / "scored.jsonl", scored_lines())])
    flagged = {(d.attribute, d.group, d.outcome) for d in data.disparities if d.flagged}
    assert flagged == {
        ("language", "nl", "escalation"),
        ("language", "nl", "unresolved"),
        ("language", "nl", "alert"),
    }
    html = render_html(data)
    assert html.count("DISPARITY</span>") == 3
    assert '<div class="card alarm"><div class="num">3</div>' in html
    assert re.search(r"ratio 0\.\d\d \[0\.\d\d–0\.\d\d\] <span class='badge'>DISPARITY", html)


def test_a_fair_input_of_the_same_size_flags_nothing(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "fair.jsonl", scored_lines(biased=False))
    data = build_report([path])
    assert [d for d in data.disparities if d.flagged] == []
    html = render_html(data)
    assert "DISPARITY</span>" not in html and '<div class="num">0</div><div class="cap">significant' in html


def test_topic_records_without_segments_and_a_separate_alerts_file(tmp_path: Path) -> None:
    rows = [r for r in scored_lines(60) if "scores" in r]
    topic_scored = [
        {k: v for k, v in r.items() if k not in ("segment", "consent")}
        | {"alerts": [a["alert_id"] for a in r["alerts"]]}
        for r in rows
    ]
    alerts = [
        {**a, "interaction_id": r["interaction_id"], "queue": "billing", "channel": "chat", "model": MODEL}
        for r in rows
        for a in r["alerts"]
    ]
    s = write_jsonl(tmp_path / "scored.jsonl", topic_scored + topic_scored[:5])  # redelivered records
    a = write_jsonl(tmp_path / "alerts.jsonl", alerts + alerts[:3])
    data = build_report([s, a])
    assert data.duplicates == 5
    assert sum(data.alerts.values()) == len(alerts) and data.alerts_untyped == 0
    html = render_html(data)
    assert "no consented segment attributes" in html  # only the channel can be compared
    assert CANARY not in html


def test_unreadable_lines_and_contract_errors_are_counted(tmp_path: Path) -> None:
    p = tmp_path / "mixed.jsonl"
    p.write_bytes(
        b"not json\n[1]\n\n"
        + orjson.dumps({"line": 3, "error": {"reason": "missing_field", "detail": "text is required"}})
        + b"\n"
        + orjson.dumps({"line": 4, "type": "utterance", "error": {"reason": f"free text {CANARY}"}})
        + b"\n"
    )
    data = build_report([p])
    assert data.bad_lines == 2 and data.errors == {"missing_field": 1, "other": 1}
    html = render_html(data)
    assert CANARY not in html and "missing_field: 1" in html


def test_the_cli_writes_the_file_and_refuses_missing_inputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write_jsonl(tmp_path / "scored.jsonl", scored_lines(200))
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    out = tmp_path / "out" / "report.html"
    args = parser.parse_args(
        ["--input", str(src), "--output", str(out), "--min-samples", "20", "--title", "Q1 <audit>"]
    )
    assert run(args, Settings()) == 0
    html = out.read_text()
    assert "<title>Q1 &lt;audit&gt;</title>" in html and "fewer than 20 observations" in html
    assert "scored utterances" in capsys.readouterr().err
    args = parser.parse_args(["--input", str(tmp_path / "nope.jsonl"), "--output", str(out)])
    assert run(args, Settings()) == 2
