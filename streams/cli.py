"""``imon``: the command line of interaction-monitor.

Settings come from ``IMON_*`` environment variables (see ``streams/config.py``); a few common ones
can be overridden by flags. Run ``imon COMMAND --help`` for each command.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError

from streams.config import BrokerUnavailable, Settings, load_settings

log = logging.getLogger("imon")

SCORE_DESCRIPTION = """\
Score a JSONL file offline, in order, through the worker's own code (redaction, model, conversation
state, alerts). Each line is an event, at least {"text": ...}; optional: event_id, interaction_id
(lines sharing one form a conversation), type, speaker, channel, ts, language, queue, consent, segment.
Defaults: speaker=customer, type=utterance, channel=chat, ts=now, consent.ai_analysis=true (running
this asserts a lawful basis; an explicit false is respected: not scored, text dropped).
Each line is written back with text = the REDACTED text and
  scores = {"sentiment": {"negative","neutral","positive"}, "escalation", "human_requested", "unfair_treatment"}
  labels = {"sentiment": "negative"|"neutral"|"positive", "escalation": bool, "human_requested": bool,
            "unfair_treatment": bool}
  evidence, conversation, alerts = [the alerts that fired].
A line that breaks the contract gets "error": {"reason", "detail"} and scoring goes on."""


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    return load_settings(
        kafka_bootstrap=getattr(args, "bootstrap", None),
        log_level=getattr(args, "log_level", None),
        **extra,
    )


def _number(kind: type, low: float, high: float | None = None, low_open: bool = False) -> Callable[[str], Any]:
    """An argparse type: ``kind`` (int or float) within [low, high] (``low_open``: above ``low``), else a clear error."""

    def parse(text: str) -> Any:
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if (v <= low if low_open else v < low) or (high is not None and v > high):
            span = f"{'above' if low_open else 'at least'} {low:g}" + (f" and at most {high:g}" if high is not None else "")
            raise argparse.ArgumentTypeError(f"{text} is out of range: must be {span}")
        return v

    return parse


def _offline_env() -> None:
    # The encoder is loaded from a local folder; never reach for a model hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


# -- commands ---------------------------------------------------------------------------------
def cmd_worker(args: argparse.Namespace) -> int:
    _offline_env()
    from streams.worker import run_worker

    extra: dict[str, Any] = {}
    if args.metrics_port is not None:
        extra["metrics_port"] = args.metrics_port
    if args.prometheus_sd_dir:
        extra["prometheus_sd_dir"] = args.prometheus_sd_dir
    return run_worker(_settings(args, **extra))


def cmd_topics(args: argparse.Namespace) -> int:
    from streams.kafka_io import BrokerUnavailable, admin, all_topics, create_topics

    s = _settings(args)
    try:
        if args.action == "create":
            made = create_topics(s, partitions=args.partitions)
            print(f"created: {', '.join(made) if made else 'none (all exist)'}")
        else:
            cli = admin(s)
            try:
                existing = set(cli.list_topics())
            finally:
                cli.close()
            for t in all_topics(s):
                print(f"{t:24s} {'present' if t in existing else 'MISSING'}")
    except BrokerUnavailable as e:
        print(f"imon: {e}", file=sys.stderr)
        return 2
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from streams.simulator import run_simulation

    if args.output:
        fh = sys.stdout.buffer if args.output == "-" else open(args.output, "wb")  # noqa: SIM115
        try:
            n = run_simulation(
                lambda k, v: fh.write(v + b"\n"),
                rate=args.rate if args.rate else 0,
                duration_s=args.duration,
                count=args.count if args.count is not None else (None if args.duration else 1000),
                seed=args.seed,
                bad_ratio=args.bad_ratio,
                progress=not args.quiet and args.output != "-",
            )
        finally:
            if fh is not sys.stdout.buffer:
                fh.close()
        print(f"wrote {n} events", file=sys.stderr)
        return 0

    from streams.kafka_io import BrokerUnavailable, create_topics, producer

    s = _settings(args)
    try:
        create_topics(s)
        prod = producer(s)
    except BrokerUnavailable as e:
        print(f"imon: {e}", file=sys.stderr)
        return 2
    try:
        n = run_simulation(
            lambda k, v: prod.send(args.topic or s.topic_input, key=k, value=v),
            rate=args.rate,
            duration_s=args.duration,
            count=args.count,
            seed=args.seed,
            bad_ratio=args.bad_ratio,
            progress=not args.quiet,
        )
    except KeyboardInterrupt:
        n = -1
    finally:
        prod.flush()
        prod.close()
    print(f"sent {n if n >= 0 else 'some'} events to {args.topic or s.topic_input}", file=sys.stderr)
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    _offline_env()
    from models.scorer import load_scorer
    from streams.batch import run_score

    s = _settings(args)
    # The input is opened before the model loads (seconds), so a wrong path fails at once; the output after it,
    # so a model that fails to load leaves no empty output file behind.
    inp = sys.stdin.buffer if args.input == "-" else open(args.input, "rb")  # noqa: SIM115
    try:
        scorer = load_scorer(s)
        out = sys.stdout.buffer if args.output == "-" else open(args.output, "wb")  # noqa: SIM115
    except BaseException:
        if inp is not sys.stdin.buffer:
            inp.close()
        raise
    try:
        errors = run_score(s, scorer, inp, out, progress=not args.quiet and args.output != "-")
    finally:
        if inp is not sys.stdin.buffer:
            inp.close()
        if out is not sys.stdout.buffer:
            out.close()
    if errors:
        print(
            f"imon score: {errors} line(s) broke the event contract; see their 'error' field", file=sys.stderr
        )
    return 1 if errors and args.strict else 0


def _delegate(
    module: str,
) -> tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]:
    """Commands implemented elsewhere expose ``add_arguments(parser)`` and ``run(args, settings)``."""

    def add(p: argparse.ArgumentParser) -> None:
        importlib.import_module(module).add_arguments(p)

    def run(args: argparse.Namespace) -> int:
        _offline_env()
        return int(importlib.import_module(module).run(args, _settings(args)))

    return add, run


# -- parser -----------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="imon",
        description="interaction-monitor: score live customer conversations on Kafka for sentiment, "
        "escalation, requests for a human and unfair treatment; redact PII; export metrics and alerts.",
        epilog="Settings come from IMON_* environment variables (streams/config.py). "
        "Local stack: `make stack-up`; demo: `make demo`.",
    )
    p.add_argument("--bootstrap", help="Kafka bootstrap servers (overrides IMON_KAFKA_BOOTSTRAP)")
    p.add_argument("--log-level", help="log level (overrides IMON_LOG_LEVEL), e.g. DEBUG, INFO, WARNING")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    w = sub.add_parser(
        "worker",
        help="run the stream worker (Faust)",
        description="Run one stream worker. "
        "Consumes IMON_TOPIC_INPUT and publishes scored, alerts, audit and DLQ records.",
    )
    w.add_argument("--metrics-port", type=int, help="port of /metrics, /healthz, /readyz (0 = any free port)")
    w.add_argument("--prometheus-sd-dir", help="register /metrics as a file_sd target in this folder")
    w.set_defaults(func=cmd_worker)

    t = sub.add_parser("topics", help="create or list the Kafka topics")
    t.add_argument("action", choices=["create", "list"])
    t.add_argument("--partitions", type=_number(int, 1), help="partitions for new topics (default IMON_TOPIC_PARTITIONS)")
    t.set_defaults(func=cmd_topics)

    sm = sub.add_parser(
        "simulate",
        help="produce realistic simulated conversations",
        description="Produce simulated contact-centre traffic (English and Dutch) with "
        "escalations, human requests, unfair treatment, no-consent and malformed events.",
    )
    sm.add_argument(
        "--rate", type=_number(float, 0), default=20.0, help="events per second (0 = as fast as possible); default 20"
    )
    sm.add_argument("--duration", type=_number(float, 0, low_open=True), help="stop after this many seconds")
    sm.add_argument("--count", type=_number(int, 1), help="stop after this many events")
    sm.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sm.add_argument("--bad-ratio", type=_number(float, 0, 1), default=0.02,
                    help="share of malformed events, 0 to 1 (default 0.02)")
    sm.add_argument("--topic", help="topic to produce to (default IMON_TOPIC_INPUT)")
    sm.add_argument("--output", help="write JSONL to this file ('-' = stdout) instead of Kafka")
    sm.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sm.set_defaults(func=cmd_simulate)

    sc = sub.add_parser(
        "score",
        help="score a JSONL file offline (same code as the worker)",
        description=SCORE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sc.add_argument("--input", "-i", required=True, help="input JSONL file, '-' for stdin")
    sc.add_argument("--output", "-o", required=True, help="output JSONL file, '-' for stdout")
    sc.add_argument("--strict", action="store_true", help="exit 1 when any line breaks the contract")
    sc.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    sc.set_defaults(func=cmd_score)

    for name, module, helptext in (
        ("train", "models.train", "train the model heads on ../shared/data and the project's own data"),
        ("evaluate", "models.evaluate", "evaluate the model: per-task metrics, calibration, bias audit"),
        ("pii-eval", "streams.pii_eval", "measure redaction recall/precision on a generated PII corpus"),
        ("audit", "streams.audit_cli", "verify the tamper-evident audit trail (hash chain per partition)"),
        ("report", "streams.report", "HTML fairness and quality report from scored JSONL"),
        ("bench", "streams.bench", "benchmark the pipeline on the real broker beside the raw model"),
    ):
        add, run = _delegate(module)
        sp = sub.add_parser(name, help=helptext, description=helptext)
        # A module missing from this build fails when the command is used, not for every command.
        with contextlib.suppress(ImportError):
            add(sp)
        sp.set_defaults(func=run)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=(args.log_level or os.environ.get("IMON_LOG_LEVEL", "INFO")).upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # kafka-python and aiokafka log every connection at INFO; keep operators' logs readable.
    for noisy in ("kafka", "aiokafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except BrokerUnavailable as e:
        print(f"imon {args.command}: {e}", file=sys.stderr)
        return 1
    except ValidationError as e:  # an IMON_* variable (or a flag standing in for one) out of its range
        print(f"imon {args.command}: invalid settings:", file=sys.stderr)
        for err in e.errors():
            name = "IMON_" + "_".join(str(x) for x in err["loc"]).upper()
            print(f"  {name}={err.get('input')!r}: {err['msg']}", file=sys.stderr)
        print("  (every setting, its default and range: streams/config.py, README \"Configuration\")", file=sys.stderr)
        return 2
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as e:
        if e.filename is None:
            raise
        print(f"imon {args.command}: {e.filename}: {e.strerror}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
