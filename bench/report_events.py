"""The events' part of the report: ARI event -> webhook / WebSocket latency, the webhook
backlog, and their rows in the targets table."""

from __future__ import annotations

from typing import Any

from bench.format import met, n, trio

PAIR = ("p50", "p95")


def latency_table(results: list[dict[str, Any]]) -> list[str]:
    rows = [r for r in results if r.get("event_latency")]
    if not rows:
        return []
    lines = [
        "ARI event → webhook POST at a local receiver / → WebSocket frame at a local client, "
        "per caller's `conferencecall_joined` (from the SUT's `ChannelEnteredBridge` "
        "timestamp; and from the answer the caller saw):",
        "",
        "| scenario | joined / bridge events seen / webhooks / frames | event → webhook ms "
        "p50 / p95 / p99 | event → WS ms p50 / p95 / p99 | answer → webhook ms p50 / p95 | "
        "answer → WS ms p50 / p95 | Asterisk's own delivery ms p50 / p95 (event → another ARI "
        "client read it) | controller CPU ms/join |",
        "|" + "---|" * 8,
    ]
    for r in rows:
        lat = r["event_latency"]
        counts = f"{lat['joined']} / {lat['probe_seen']} / {lat['webhooks']} / {lat['frames']}"
        lines.append(
            f"| {r['scenario']['name']} | {counts} | {trio(lat['webhook_ms'])} | "
            f"{trio(lat['ws_ms'])} | {trio(lat['answer_to_webhook_ms'], PAIR)} | "
            f"{trio(lat['answer_to_ws_ms'], PAIR)} | "
            f"{trio(lat.get('asterisk_delivery_ms') or {}, PAIR)} | "
            f"{n(r['cpu_ms_per_join'].get('controller'), 2)} |"
        )
    return lines


def backlog_table(b: dict[str, Any] | None) -> list[str]:
    if b is None:
        return []
    d, api = b["deliveries"], b["api_ms"]
    cfg = b["config"]
    got = f"{d['received']} / {d['expected']}" + ("" if d["complete"] else " (gave up)")
    got += f", {d['resent']} re-sent" if d["resent"] else ""

    def api_cell(key: str) -> str:
        a = api[key]
        cell = f"{n(a['idle']['p50'])} / {n(a['idle']['p99'])} → {n(a['during']['p99'])}"
        if "after_creating" in a:  # older results have the whole window only
            cell += (
                f" ({n(a['while_creating']['p99'])} while creating, "
                f"{n(a['after_creating']['p99'])} after)"
            )
        return cell

    return [
        f"Webhook backlog: {cfg['webhooks']} webhooks (every event type, one tenant) x "
        f"{cfg['conferences']} conferences created {cfg.get('in_flight', '?')} at a time "
        "(gives up after "
        f"{n(cfg['give_up_s'], 0)} s); GET /v1/conferences while it drains, against the same "
        "requests once it is gone:",
        "",
        "| created in s (create ms p50 / p95) | deliveries received / expected | s to the "
        "last one (or the give-up) "
        "| deliveries/s (best 1 s) | GET ms, backlog tenant: idle p50 / p99 → draining p99 | "
        "GET ms, other tenant: idle p50 / p99 → draining p99 | controller CPU % |",
        "|" + "---|" * 7,
        f"| {n(b['create_s'])} ({trio(b['create_ms'], PAIR)}) | {got} | {n(d['drain_s'])} | "
        f"{n(d['per_s'])} ({n(d['peak_per_s'], 0)}) | {api_cell('backlog_tenant')} | "
        f"{api_cell('other_tenant')} | {n(b['cpu_pct'].get('controller'))} |",
    ]


def sections(run: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for part in (latency_table(run["results"]), backlog_table(run.get("backlog"))):
        if part:
            out += ["", *part]
    return out


def target_rows(t: dict[str, Any]) -> list[str]:
    hook, ws = t["webhook_p95_ms"], t["ws_p95_ms"]
    rows = [
        f"| ARI event → webhook delivered p95 ≤ 20 ms | {n(hook['value'])} ms "
        f"| {met(hook, hook['value'])} |",
        f"| ARI event → WebSocket frame p95 ≤ 10 ms | {n(ws['value'])} ms "
        f"| {met(ws, ws['value'])} |",
    ]
    if "backlog_per_s" in t:
        rate, api = t["backlog_per_s"], t["backlog_api_p99_ratio"]
        gave_up = "" if rate["complete"] else " (gave up before the end)"
        by = ", ".join(f"{k.replace('_', ' ')} {n(v, 2)}" for k, v in api["by_tenant"].items())
        rows += [
            f"| webhook backlog drains ≥ 1,000 deliveries/s | {n(rate['value'])}/s{gave_up} "
            f"| {met(rate, rate['value'])} |",
            f"| API p99 while it drains ≤ 2x idle | worst {n(api['value'], 2)}x ({by}) "
            f"| {met(api, api['value'])} |",
        ]
    return rows
