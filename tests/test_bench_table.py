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


def test_cpu_per_unit_counts_the_processes_alive_at_the_end():
    from bench.env import cpu_per_unit
    before = {"api": 10.0, "bench": 2.0, "pg100": 5.0, "pg200": 1.0, "pgserver50": 3.0}
    after = {"api": 11.0, "bench": 2.5, "pg100": 6.5, "pg300": 0.5,  # pg200 gone, pg300 connected meanwhile
             "pgserver50": 3.25}  # the server's own processes (WAL writer…), apart
    assert cpu_per_unit(before, after, 1000) == {"api": 1.0, "postgres": 2.0, "postgres server": 0.25,
                                                 "bench client": 0.5}


def test_cpu_by_process_reads_this_process():
    import os
    from bench.env import cpu_by_process
    sum(i * i for i in range(200_000))  # some CPU of our own
    got = cpu_by_process(os.getpid())
    assert got["api"] > 0 and got["bench"] > 0
