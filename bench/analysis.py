"""From per-scenario figures to the comparison: ARI / ConfBridge ratios, the capacity knee
per path, and the targets (met or not)."""

from __future__ import annotations

from typing import Any

from bench.stats import percentile, ratio

ARI = "ari"
CONFBRIDGE = "confbridge"
JITTER_LIMIT_MS = 30.0
LOSS_LIMIT_PCT = 0.5
TARGETS = {
    "join_p95_ratio_max": 1.05,
    "join_rate_ratio_min": 1.0,
    "controller_cpu_200_pct_max": 2.0,
    "kick_p95_ms_max": 50.0,
}


def _pairs(results: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    by_name: dict[str, dict[str, dict[str, Any]]] = {}
    for r in results:
        by_name.setdefault(r["scenario"]["name"], {})[r["path"]] = r
    return [(p[ARI], p[CONFBRIDGE]) for p in by_name.values() if ARI in p and CONFBRIDGE in p]


def compare(ari: dict[str, Any], cb: dict[str, Any]) -> dict[str, Any]:
    def steady(r: dict[str, Any], who: str) -> float | None:
        return r["cpu_steady_pct"].get(who)

    sut_ctl = steady(ari, "sut"), steady(ari, "controller")
    total_ari = None if None in sut_ctl else sum(x for x in sut_ctl if x is not None)
    return {
        "scenario": ari["scenario"]["name"],
        "kind": ari["scenario"].get("kind", "paced"),
        "callers": ari["scenario"]["callers"],
        "join_p50": ratio(ari["join_ms"]["p50"], cb["join_ms"]["p50"]),
        "join_p95": ratio(ari["join_ms"]["p95"], cb["join_ms"]["p95"]),
        "join_p99": ratio(ari["join_ms"]["p99"], cb["join_ms"]["p99"]),
        "audio_p95": ratio(ari["audio_ms"]["p95"], cb["audio_ms"]["p95"]),
        "join_rate": ratio(ari["join_rate"], cb["join_rate"]),
        "sut_cpu_steady": ratio(steady(ari, "sut"), steady(cb, "sut")),
        "sut_plus_controller_cpu_steady": ratio(total_ari, steady(cb, "sut")),
        "sut_cpu_per_join": ratio(ari["cpu_ms_per_join"].get("sut"), cb["cpu_ms_per_join"]["sut"]),
    }


def knee(results: list[dict[str, Any]], path: str) -> dict[str, Any]:
    """The fewest callers at which callers' jitter p99 (max over each call) > 30 ms or
    loss > 0.5 %; None when no scenario of this run got there."""
    rows = sorted((r for r in results if r["path"] == path), key=lambda r: r["calls"])
    for r in rows:
        jitter = r["max_jitter_ms"]["p99"]
        loss = r["loss_pct"]
        if (jitter is not None and jitter > JITTER_LIMIT_MS) or (
            loss is not None and loss > LOSS_LIMIT_PCT
        ):
            return {"callers": r["calls"], "scenario": r["scenario"]["name"]}
    top = rows[-1]["calls"] if rows else 0
    return {"callers": None, "not_reached_up_to": top}


def targets(results: list[dict[str, Any]], comparisons: list[dict[str, Any]]) -> dict[str, Any]:
    """Join latency is judged where the load is paced (1-50 joins/s), the join rate where
    the offered rate saturates (else everywhere); each on its worst scenario."""
    paced = [c for c in comparisons if c["kind"] == "paced"]
    saturated = [c for c in comparisons if c["kind"] == "saturation"]
    p_basis = "paced scenarios" if paced else "all scenarios"
    r_basis = "saturation scenarios" if saturated else "all scenarios; none saturates"
    paced, saturated = paced or comparisons, saturated or comparisons
    p95 = [c["join_p95"] for c in paced if c["join_p95"] is not None]
    rates = [c["join_rate"] for c in saturated if c["join_rate"] is not None]
    ari = [r for r in results if r["path"] == ARI]
    biggest = max(ari, key=lambda r: r["calls"]) if ari else None
    ctl_cpu = biggest["cpu_steady_pct"].get("controller") if biggest else None
    kicks = [
        k["bye_ms"] for r in ari for k in r.get("kick_samples", []) if k.get("bye_ms") is not None
    ]
    kick_pooled = percentile(kicks, 95)
    per_scenario = [
        (r["kick_ms"]["p95"], r["scenario"]["name"])
        for r in ari
        if r.get("kick_ms") and r["kick_ms"]["p95"] is not None
    ]
    kick_worst = max(per_scenario) if per_scenario else (None, None)
    out = {
        "join_p95_ratio": {
            "target": f"<= {TARGETS['join_p95_ratio_max']}",
            "basis": p_basis,
            "worst": max(p95) if p95 else None,
            "met": bool(p95) and max(p95) <= TARGETS["join_p95_ratio_max"],
        },
        "join_rate_ratio": {
            "target": f">= {TARGETS['join_rate_ratio_min']}",
            "basis": r_basis,
            "worst": min(rates) if rates else None,
            "met": bool(rates) and min(rates) >= TARGETS["join_rate_ratio_min"],
        },
        "controller_cpu_steady_pct": {
            "target": f"<= {TARGETS['controller_cpu_200_pct_max']} at the most callers",
            "callers": biggest["calls"] if biggest else None,
            "value": ctl_cpu,
            "met": ctl_cpu is not None and ctl_cpu <= TARGETS["controller_cpu_200_pct_max"],
        },
        "kick_p95_ms": {
            "target": f"<= {TARGETS['kick_p95_ms_max']} in every scenario",
            "n": len(kicks),
            "pooled": None if kick_pooled is None else round(kick_pooled, 1),
            "value": kick_worst[0],
            "worst_scenario": kick_worst[1],
            "met": kick_worst[0] is not None and kick_worst[0] <= TARGETS["kick_p95_ms_max"],
        },
    }
    return out


def analyse(results: list[dict[str, Any]]) -> dict[str, Any]:
    comparisons = [compare(a, c) for a, c in _pairs(results)]
    return {
        "comparison": comparisons,
        "knee": {path: knee(results, path) for path in (CONFBRIDGE, ARI)},
        "targets": targets(results, comparisons),
    }
