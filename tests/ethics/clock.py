"""A settable clock for the windowed ethics monitors (fairness, drift, feedback)."""

from __future__ import annotations

T0 = 1_700_000_000.0


class Clock:
    def __init__(self, t: float = T0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t
