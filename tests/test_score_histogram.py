"""``imon_score`` as the worker serves it (streams.metrics.ScoreHistogram, rule 31): the same samples a
prometheus_client Histogram gives for the same observations, in the text Prometheus parses, at a fraction of the
formatting work (not timed here: scripts/metrics_cost.py measures it)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, disable_created_metrics, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from streams.metrics import SCORE_BUCKETS, Metrics, ScoreHistogram, exposition


def samples(text: bytes) -> list[tuple[str, tuple[tuple[str, str], ...], float]]:
    return sorted((s.name, tuple(sorted(s.labels.items())), round(s.value, 9))
                  for fam in text_string_to_metric_families(text.decode()) for s in fam.samples)


label = st.sampled_from(["billing", 'say "hi"', "back\\slash", "new\nline", "ünï"])
obs = st.lists(st.tuples(st.sampled_from(["escalation", "human_requested"]), label,
                         st.one_of(st.floats(0, 1), st.sampled_from([0.0, 0.1, 0.5, 0.30000000000000004, 1.0]))),
               max_size=60)


@settings(max_examples=60, deadline=None)
@given(obs)
def test_its_exposition_parses_to_what_a_prometheus_client_histogram_gives(seen: list[Any]) -> None:
    disable_created_metrics()  # as Metrics.create does for the worker
    ours, ref = CollectorRegistry(), CollectorRegistry()
    h = ScoreHistogram("imon_score", "Model score.", ["task", "queue"], SCORE_BUCKETS, ours)
    r = Histogram("imon_score", "Model score.", ["task", "queue"], buckets=SCORE_BUCKETS, registry=ref)
    for task, queue, v in seen:
        h.labels(task, queue).observe(v)
        r.labels(task, queue).observe(v)
    want = samples(generate_latest(ref))
    assert samples(exposition(ours)) == want  # what /metrics serves
    assert samples(generate_latest(ours)) == want  # and what any reader of the registry sees
    for task, queue, _ in seen:
        key = {"task": task, "queue": queue}
        assert ours.get_sample_value("imon_score_count", key) == ref.get_sample_value("imon_score_count", key)


def test_the_workers_metrics_keep_every_other_family_and_put_the_scores_in_once() -> None:
    m = Metrics.create(CollectorRegistry())
    m.scores.labels("escalation", "billing", "chat", "customer").observe(0.7)
    m.events.labels("scored", "billing", "chat").inc()
    text = exposition(m.registry)
    names = [f.name for f in text_string_to_metric_families(text.decode())]
    assert names.count("imon_score") == 1 and len(names) == len(set(names))
    assert set(names) == {f.name for f in text_string_to_metric_families(generate_latest(m.registry).decode())}
    assert m.registry.get_sample_value(
        "imon_score_bucket", {"task": "escalation", "queue": "billing", "channel": "chat", "speaker": "customer",
                              "le": "0.7"}) == 1.0
    assert not any(ln.endswith(b"_created") or b"_created{" in ln for ln in text.splitlines())


def test_a_label_set_of_the_wrong_length_is_refused() -> None:
    h = ScoreHistogram("imon_score", "Model score.", ["task", "queue"], SCORE_BUCKETS, CollectorRegistry())
    try:
        h.labels("escalation")
    except ValueError as err:
        assert "takes labels" in str(err)
    else:
        raise AssertionError("a short label set was accepted")
