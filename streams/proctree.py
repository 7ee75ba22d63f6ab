"""A process and its descendants, read from /proc (Linux): the worker's CPU and memory include its scorer
process (``IMON_SCORER_PROCESS``). Elsewhere every function answers for nothing (an empty tree)."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

#: Clock ticks per second of /proc CPU times.
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_named(pid: int) -> tuple[str, list[str]]:
    """The command name in /proc/PID/stat and the fields after it (state first); raises OSError when gone."""
    head, tail = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)
    return head.split("(", 1)[1], tail.split()


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state first); raises OSError when gone."""
    return _stat_named(pid)[1]


def tree(pid: int) -> list[int]:
    """``pid`` and every live descendant of it ([] when ``pid`` is gone or /proc is missing)."""
    if not Path(f"/proc/{pid}").exists():
        return []
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                children.setdefault(int(_stat(int(d.name))[1]), []).append(int(d.name))
            except (OSError, ValueError, IndexError):  # gone meanwhile
                continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def running(pid: int) -> bool:
    """Whether ``pid`` exists and has not exited (a zombie, exited but not yet reaped, has)."""
    try:
        return _stat(pid)[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False


def _cpu_of(st: list[str]) -> float:
    return (int(st[11]) + int(st[12])) / TICK  # utime, stime


def _cpu(p: int) -> float:
    return _cpu_of(_stat(p))


def _rss(p: int) -> int | None:
    for line in Path(f"/proc/{p}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


def cpu_seconds(pid: int, descendants: bool = True) -> float:
    """CPU seconds (user + system) used so far by ``pid`` (and its live descendants)."""
    total = 0.0
    for p in tree(pid) if descendants else [pid]:
        try:
            total += _cpu(p)
        except (OSError, ValueError, IndexError):  # gone meanwhile
            continue
    return total


def rss_bytes(pid: int, descendants: bool = True) -> int | None:
    """Resident memory of ``pid`` (and its live descendants), in bytes (None when ``pid`` is gone)."""
    sizes = []
    for p in tree(pid) if descendants else [pid]:
        try:
            sizes.append(_rss(p))
        except (OSError, ValueError):
            continue
    known = [b for b in sizes if b is not None]
    return sum(known) if known else None


def machine_ticks() -> dict[str, float]:
    """CPU seconds the machine spent so far, summed over its cores, from /proc/stat: ``busy`` (user, nice,
    system, irq, softirq), ``steal`` (taken by the hypervisor) and ``iowait``; {} where /proc/stat is missing."""
    try:
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return {}
    user, nice, system, _idle, iowait, irq, softirq, steal = f
    return {"busy": (user + nice + system + irq + softirq) / TICK, "steal": steal / TICK, "iowait": iowait / TICK}


def processes() -> dict[int, tuple[int, str, float]]:
    """Every live process: pid -> (parent pid, command name, CPU seconds used so far, all its threads)."""
    out: dict[int, tuple[int, str, float]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            comm, st = _stat_named(int(d.name))
            out[int(d.name)] = (int(st[1]), comm, _cpu_of(st))
        except (OSError, ValueError, IndexError):  # gone meanwhile
            continue
    return out


#: Command names of the local stack's processes, as CPU accounts (the bench's timeline, the soak) name them.
STACK_PARTIES = {"java": "broker", "prometheus": "prometheus", "alertmanager": "alertmanager"}


def parties(
    procs: dict[int, tuple[int, str, float]], workers: Sequence[int], me: int, me_as: str = "bench"
) -> dict[str, float]:
    """CPU seconds used so far per party, from :func:`processes`: ``me`` (the measuring process, named
    ``me_as``: the bench or the soak), the workers, their scorer processes (any descendant of a worker), the
    broker's JVM (every ``java`` process: the local stack runs no other), Prometheus, Alertmanager and the rest
    (kernel threads, shells, everything else)."""
    out = dict.fromkeys((me_as, "worker", "scorer", "broker", "prometheus", "alertmanager", "rest"), 0.0)
    wset = set(workers)
    for pid, (ppid, comm, cpu) in procs.items():
        if pid == me:
            party = me_as
        elif pid in wset:
            party = "worker"
        else:
            party = STACK_PARTIES.get(comm, "rest")
            seen, p = 0, ppid
            while p and p in procs and seen < 64:  # a descendant of a worker: its scorer process
                if p in wset:
                    party = "scorer"
                    break
                p, seen = procs[p][0], seen + 1
        out[party] += cpu
    return out


def cpu_snapshot(workers: Sequence[int], me: int, me_as: str = "bench") -> tuple[float, dict[str, float]]:
    """Now (monotonic seconds) and the CPU seconds used so far per :func:`parties` party and by the whole machine
    (:func:`machine_ticks`): two of these give the cores each used between them (:func:`cores_between`)."""
    return time.monotonic(), parties(processes(), workers, me, me_as) | machine_ticks()


def cores_between(a: tuple[float, dict[str, float]], b: tuple[float, dict[str, float]]) -> dict[str, float]:
    """Cores each party (and the machine's busy, steal, iowait) used on average between two :func:`cpu_snapshot` s."""
    wall = b[0] - a[0]
    if wall <= 0:
        return {}
    return {k: round((b[1][k] - a[1][k]) / wall, 2) for k in b[1] if k in a[1]}
