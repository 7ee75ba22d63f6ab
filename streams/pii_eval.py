"""``imon pii-eval``: recall, precision and leaked characters of the redactor on a generated corpus.

Dev/eval only (the corpus generator imports Faker). Wired into the CLI as
``imon pii-eval --n 5000 --seed 1 [--json out.json]`` through :func:`add_arguments` and :func:`run`.

Definitions (span overlap, the privacy view: a gold span counts as caught when any redaction overlaps it,
whatever type the redaction got):

* ``recall[T]``: share of gold spans of type ``T`` overlapped by at least one redacted span.
* ``typed_recall[T]``: the same, but the overlapping span must also have type ``T``.
* ``leaked_chars[T]``: share of the non-space characters of gold ``T`` spans left in the output.
* ``precision[T]``: share of redacted spans of type ``T`` that overlap some gold span (of any type);
  the rest are false positives (an order number taken for a BSN...).

Rows ``T[variant]`` report the hard sub-cases the corpus marks (``BSN[bare]``: no context word;
``PERSON[no_cue]``: a name without a cue; ``EMAIL[spoken]``; ``PHONE[faker]``) apart from the main row.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from streams.pii_corpus import Sample, generate, typical_utterances
from streams.redaction import ENTITY_TYPES, RedactionConfig, Redactor, Span


@dataclass
class EvalResult:
    """Counts behind the figures; :meth:`table` and :meth:`as_dict` present them."""

    n_samples: int = 0
    gold: Counter[str] = field(default_factory=Counter)
    caught: Counter[str] = field(default_factory=Counter)
    caught_typed: Counter[str] = field(default_factory=Counter)
    gold_chars: Counter[str] = field(default_factory=Counter)
    leaked_chars: Counter[str] = field(default_factory=Counter)
    predicted: Counter[str] = field(default_factory=Counter)
    true_pred: Counter[str] = field(default_factory=Counter)
    negative_samples: int = 0
    negative_samples_touched: int = 0
    seconds: float = 0.0
    misses: list[dict[str, Any]] = field(default_factory=list)
    false_positives: list[dict[str, Any]] = field(default_factory=list)

    def recall(self, key: str) -> float:
        return self.caught[key] / self.gold[key] if self.gold[key] else float("nan")

    def typed_recall(self, key: str) -> float:
        return self.caught_typed[key] / self.gold[key] if self.gold[key] else float("nan")

    def leaked(self, key: str) -> float:
        return self.leaked_chars[key] / self.gold_chars[key] if self.gold_chars[key] else float("nan")

    def precision(self, label: str) -> float:
        return self.true_pred[label] / self.predicted[label] if self.predicted[label] else float("nan")

    def rows(self) -> list[str]:
        keys = set(self.gold) | set(self.predicted)
        order = {t: i for i, t in enumerate(ENTITY_TYPES)}
        return sorted(keys, key=lambda k: (order.get(k.split("[")[0], 99), k))

    def overall_leaked(self, main_only: bool = True) -> float:
        keys = [k for k in self.gold_chars if "[" not in k] if main_only else list(self.gold_chars)
        total = sum(self.gold_chars[k] for k in keys)
        return sum(self.leaked_chars[k] for k in keys) / total if total else float("nan")

    def as_dict(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return None if x != x else round(x, 4)

        return {
            "n_samples": self.n_samples,
            "seconds": round(self.seconds, 3),
            "utterances_per_s": round(self.n_samples / self.seconds, 1) if self.seconds else None,
            "leaked_chars_share": num(self.overall_leaked()),
            "negative_samples": self.negative_samples,
            "negative_samples_with_redaction": self.negative_samples_touched,
            "per_type": {
                k: {
                    "gold": self.gold[k],
                    "recall": num(self.recall(k)),
                    "typed_recall": num(self.typed_recall(k)),
                    "leaked_chars": num(self.leaked(k)),
                    "predicted": self.predicted[k],
                    "precision": num(self.precision(k)),
                }
                for k in self.rows()
            },
        }

    def table(self) -> str:
        def fmt(x: float) -> str:
            return "    -" if x != x else f"{x:.3f}"

        lines = [
            f"{'type':<20}{'gold':>7}{'recall':>9}{'typed':>9}{'leaked':>9}{'pred':>7}{'precision':>11}",
            "-" * 72,
        ]
        for k in self.rows():
            lines.append(
                f"{k:<20}{self.gold[k]:>7}{fmt(self.recall(k)):>9}{fmt(self.typed_recall(k)):>9}"
                f"{fmt(self.leaked(k)):>9}{self.predicted[k]:>7}{fmt(self.precision(k)):>11}"
            )
        lines.append("-" * 72)
        lines.append(
            f"samples {self.n_samples}, leaked gold characters {self.overall_leaked():.4f} (main rows), "
            f"negatives with any redaction {self.negative_samples_touched}/{self.negative_samples}"
        )
        return "\n".join(lines)


def _overlaps(a0: int, a1: int, b0: int, b1: int) -> bool:
    return a0 < b1 and b0 < a1


def score(samples: Iterable[Sample], redactor: Redactor, keep_examples: int = 0) -> EvalResult:
    """Redact every sample and compare with the gold spans."""
    res = EvalResult()
    t_total = 0.0
    for smp in samples:
        t0 = time.perf_counter()
        spans: list[Span] = redactor.find(smp.text, smp.language)
        t_total += time.perf_counter() - t0
        res.n_samples += 1
        covered = bytearray(len(smp.text))
        for sp in spans:
            covered[sp.start : sp.end] = b"\x01" * (sp.end - sp.start)
        for g in smp.entities:
            key = f"{g.label}[{g.variant}]" if g.variant else g.label
            res.gold[key] += 1
            hit = [sp for sp in spans if _overlaps(sp.start, sp.end, g.start, g.end)]
            if hit:
                res.caught[key] += 1
            elif len(res.misses) < keep_examples:
                res.misses.append({"type": key, "text": smp.text, "gold": smp.text[g.start : g.end]})
            if any(sp.label == g.label for sp in hit):
                res.caught_typed[key] += 1
            for i in range(g.start, g.end):
                if not smp.text[i].isspace():
                    res.gold_chars[key] += 1
                    if not covered[i]:
                        res.leaked_chars[key] += 1
        for sp in spans:
            res.predicted[sp.label] += 1
            if any(_overlaps(sp.start, sp.end, g.start, g.end) for g in smp.entities):
                res.true_pred[sp.label] += 1
            elif len(res.false_positives) < keep_examples:
                res.false_positives.append(
                    {"type": sp.label, "text": smp.text, "span": smp.text[sp.start : sp.end]}
                )
        if smp.kind == "negative":
            res.negative_samples += 1
            if spans:
                res.negative_samples_touched += 1
    res.seconds = t_total
    return res


def throughput(redactor: Redactor, texts: Sequence[str], repeat: int = 3) -> float:
    """Best-of-``repeat`` utterances per CPU-second of ``redactor.redact`` over ``texts``.

    CPU time of this (single-threaded) process, so the figure is per core and does not drop when other
    processes share the machine.
    """
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for t in texts:
            redactor.redact(t)
        best = min(best, time.process_time() - t0)
    return len(texts) / best if best > 0 else float("inf")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=5000, help="corpus size in utterances (default 5000)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (default 1)")
    parser.add_argument(
        "--json", dest="json_out", default=None, help="also write the figures to this JSON file"
    )
    parser.add_argument(
        "--negative-share", type=float, default=0.2, help="share of look-alike-only utterances (default 0.2)"
    )
    parser.add_argument(
        "--bsn-without-context",
        action="store_true",
        help="redact every 11-test-valid 9-digit number as a BSN (RedactionConfig.bsn_requires_context=False)",
    )
    parser.add_argument("--no-names", action="store_true", help="evaluate with name redaction off")
    parser.add_argument(
        "--first-names",
        default=None,
        metavar="FILE",
        help="first-name gazetteer, one name a line (RedactionConfig.first_names); default: none",
    )
    parser.add_argument(
        "--show-misses",
        type=int,
        default=0,
        metavar="K",
        help="print up to K missed gold spans and K false positives (synthetic data only; never real text)",
    )
    parser.add_argument(
        "--throughput", type=int, default=2000, help="utterances for the speed runs (0 = skip)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace, settings: object | None = None) -> int:
    """Generate the corpus, evaluate, print the table; 0 on success. ``settings`` is unused (no I/O)."""
    from tqdm import tqdm

    first_names: frozenset[str] = frozenset()
    if args.first_names:
        with open(args.first_names, encoding="utf-8") as fh:
            first_names = frozenset(line.strip() for line in fh if line.strip())
    config = RedactionConfig(
        bsn_requires_context=not args.bsn_without_context,
        redact_names=not args.no_names,
        first_names=first_names,
    )
    redactor = Redactor(config)
    samples = generate(args.n, args.seed, args.negative_share)
    bar = tqdm(samples, total=args.n, desc="pii-eval", unit="utt", disable=args.quiet, file=sys.stderr)
    res = score(bar, redactor, keep_examples=args.show_misses)
    print(res.table())
    out = res.as_dict()
    out["config"] = {
        "bsn_requires_context": config.bsn_requires_context,
        "redact_names": config.redact_names,
        "first_names": len(config.first_names),
    }
    out["seed"] = args.seed
    if args.throughput > 0:
        typical = typical_utterances(args.throughput, args.seed + 1)
        dense = [s.text for s in generate(args.throughput, args.seed + 2, 0.0)]
        out["throughput_typical_per_s"] = round(throughput(redactor, typical), 1)
        out["throughput_pii_dense_per_s"] = round(throughput(redactor, dense), 1)
        print(
            f"throughput (per CPU-second, one core, best of 3): typical utterances {out['throughput_typical_per_s']:,.0f}/s, "
            f"PII-dense utterances {out['throughput_pii_dense_per_s']:,.0f}/s"
        )
    if args.show_misses:
        for m in res.misses:
            print(f"MISS {m['type']:<16} {m['gold']!r:<40} in {m['text']!r}")
        for fp in res.false_positives:
            print(f"FP   {fp['type']:<16} {fp['span']!r:<40} in {fp['text']!r}")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=2, sort_keys=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pii-eval", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
