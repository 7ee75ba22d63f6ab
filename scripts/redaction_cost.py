"""The redactor's speed now against its code at another git revision, on the same texts, interleaved.

    .venv/bin/python scripts/redaction_cost.py --base dd98f56 [--rounds 2]

Texts: 5,000 `typical_utterances()` (seed 3) and the 64 email threads of models/data/probes/email_threads.jsonl.
Prints texts per CPU-second of this process (best of 3 passes) for each round, base then now, and the cost of
cutting a thread's quoted history (streams/email_thread.py). Nothing else should run meanwhile.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _rate(fn: Any, texts: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        for _ in range(repeat):
            for t in texts:
                fn(t)
        best = min(best, time.process_time() - t0)
    return len(texts) * repeat / best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", required=True, help="git revision whose streams/redaction.py is the baseline")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    from streams import redaction as now
    from streams.email_thread import own_words
    from streams.pii_corpus import typical_utterances

    src = subprocess.run(["git", "show", f"{args.base}:streams/redaction.py"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "redaction_base.py"
        path.write_text(src)
        spec = importlib.util.spec_from_file_location("redaction_base", path)
        assert spec is not None and spec.loader is not None
        base = importlib.util.module_from_spec(spec)
        sys.modules["redaction_base"] = base
        spec.loader.exec_module(base)

    typical = typical_utterances(5000, 3)
    emails = [json.loads(x)["text"] for x in (ROOT / "models/data/probes/email_threads.jsonl").read_text().splitlines()]
    for r in range(1, args.rounds + 1):
        for name, mod in ((args.base, base), ("now", now)):
            red = mod.Redactor()
            print(f"round {r} {name:>10s}: typical {_rate(red.redact, typical, 1):>9,.0f}/s, "
                  f"email threads {_rate(red.redact, emails, 20):>6,.0f}/s")
    print(f"history cut: email threads {_rate(own_words, emails, 20):,.0f}/s, typical {_rate(own_words, typical, 1):,.0f}/s")


if __name__ == "__main__":
    main()
