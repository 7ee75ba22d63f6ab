"""The scorer in a process of its own (``IMON_SCORER_PROCESS``, models/procscorer.py): the same scores as
in-process, a dead child replaced, no child left behind by a killed worker, a load failure that says why."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from models.base import Utterance
from models.procscorer import ProcessScorer, ScorerProcessError
from models.scorer import load_scorer
from streams import proctree
from streams.config import Settings

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
TEXTS = [
    Utterance(text="I want to speak to a real person right now, this is the third time I call!"),
    Utterance(text="thanks, that fixed it!"),
    Utterance(text="Ik wil een medewerker spreken, geen chatbot.", language="nl"),
    Utterance(text="You people always treat customers like me as if we were stupid.", speaker="customer"),
    Utterance(text="Let me check that order for you.", speaker="agent"),
]


@pytest.fixture(scope="module")
def proc_scorer():
    ps = ProcessScorer(Settings(torch_threads=2))
    yield ps
    ps.close()


def _same(a, b) -> None:
    assert a.labels == b.labels and a.evidence == b.evidence
    for k in ("escalation", "human_requested", "unfair_treatment"):
        assert getattr(a, k) == pytest.approx(getattr(b, k), abs=1e-6)
    assert a.sentiment == pytest.approx(b.sentiment, abs=1e-6)


def test_scores_what_the_scorer_scores_in_process(proc_scorer) -> None:
    local = load_scorer(Settings(torch_threads=2))
    local.warmup()
    assert (proc_scorer.name, proc_scorer.version, proc_scorer.encoder) == (local.name, local.version, local.encoder)
    assert proc_scorer.thresholds == local.thresholds
    for a, b in zip(proc_scorer.score(TEXTS), local.score(TEXTS), strict=True):
        _same(a, b)
    assert proc_scorer.score([]) == []
    assert not hasattr(proc_scorer, "routed")  # the cascade is off, as on the scorer itself


def test_a_dead_scorer_process_is_replaced(proc_scorer) -> None:
    before = proc_scorer.score(TEXTS)
    pid, restarts = proc_scorer.pid, proc_scorer.restarts
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while proctree.running(pid) and time.monotonic() < deadline:  # the signal is delivered asynchronously
        time.sleep(0.05)
    try:  # found dead before the batch is sent, or (its threads still exiting) while it is: the worker retries
        after = proc_scorer.score(TEXTS)
    except ScorerProcessError as e:
        assert "died while scoring (exit code -9)" in str(e)
        after = proc_scorer.score(TEXTS)
    for a, b in zip(after, before, strict=True):
        _same(a, b)
    assert proc_scorer.restarts == restarts + 1 and proc_scorer.pid != pid


def test_a_hung_scorer_process_is_killed_and_replaced() -> None:
    ps = ProcessScorer(Settings(torch_threads=1), timeout=3)
    try:
        before = ps.score(TEXTS)
        pid = ps.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)  # hung: it never answers
        t0 = time.monotonic()
        with pytest.raises(ScorerProcessError, match="did not answer in 3s"):
            ps.score(TEXTS)
        assert time.monotonic() - t0 < 15 and not proctree.running(pid)
        for a, b in zip(ps.score(TEXTS), before, strict=True):  # the worker's retry, on a new process
            _same(a, b)
        assert ps.restarts == 1
    finally:
        ps.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_killed_worker_leaves_no_scorer_process_behind() -> None:
    code = ("import sys, time; from models.procscorer import ProcessScorer; from streams.config import Settings; "
            "ps = ProcessScorer(Settings(torch_threads=1)); print(ps.pid, flush=True); time.sleep(600)")
    parent = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE,
                              env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert proctree.running(child)
        parent.kill()  # kill -9: no atexit, no finally
        parent.wait()
        deadline = time.monotonic() + 15
        while proctree.running(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not proctree.running(child), f"scorer process {child} outlived its killed worker"
    finally:
        parent.kill()


def test_a_scorer_that_cannot_load_says_why(tmp_path) -> None:
    with pytest.raises(ScorerProcessError, match="could not load the model: FileNotFoundError: .*missing"):
        ProcessScorer(Settings(heads_path=tmp_path / "missing.npz"))


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(kv.decode(errors="replace").split("=", 1) for kv in raw if b"=" in kv)


def test_the_openmp_wait_policy_reaches_the_scorer_process(monkeypatch) -> None:
    """IMON_OMP_WAIT_POLICY is the child's OMP_WAIT_POLICY (OpenMP reads it once, when torch loads); one the
    worker's own environment sets wins; empty leaves the runtime's default."""
    from models.procscorer import _child_env

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert _child_env(Settings(omp_wait_policy="")) is None
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert _child_env(Settings(omp_wait_policy="passive")) is None
    monkeypatch.delenv("OMP_WAIT_POLICY")
    ps = ProcessScorer(Settings(omp_wait_policy="passive", torch_threads=2))
    try:
        assert ps.pid is not None and _environ(ps.pid).get("OMP_WAIT_POLICY") == "PASSIVE"
        assert len(ps.score(TEXTS)) == len(TEXTS)
    finally:
        ps.close()
