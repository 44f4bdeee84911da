"""The run's figures as markdown (bench/results/<date>.md and the README's Benchmark table)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bench import report_events
from bench.baseline import before_after
from bench.format import met
from bench.format import n as _n
from bench.format import trio as _trio
from bench.progress import PATH_NAME

README_BEGIN = "<!-- bench:begin (written by make bench) -->"
README_END = "<!-- bench:end -->"
FLOOR_NAMES = {**PATH_NAME, "ari": "ARI (floor)"}  # the run of bench --floor


def scenario_label(r: dict[str, Any]) -> str:
    """The scenario's name, and on a capped row how many callers the room took."""
    limit = r.get("room_limit")
    if limit and limit["capped"]:
        return (
            f"{r['scenario']['name']} (capped: {r['calls']} callers, the controller's room "
            f"ceiling is {limit['max_participants']})"
        )
    return str(r["scenario"]["name"])


def results_table(results: list[dict[str, Any]], names: dict[str, str] = PATH_NAME) -> list[str]:
    lines = [
        "| scenario | path | up / failed / dropped | join ms p50 / p95 / p99 | first audio ms "
        "p50 / p95 | joins/s | SUT CPU ms/join | SUT CPU % steady | controller CPU ms/join | "
        "controller CPU % steady | controller RSS MB | jitter ms p99 (max / end) | loss % | "
        "kick ms p50 / p95 | load gen CPU % | machine busy % (not ours, % of a core) |",
        "|" + "---|" * 16,
    ]
    for r in results:
        cpu_j, cpu_s = r["cpu_ms_per_join"], r["cpu_steady_pct"]
        is_ari = r["path"] == "ari"
        lines.append(
            "| "
            + " | ".join(
                [
                    scenario_label(r),
                    names[r["path"]],
                    f"{r['up']} / {r['failed']} / {r['dropped']}",
                    _trio(r["join_ms"]),
                    _trio(r["audio_ms"], ("p50", "p95")),
                    _n(r["join_rate"]),
                    _n(cpu_j.get("sut"), 2),
                    _n(cpu_s.get("sut")),
                    _n(cpu_j.get("controller"), 2) if is_ari else "-",
                    _n(cpu_s.get("controller"), 2) if is_ari else "-",
                    _n(r["controller_rss_mb"]) if is_ari else "-",
                    f"{_n(r['max_jitter_ms']['p99'], 2)} / {_n(r['jitter_ms']['p99'], 2)}",
                    _n(r["loss_pct"], 3),
                    _trio(r["kick_ms"], ("p50", "p95")) if r["kick_ms"] else "-",
                    _n(cpu_s.get("loadgen")),
                    f"{_n(cpu_s.get('machine_busy'))} ({_n(cpu_s.get('other'))})",
                ]
            )
            + " |"
        )
    return lines


def comparison_table(comparisons: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| scenario | join p50 | join p95 | join p99 | first audio p95 | joins/s | "
        "SUT CPU/join | SUT CPU steady | SUT + controller CPU steady |",
        "|" + "---|" * 9,
    ]
    for c in comparisons:
        vals = [
            c[k]
            for k in (
                "join_p50",
                "join_p95",
                "join_p99",
                "audio_p95",
                "join_rate",
                "sut_cpu_per_join",
                "sut_cpu_steady",
                "sut_plus_controller_cpu_steady",
            )
        ]
        name = c["scenario"] if c.get("same_load", True) else f"{c['scenario']} (not the same load)"
        lines.append(f"| {name} | " + " | ".join(_n(v, 2) for v in vals) + " |")
    return lines


def targets_table(t: dict[str, Any]) -> list[str]:
    jp, jr, cpu, kick, per_join = (
        t["join_p95_ratio"],
        t["join_rate_ratio"],
        t["controller_cpu_steady_pct"],
        t["kick_p95_ms"],
        t["controller_cpu_ms_per_join"],
    )
    return [
        "| target | measured | |",
        "|---|---|---|",
        f"| ARI join p95 ≤ 1.05x ConfBridge ({jp['basis']}) | worst ratio "
        f"{_n(jp['worst'], 2)} | {met(jp, jp['worst'])} |",
        f"| join rate ≥ 1.0x ConfBridge ({jr['basis']}) | worst ratio "
        f"{_n(jr['worst'], 2)} | {met(jr, jr['worst'])} |",
        f"| controller CPU ≤ 2 ms per join ({per_join['basis']}) | worst "
        f"{_n(per_join['value'], 2)} ms ({per_join['worst_scenario']}) "
        f"| {met(per_join, per_join['value'])} |",
        f"| controller CPU ≤ 2 % of a core, steady, {_n(cpu['callers'])} callers | "
        f"{_n(cpu['value'], 2)} % | {met(cpu, cpu['value'])} |",
        f"| kick p95 ≤ 50 ms (API DELETE → BYE at the caller) | worst {_n(kick['value'])} ms "
        f"({kick['worst_scenario']}); all {kick['n']} kicks: {_n(kick['pooled'])} ms "
        f"| {met(kick, kick['value'])} |",
        *report_events.target_rows(t),
    ]


def knee_line(knee: dict[str, Any], names: dict[str, str] = PATH_NAME) -> str:
    parts = []
    for path, k in knee.items():
        if k["callers"] is None:
            parts.append(f"{names[path]}: not reached up to {k['not_reached_up_to']} callers")
        else:
            parts.append(f"{names[path]}: {k['callers']} callers ({k['scenario']})")
    return "Capacity knee (jitter p99 > 30 ms or loss > 0.5 % at the callers): " + "; ".join(parts)


def render(
    run: dict[str, Any],
    title: str = "confsvc benchmark",
    baseline: tuple[str, dict[str, Any]] | None = None,
) -> str:
    """baseline: (its name, an earlier run's JSON) for the before/after table."""
    m = run["machine"]
    out = [
        f"### {title}: {run['started']}",
        "",
        f"Machine: {m['nproc']} x {m['cpu_model']}, {m['asterisk']}, kernel {m['kernel']}, "
        f"Python {m['python']}; confsvc {m.get('confsvc_revision', '?')}; "
        f"run took {run['duration_s']} s.",
    ]
    problems = run.get("controller_log_problems") or {}
    if any(problems.values()):
        listed = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in problems.items())
        out += ["", f"**The controller's log has unhandled errors** ({listed})."]
    floor = str(m.get("confsvc_revision", "")).startswith("floor")
    names = FLOOR_NAMES if floor else PATH_NAME
    if floor:
        out += ["", "**The ARI path ran bench/floor.py, not confsvc** (`--floor`)."]
    if run["results"]:
        out += ["", *results_table(run["results"], names)]
    if run["comparison"]:
        out += [
            "",
            "ARI / ConfBridge ratios (< 1 is better for ARI on times and CPU; > 1 on joins/s):",
            "",
            *comparison_table(run["comparison"]),
        ]
    out += ["", *targets_table(run["targets"])]
    if run["results"]:
        out += ["", knee_line(run["knee"], names)]
    out += report_events.sections(run)
    if baseline is not None:
        out += ["", *before_after(baseline[0], baseline[1], run)]
    for r in run["results"]:
        for phase, prof in (r.get("profile") or {}).items():
            out += ["", *profile_lines(r["scenario"]["name"], phase, prof)]
    return "\n".join(out) + "\n"


NOT_WORK = ("confsvc/__main__.py", "confsvc/cli.py", "confsvc/server.py", "confsvc/ari/stream.py")


def profile_lines(scenario: str, phase: str, prof: dict[str, Any], top: int = 14) -> list[str]:
    """The controller's busiest functions (inclusive share of busy samples), its own code
    and the libraries it calls, leaving out the frames every sample passes through."""
    if "top_inclusive" not in prof:
        return [f"Controller profile ({scenario}, {phase}): {prof.get('error', 'none')}"]
    frames = [
        p
        for p in prof["top_inclusive"]
        if not p["frame"].startswith(("asyncio/", "<frozen", "threading.py", *NOT_WORK))
    ][:top]
    head = (
        f"Controller profile, {scenario}, {phase} (py-spy; {prof['samples']} busy samples, "
        f"{prof['idle_samples']} waiting; share of busy samples, inclusive):"
    )
    return [head, "", *(f"- {p['pct']} % `{p['frame']}`" for p in frames)]


def update_readme(readme: Path, table_md: str) -> bool:
    """Replace what is between the bench markers; False when the markers are missing."""
    text = readme.read_text()
    pattern = re.compile(re.escape(README_BEGIN) + ".*?" + re.escape(README_END), re.S)
    if not pattern.search(text):
        return False
    new = pattern.sub(lambda _: f"{README_BEGIN}\n{table_md}{README_END}", text)
    readme.write_text(new)
    return True
