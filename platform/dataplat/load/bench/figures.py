"""What one measured path of a benchmark did: events, seconds, latency percentiles; ratios between paths."""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Figures:
    events: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "events_per_s": round(self.rate),
            "p50_ms": round(self.p50_ms, 2),
            "p99_ms": round(self.p99_ms, 2),
        }


def quantiles(values: list[float]) -> tuple[float, float]:
    """p50 and p99 of ``values`` (0, 0 when empty)."""
    if len(values) < 2:
        return (values[0], values[0]) if values else (0.0, 0.0)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


def ratios(baseline: Figures, paths: Mapping[str, Figures]) -> dict[str, float | None]:
    """Each path's rate over the baseline's (None when the baseline moved nothing)."""
    return {name: round(f.rate / baseline.rate, 3) if baseline.rate else None for name, f in paths.items()}
