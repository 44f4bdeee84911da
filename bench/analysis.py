"""From per-scenario figures to the comparison: ARI / ConfBridge ratios, the capacity knee
per path, and the targets (met or not; issue 12's "Targets")."""

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
    "controller_cpu_ms_per_join_max": 2.0,
    "kick_p95_ms_max": 50.0,
    "webhook_p95_ms_max": 20.0,
    "ws_p95_ms_max": 10.0,
    "backlog_per_s_min": 1000.0,
    "backlog_api_p99_ratio_max": 2.0,
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
        # False when the controller's room ceiling capped the ARI side (town hall): then
        # the two rows are not the same load and the ratios stay out of the targets.
        "same_load": ari["calls"] == cb["calls"],
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
    # Spread rooms only: a town hall's one big room is a different limit.
    rows = sorted(
        (r for r in results if r["path"] == path and r["scenario"].get("kind") != "townhall"),
        key=lambda r: r["calls"],
    )
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
    comparisons = [c for c in comparisons if c["same_load"]]
    paced = [c for c in comparisons if c["kind"] in ("paced", "townhall")]
    saturated = [c for c in comparisons if c["kind"] == "saturation"]
    p_basis = "paced scenarios" if paced else "all scenarios"
    r_basis = "saturation scenarios" if saturated else "all scenarios; none saturates"
    paced, saturated = paced or comparisons, saturated or comparisons
    p95 = [c["join_p95"] for c in paced if c["join_p95"] is not None]
    rates = [c["join_rate"] for c in saturated if c["join_rate"] is not None]
    ari = [r for r in results if r["path"] == ARI and r["scenario"].get("kind") != "events"]
    spread = [r for r in ari if r["scenario"].get("kind") in ("paced", "saturation")]
    biggest = max(spread, key=lambda r: r["calls"]) if spread else None
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


def _at_most(value: float | None, limit: float) -> bool:
    return value is not None and value <= limit


def cpu_per_join_target(results: list[dict[str, Any]]) -> dict[str, Any]:
    """Controller CPU per join over the ramp, judged where joins come fastest (saturation,
    else every scenario): at 1 join/s the ramp's background CPU over few joins dominates."""
    ari = [r for r in results if r["path"] == ARI and r["scenario"].get("kind") != "events"]
    saturated = [r for r in ari if r["scenario"].get("kind") == "saturation"]
    rows = saturated or ari
    values = [
        (r["cpu_ms_per_join"]["controller"], r["scenario"]["name"])
        for r in rows
        if r["cpu_ms_per_join"].get("controller") is not None
    ]
    worst = max(values) if values else (None, None)
    limit = TARGETS["controller_cpu_ms_per_join_max"]
    return {
        "target": f"<= {limit}",
        "basis": "saturation scenarios" if saturated else "all scenarios",
        "value": worst[0],
        "worst_scenario": worst[1],
        "met": _at_most(worst[0], limit),
    }


def _worst_p95(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key]["p95"] for r in rows if r[key]["p95"] is not None]
    return max(values) if values else None


def _p99_ratio(api: dict[str, Any]) -> float | None:
    return ratio(api["during"]["p99"], api["idle"]["p99"])


def event_targets(results: list[dict[str, Any]], backlog: dict[str, Any] | None) -> dict[str, Any]:
    """ARI event -> webhook / WebSocket p95 (events scenario); the backlog's drain rate and
    the API's p99 while it drains, against idle (worst of the two tenants)."""
    lat = [r["event_latency"] for r in results if r.get("event_latency")]
    hook, ws = _worst_p95(lat, "webhook_ms"), _worst_p95(lat, "ws_ms")
    out: dict[str, Any] = {
        "webhook_p95_ms": {"value": hook, "met": _at_most(hook, TARGETS["webhook_p95_ms_max"])},
        "ws_p95_ms": {"value": ws, "met": _at_most(ws, TARGETS["ws_p95_ms_max"])},
    }
    if backlog is not None:
        rate = backlog["deliveries"]["per_s"]
        ratios = {k: _p99_ratio(v) for k, v in backlog["api_ms"].items()}
        known = [v for v in ratios.values() if v is not None]
        worst = max(known) if known else None
        out["backlog_per_s"] = {
            "value": rate,
            "complete": backlog["deliveries"]["complete"],
            "met": rate is not None and rate >= TARGETS["backlog_per_s_min"],
        }
        out["backlog_api_p99_ratio"] = {
            "value": worst,
            "by_tenant": ratios,
            "met": _at_most(worst, TARGETS["backlog_api_p99_ratio_max"]),
        }
    return out


def analyse(results: list[dict[str, Any]], backlog: dict[str, Any] | None = None) -> dict[str, Any]:
    comparisons = [compare(a, c) for a, c in _pairs(results)]
    return {
        "comparison": comparisons,
        "knee": {path: knee(results, path) for path in (CONFBRIDGE, ARI)},
        "targets": {
            **targets(results, comparisons),
            "controller_cpu_ms_per_join": cpu_per_join_target(results),
            **event_targets(results, backlog),
        },
    }
