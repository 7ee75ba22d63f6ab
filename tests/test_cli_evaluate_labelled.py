"""`imon evaluate --labelled` end to end with the shipped model: a site's own labelled turns are measured per file
and per language, with the same figures as the built-in sets; a task the file cannot support is named, not
silently dropped; a bad file stops before any model is loaded, naming its lines (exit status 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.cli import main

pytestmark = pytest.mark.slow

TURNS = [  # (text, language, sentiment, human_requested)
    ("I want to talk to a real person, not a bot", "en", "negative", True),
    ("Can I speak to a human agent please", "en", "neutral", True),
    ("Put me through to someone who can actually help", "en", "negative", True),
    ("Thank you so much, that fixed it!", "en", "positive", False),
    ("Great service today, really happy with it", "en", "positive", False),
    ("My order number is 12345, where is it?", "en", "neutral", False),
    ("What time do you open on Saturday?", "en", "neutral", False),
    ("This is the third time my internet dropped today, useless", "en", "negative", False),
    ("I have been waiting for two weeks and nobody answers", "en", "negative", False),
    ("Could you send me the invoice again?", "en", "neutral", False),
    ("Ik wil nu een medewerker spreken", "nl", "negative", True),
    ("Kan ik met een mens praten alstublieft", "nl", "neutral", True),
    ("Verbind me door met iemand die echt kan helpen", "nl", "negative", True),
    ("Dank je wel, het werkt weer!", "nl", "positive", False),
    ("Super geholpen, echt blij mee", "nl", "positive", False),
    ("Wanneer wordt mijn pakket bezorgd?", "nl", "neutral", False),
    ("Hoe laat zijn jullie zaterdag open?", "nl", "neutral", False),
    ("Al drie keer storing vandaag, waardeloos", "nl", "negative", False),
    ("Ik wacht al twee weken en niemand reageert", "nl", "negative", False),
    ("Kunt u de factuur nog een keer sturen?", "nl", "neutral", False),
]


def test_labelled_file_is_measured_per_file_and_language(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "site_sample.jsonl"
    rows = [{"text": t, "language": lang, "labels": {"sentiment": s, "human_requested": h}} for t, lang, s, h in TURNS]
    rows.append({"text": "The agent said people like me never pay on time", "unfair_treatment": True})
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "report.json"
    rc = main(["evaluate", "--labelled", str(f), "--report", str(out), "--build-dir", str(tmp_path / "cache")])
    assert rc == 0
    rep = json.loads(out.read_text())
    res = rep["results"]
    assert set(res) == {"site_sample", "site_sample [en]", "site_sample [nl]", "site_sample [und]"}
    assert res["site_sample"]["sentiment"]["n"] == 20 and res["site_sample [en]"]["sentiment"]["n"] == 10
    for name in ("site_sample", "site_sample [en]", "site_sample [nl]"):
        for task in ("sentiment", "human_requested"):
            r = res[name][task]
            assert sum(map(sum, r["confusion"])) == r["n"] and 0.0 <= r["macro_f1"] <= 1.0
            assert len(r["macro_f1_ci"]) == 2
    # plain requests for a person, in both languages: the shipped model finds most of them
    assert res["site_sample"]["human_requested"]["recall"] >= 0.5
    assert "unfair_treatment" in rep["not_reported"]["site_sample"]
    assert "needs >= 10 and both classes" in rep["not_reported"]["site_sample"]["unfair_treatment"]
    printed = capsys.readouterr().out
    assert "site_sample [nl]" in printed and "not reported: site_sample unfair_treatment" in printed
    assert "confusion matrices" in printed


def test_a_bad_labelled_file_is_a_usage_error_naming_its_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "bad.jsonl"
    f.write_text(json.dumps({"text": "ok", "sentiment": "neutral"}) + "\n" + json.dumps({"text": "x", "sentiment": "meh"})
                 + "\n")
    assert main(["evaluate", "--labelled", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"{f}:2: sentiment must be one of negative, neutral, positive" in err
    assert main(["evaluate", "--labelled", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl: No such file or directory" in capsys.readouterr().err
