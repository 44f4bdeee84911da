"""Before / after: this run's controller-path figures next to an earlier run's (by default
the newest dated results file before this one), per scenario both ran and per target."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from bench.analysis import cpu_per_join_target
from bench.format import n

DATED = re.compile(r"\d{4}-\d{2}-\d{2}\.json")


def newest_before(results_dir: Path, name: str) -> Path | None:
    """The newest <date>.json in results_dir whose name sorts before `name` (a default
    run's, never a custom or quick one)."""
    dated = sorted(p for p in results_dir.glob("*.json") if DATED.fullmatch(p.name))
    earlier = [p for p in dated if p.stem < name]
    return earlier[-1] if earlier else None


def load(path: Path) -> tuple[str, dict[str, Any]]:
    run: dict[str, Any] = json.loads(path.read_text())
    rev = run.get("machine", {}).get("confsvc_revision", "?")
    return f"{path.name} (confsvc {rev})", run


def _ari(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["scenario"]["name"]: r for r in run["results"] if r["path"] == "ari"}


def _arrow(before: Any, after: Any, digits: int = 1) -> str:
    return f"{n(before, digits)} → {n(after, digits)}"


def _p(r: dict[str, Any], key: str, q: str = "p95") -> Any:
    return (r.get(key) or {}).get(q)


def _ctl(r: dict[str, Any], key: str) -> Any:
    return r[key].get("controller")


def _target_values(run: dict[str, Any]) -> list[tuple[str, Any, int, str]]:
    """(label, value, digits, basis) of the targets both runs have."""
    t = run["targets"]
    per_join = cpu_per_join_target(run["results"])
    steady = t["controller_cpu_steady_pct"]
    return [
        ("ARI join p95 / ConfBridge, worst", t["join_p95_ratio"]["worst"], 2,
         t["join_p95_ratio"]["basis"]),
        ("joins/s ARI / ConfBridge, worst", t["join_rate_ratio"]["worst"], 2,
         t["join_rate_ratio"]["basis"]),
        ("controller CPU ms per join, worst", per_join["value"], 2, per_join["basis"]),
        ("controller CPU % steady", steady["value"], 2, f"{steady['callers']} callers"),
        ("kick p95 ms, worst scenario", t["kick_p95_ms"]["value"], 1, "every scenario"),
    ]  # fmt: skip


def before_after(name: str, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    old, new = _ari(before), _ari(after)
    lines = [
        f"Before → after (before: {name}), controller path:",
        "",
        "| scenario | join ms p95 | joins/s | controller CPU ms/join | controller CPU % steady "
        "| kick ms p95 |",
        "|" + "---|" * 6,
    ]
    for scen, r in new.items():
        if scen not in old:
            continue
        o = old[scen]
        cells = [
            _arrow(_p(o, "join_ms"), _p(r, "join_ms")),
            _arrow(o["join_rate"], r["join_rate"]),
            _arrow(_ctl(o, "cpu_ms_per_join"), _ctl(r, "cpu_ms_per_join"), 2),
            _arrow(_ctl(o, "cpu_steady_pct"), _ctl(r, "cpu_steady_pct"), 2),
            _arrow(_p(o, "kick_ms"), _p(r, "kick_ms")),
        ]
        lines.append(f"| {scen} | " + " | ".join(cells) + " |")
    if not set(old) & set(new):
        lines[2:] = ["No scenario ran in both."]
    lines += ["", "| target figure | before → after |", "|---|---|"]
    for (label, was, digits, basis_was), (_, now, _, basis_now) in zip(
        _target_values(before), _target_values(after), strict=True
    ):
        if basis_was == basis_now:
            lines.append(f"| {label} ({basis_now}) | {_arrow(was, now, digits)} |")
        else:  # not the same scenarios: say which
            cell = f"{n(was, digits)} ({basis_was}) → {n(now, digits)} ({basis_now})"
            lines.append(f"| {label} | {cell} |")
    return lines
