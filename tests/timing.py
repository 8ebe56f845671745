"""Latency bounds that hold on a loaded 2-core CI machine running the suite on
several workers: the typical call (95th percentile) within `typical`, and none
anywhere near the hangs these tests guard against (seconds to minutes) past
`worst`. One scheduling hiccup of the whole machine must not fail a test."""
from __future__ import annotations

import statistics
from collections.abc import Iterable


def assert_responsive(times: Iterable[float], *, typical: float = 1.0, worst: float = 4.0, what: str = "") -> None:
    times = sorted(times)
    assert times, f"no {what} call was timed"
    p95 = times[-1] if len(times) < 20 else statistics.quantiles(times, n=20)[-1]
    assert p95 < typical, f"{what}: 95th percentile {p95:.3f} s (all: {times})"
    assert times[-1] < worst, f"{what}: slowest {times[-1]:.3f} s"
