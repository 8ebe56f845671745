"""The bench's one table: each figure with its floor, ratio and goal."""
from __future__ import annotations

from typing import Any

from bench.stats import median


class Table:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.notes: dict[str, str] = {}

    def add(self, metric: str, value: float, unit: str, *, floor: float | None = None,
            goal: str | None = None, met: bool | None = None, target: float | None = None) -> None:
        """`target`: the goal as a number in the value's unit, to say by how much a miss missed."""
        ratio = round(value / floor, 3) if floor else None
        gap = None
        if met is False and target:
            # lower is better for times and memory, higher for rates
            gap = f"{value / target:.1f}x the goal" if unit in ("ms", "MB") else f"{1 - value / target:.0%} short"
        self.rows.append({"metric": metric, "value": round(value, 2), "unit": unit,
                          "floor": round(floor, 2) if floor else None, "ratio": ratio,
                          "goal": goal, "met": met, "gap": gap})

    def note(self, key: str, text: str) -> None:
        self.notes[key] = text

    def ratio(self, metric: str, runs: list[dict], floors: list[dict], *, goal: float | None = None,
              goal_absolute: float | None = None) -> None:
        value = median([r["per_second"] for r in runs])
        floor = median([f["per_second"] for f in floors])
        if len(runs) > 1:
            self.note(metric, "runs: " + ", ".join(f"{r['per_second']:,.0f}/s" for r in runs))
        if goal is not None:
            self.add(metric, value, "/s", floor=floor, goal=f">= {goal:.0%} of floor", met=value / floor >= goal,
                     target=goal * floor)
        elif goal_absolute is not None:
            self.add(metric, value, "/s", floor=floor, goal=f">= {goal_absolute:,.0f}/s", met=value >= goal_absolute,
                     target=goal_absolute)
        else:
            self.add(metric, value, "/s", floor=floor)

    def latency(self, metric: str, runs: list[dict]) -> None:
        self.add(f"{metric} p50", median([r["p50_ms"] for r in runs]), "ms")
        self.add(f"{metric} p99", median([r["p99_ms"] for r in runs]), "ms")

    def lists(self, results: dict[str, dict[str, float]], goal_p99_ms: float) -> None:
        for name, r in results.items():
            self.add(f"list {name} p50", r["p50_ms"], "ms")
            self.add(f"list {name} p99", r["p99_ms"], "ms", goal=f"< {goal_p99_ms:.0f} ms",
                     met=r["p99_ms"] < goal_p99_ms, target=goal_p99_ms)

    def bulk(self, results: dict[str, float]) -> None:
        for name, seconds in results.items():
            self.add(name, seconds, "s")

    def reports(self, results: dict[str, Any], goal_ms: float, goal_csv: float) -> None:
        for name, r in results["json"].items():
            self.add(f"report {name} JSON", r["ms"], "ms", goal=f"< {goal_ms:.0f} ms", met=r["ms"] < goal_ms,
                     target=goal_ms)
        for name, r in results["csv"].items():
            self.add(f"report {name} CSV rows/s", r["per_second"], "/s", floor=r["floor_per_second"],
                     goal=f">= {goal_csv:.0%} of COPY", met=r["per_second"] / r["floor_per_second"] >= goal_csv,
                     target=goal_csv * r["floor_per_second"])

    def memory(self, current: float, peak: float, goal_mb: float) -> None:
        self.add("API memory (RSS) at end", current, "MB", goal=f"< {goal_mb:.0f} MB", met=current < goal_mb,
                 target=goal_mb)
        self.add("API memory (peak RSS)", peak, "MB", goal=f"< {goal_mb:.0f} MB", met=peak < goal_mb,
                 target=goal_mb)

    def as_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "notes": self.notes}

    @staticmethod
    def render(result: dict[str, Any]) -> str:
        m = result["machine"]
        lines = [f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; PostgreSQL {m['postgres']}; "
                 f"Python {m['python']}", "",
                 "| metric | value | floor | ratio | goal | met |", "|---|---:|---:|---:|---|---|"]
        for r in result["rows"]:
            floor = f"{r['floor']:,}" if r["floor"] is not None else ""
            ratio = f"{r['ratio']:.2f}" if r["ratio"] is not None else ""
            met = {True: "yes", False: f"**no** ({r['gap']})" if r.get("gap") else "**no**", None: ""}[r["met"]]
            lines.append(f"| {r['metric']} | {r['value']:,} {r['unit']} | {floor} | {ratio} | {r['goal'] or ''} | {met} |")
        lines.append("")
        lines += [f"- {k}: {v}" for k, v in result["notes"].items()]
        return "\n".join(lines)
