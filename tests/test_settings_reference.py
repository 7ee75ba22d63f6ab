"""Every IMON_* setting is documented: a description in the code, a row in docs/CONFIGURATION.md, a line in
`imon settings`, with secrets masked."""

from __future__ import annotations

from pathlib import Path

from streams.cli import main, settings_markdown
from streams.config import Settings, settings_reference

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_says_what_it_does() -> None:
    rows = settings_reference()
    assert [r["env"] for r in rows] == ["IMON_" + n.upper() for n in Settings.model_fields]
    assert [r["env"] for r in rows if not r["description"].strip()] == []
    by = {r["env"]: r for r in rows}
    assert by["IMON_BATCH_MAX_SIZE"]["allowed"] == ">= 1, <= 4096" and by["IMON_BATCH_MAX_SIZE"]["default"] == "64"
    assert by["IMON_ENCODER_DTYPE"]["allowed"] == "auto | float32 | bfloat16"


def test_the_committed_reference_is_the_generated_one() -> None:
    committed = (ROOT / "docs" / "CONFIGURATION.md").read_text(encoding="utf-8")
    assert committed == settings_markdown(), "regenerate: imon settings --markdown > docs/CONFIGURATION.md"


def test_imon_settings_shows_values_here_and_masks_the_password(monkeypatch, capsys) -> None:
    monkeypatch.setenv("IMON_BATCH_MAX_SIZE", "100")
    monkeypatch.setenv("IMON_KAFKA_SASL_PASSWORD", "hunter2")
    assert main(["settings", "-v"]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out
    lines = out.splitlines()
    assert any(ln.split()[:2] == ["IMON_KAFKA_SASL_PASSWORD", "***"] for ln in lines)
    assert any(ln.split() == ["IMON_BATCH_MAX_SIZE", "100", "(default", "64)"] for ln in lines)
    assert any(ln.split()[:2] == ["IMON_BATCH_SMALL_SIZE", "32"] and "default" not in ln for ln in lines)
