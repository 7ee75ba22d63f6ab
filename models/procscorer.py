"""The scorer in a process of its own (``IMON_SCORER_PROCESS``).

In the worker, :meth:`Scorer.score` runs in a thread beside the event loop. Its Python parts (tokeniser
glue, heads, n-gram channel, evidence) then share one interpreter lock with the event loop, which keeps
fetching and iterating the Kafka backlog while a batch is scored. :class:`ProcessScorer` loads the model in a
child process instead (a fresh interpreter, ``python -m models.procscorer``) and hands it each batch over a
socket pair: the child has its own interpreter lock, and the worker's heap no longer holds torch's and
transformers' objects for its garbage collector to walk.

The child dies with the worker (``PR_SET_PDEATHSIG`` on Linux, and end-of-file on its socket everywhere). If
it dies on its own (killed, out of memory) or takes longer than ``IMON_SCORER_TIMEOUT_S`` for a batch (then it
is killed), the batch in flight raises :class:`ScorerProcessError` and the next call starts a new child; the
worker retries a failed batch once and dead-letters it after that, as it does for any model failure. Only
redacted utterances and their scores cross the socket; nothing is logged of them.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from models.base import Scorer, Utterance, UtteranceScore

if TYPE_CHECKING:
    from streams.config import Settings

log = logging.getLogger(__name__)

#: Seconds the child may take to load and warm up the model before the worker gives up on it.
START_TIMEOUT_S = 600.0
_PR_SET_PDEATHSIG = 1


class ScorerProcessError(RuntimeError):
    """The scorer process failed to start, died, or failed on a batch (the message names the cause)."""


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when the thread that started it ends (a kill -9 of the worker
    included); then make sure the parent is not gone already. Elsewhere the closed pipe ends the child."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux
        pass
    if os.getppid() != parent_pid:
        os._exit(0)


def _child_env(settings: Settings) -> dict[str, str] | None:
    """The scorer process's environment: the worker's, with ``IMON_OMP_WAIT_POLICY`` as ``OMP_WAIT_POLICY`` (read by
    OpenMP when torch loads it, so it must be there at the child's start) unless the worker's environment has one."""
    policy = settings.omp_wait_policy
    if not policy or "OMP_WAIT_POLICY" in os.environ:
        return None  # inherit as it is
    return {**os.environ, "OMP_WAIT_POLICY": policy.upper()}


class _GcLog:
    """The child's garbage-collector pauses, (generation, seconds) each, handed to the worker with each
    batch's scores (it counts them in ``imon_gc_pause_seconds``: they stall the batch like its own)."""

    def __init__(self) -> None:
        self._t0 = 0.0
        self.pauses: list[tuple[int, float]] = []

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.pauses.append((int(info.get("generation", 2)), time.perf_counter() - self._t0))

    def take(self) -> list[tuple[int, float]]:
        out, self.pauses = self.pauses, []
        return out


def _serve(conn: Connection, parent_pid: int) -> None:
    """The child: read the settings, load the scorer, say so, then score batches until the pipe closes."""
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the worker, which closes the pipe
    try:
        settings = conn.recv()
    except (EOFError, OSError):
        return
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s[scorer] %(message)s")
    from models.scorer import load_scorer

    try:
        scorer = load_scorer(settings)
        scorer.warmup()
    except Exception as exc:  # reported to the worker, which raises it with this message
        conn.send(("error", type(exc).__name__, str(exc)))
        return
    from streams.gcpause import apply_threshold

    # The worker's garbage-collector policy (IMON_GC_THRESHOLD0) holds here too: this heap is the one with
    # torch's and transformers' ~500,000 objects, whose full collections stall scoring for ~0.2 s.
    apply_threshold(settings.gc_threshold0)
    gc_log = _GcLog()
    gc.callbacks.append(gc_log)
    conn.send(("ready", {
        "name": scorer.name, "version": scorer.version, "encoder": scorer.encoder,
        "thresholds": dict(scorer.thresholds), "cascade": hasattr(scorer, "routed"),
    }))
    while True:
        try:
            batch = conn.recv()
        except (EOFError, OSError):  # the worker is gone
            return
        routed = int(getattr(scorer, "routed", 0))
        try:
            out = scorer.score(batch)
        except Exception as exc:
            log.exception("model failed on a batch of %d", len(batch))
            conn.send(("error", type(exc).__name__, ""))
            continue
        conn.send(("ok", out, int(getattr(scorer, "routed", 0)) - routed, gc_log.take()))


class ProcessScorer(Scorer):
    """:class:`models.base.Scorer` whose model runs in a child process (module docstring).

    Linux ends a child when the thread that started it ends: the first one is started by the constructor (call it
    from the worker's main thread), a replacement by the thread that calls :meth:`score` (the worker's one
    scoring thread); both live as long as the worker.
    ``restarts`` counts the children started after the first. With the cascade on, ``routed`` counts the
    utterances the child sent to the transformer (:class:`models.cascade.CascadeScorer`); without it the
    attribute does not exist, as on the scorer itself.
    """

    def __init__(self, settings: Settings, start_timeout: float = START_TIMEOUT_S, timeout: float | None = None) -> None:
        """``timeout``: seconds a batch may take before the child is taken for hung, killed and the batch failed
        (default ``settings.scorer_timeout_s``)."""
        self._settings = settings
        self._start_timeout = start_timeout
        self._timeout = float(settings.scorer_timeout_s if timeout is None else timeout)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._routed = 0
        self._gc_pauses: list[tuple[int, float]] = []
        self.restarts = 0
        info = self._start()
        self.name, self.version, self.encoder = str(info["name"]), str(info["version"]), str(info["encoder"])
        self._thresholds: dict[str, float] = dict(info["thresholds"])
        self._cascade = bool(info["cascade"])

    @property
    def thresholds(self) -> dict[str, float]:
        return dict(self._thresholds)

    @property
    def routed(self) -> int:
        if not self._cascade:
            raise AttributeError("routed: the cascade is off")
        return self._routed

    @property
    def pid(self) -> int | None:
        """The child's process id (None when none is running)."""
        return self._proc.pid if self._proc is not None else None

    def _start(self) -> dict[str, Any]:
        # A fresh interpreter (not a fork: that would copy the worker's threads and Kafka sockets) that
        # imports only this module, talking pickled messages over a socket pair.
        t0 = time.perf_counter()
        mine, theirs = socket.socketpair()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "models.procscorer", str(theirs.fileno()), str(os.getpid())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=_child_env(self._settings),
            )
        finally:
            theirs.close()
        conn = Connection(mine.detach())
        try:
            conn.send(self._settings)
            if not conn.poll(self._start_timeout):
                raise ScorerProcessError(f"the scorer process did not load the model in {self._start_timeout:.0f}s")
            msg = conn.recv()
        except (EOFError, OSError):
            code = _wait(proc, 5)
            conn.close()
            raise ScorerProcessError(f"the scorer process exited with code {code} while loading the model") from None
        except BaseException:
            proc.kill()
            conn.close()
            raise
        if msg[0] != "ready":
            _wait(proc, 5)
            conn.close()
            raise ScorerProcessError(f"the scorer process could not load the model: {msg[1]}: {msg[2]}")
        self._proc, self._conn = proc, conn
        log.info("scorer process %d ready in %.1fs", proc.pid, time.perf_counter() - t0)
        return dict(msg[1])

    def _stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._proc is not None and _wait(self._proc, 5) is None:
            self._proc.kill()
            _wait(self._proc, 5)
        self._proc = self._conn = None

    def score(self, batch: Sequence[Utterance]) -> list[UtteranceScore]:
        if not batch:
            return []
        with self._lock:
            if self._proc is None or self._conn is None or self._proc.poll() is not None:
                code = self._proc.returncode if self._proc is not None else None
                self._stop()
                log.error("scorer process gone (exit code %s): starting a new one", code)
                self.restarts += 1
                self._start()  # raises ScorerProcessError if it cannot; the worker retries, then dead-letters
            proc, conn = self._proc, self._conn
            assert proc is not None and conn is not None
            try:
                conn.send(list(batch))
                if not conn.poll(self._timeout):  # hung: a stuck batch must not hold the partitions forever
                    proc.kill()
                    self._stop()
                    raise ScorerProcessError(f"the scorer process did not answer in {self._timeout:.0f}s; killed it")
                msg = conn.recv()
            except (EOFError, OSError) as exc:
                code = _wait(proc, 1)
                self._stop()
                raise ScorerProcessError(f"the scorer process died while scoring (exit code {code})") from exc
            if msg[0] != "ok":
                raise ScorerProcessError(f"the model failed in the scorer process: {msg[1]}")
            self._routed += int(msg[2])
            self._gc_pauses.extend(msg[3])
        return list(msg[1])

    def take_gc_pauses(self) -> list[tuple[int, float]]:
        """The child's garbage-collector pauses, (generation, seconds), since the last call."""
        with self._lock:
            out, self._gc_pauses = self._gc_pauses, []
        return out

    def warmup(self) -> None:
        """The child warmed the model up before it said it was ready."""

    def close(self) -> None:
        """Stop the child (it also stops on its own when the worker exits)."""
        with self._lock:
            self._stop()


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> int | None:
    """The process's exit code once it has exited, waiting up to ``timeout`` s; None if it still runs."""
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


if __name__ == "__main__":  # the child: python -m models.procscorer FD PARENT_PID
    _serve(Connection(int(sys.argv[1])), int(sys.argv[2]))
