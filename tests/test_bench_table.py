"""The bench's table says whether each goal was met and, when not, by how much."""
from __future__ import annotations

from bench.report import Table


def render(table: Table) -> str:
    machine = {"cpu": "cpu", "cores": "2", "memory_gb": "24", "postgres": "15", "python": "3.11"}
    return Table.render({"machine": machine, **table.as_dict()})


def test_a_missed_rate_goal_says_how_far_short():
    table = Table()
    table.ratio("fan-out", [{"per_second": 4000.0}], [{"per_second": 100_000.0}], goal_absolute=5000)
    table.ratio("creates", [{"per_second": 500.0}], [{"per_second": 5000.0}], goal=0.40)
    out = render(table)
    assert "| fan-out | 4,000.0 /s | 100,000.0 | 0.04 | >= 5,000/s | **no** (20% short) |" in out
    assert "| creates | 500.0 /s | 5,000.0 | 0.10 | >= 40% of floor | **no** (75% short) |" in out


def test_a_missed_latency_goal_says_how_many_times_over():
    table = Table()
    table.lists({"signups?none": {"p50_ms": 10.0, "p99_ms": 30.0},
                 "signups?status": {"p50_ms": 5.0, "p99_ms": 12.0}}, goal_p99_ms=20)
    out = render(table)
    assert "| list signups?none p99 | 30.0 ms |  |  | < 20 ms | **no** (1.5x the goal) |" in out
    assert "| list signups?status p99 | 12.0 ms |  |  | < 20 ms | yes |" in out
