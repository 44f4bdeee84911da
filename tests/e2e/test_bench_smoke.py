"""The benchmark harness (bench/), tiny: a few calls on both paths, a three-caller town
hall, the events scenario (webhook + WebSocket receivers) with three callers and a webhook
backlog of 2 webhooks x 3 conferences, so it cannot rot.

The session's Asterisk is the system under test; the harness starts its own load
generator (a second Asterisk, ports picked free in 56000-59999), its webhook receiver and
its own controller. Nothing here asserts on performance figures: only that the harness
measured them. If the harness cannot run, this test fails (never skips).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

from bench import report
from bench.instance import loadgen_ports
from bench.plan import RECEIVER_OFFSET, SMOKE, SMOKE_BACKLOG, RunConfig
from bench.run import run_bench
from tests.support.output_gate import gate_report
from tests.support.runtime import Runtime


def _free(kind: int, port: int) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_loadgen_base() -> int:
    """A port base whose load-generator SIP (udp) and ARI (tcp) ports and webhook receiver
    port (tcp) are free."""
    for base in range(56000, 59000, 100):
        ports = loadgen_ports(base)
        tcp = (ports.ari, base + RECEIVER_OFFSET)
        if _free(socket.SOCK_DGRAM, ports.sip) and all(_free(socket.SOCK_STREAM, p) for p in tcp):
            return base
    raise AssertionError("no free port base for the load generator in 56000-59000")


def smoke_config(tmp_path: Path, **changes: Any) -> RunConfig:
    base = free_loadgen_base()
    return RunConfig(
        workdir=tmp_path / "bench",
        port_base=base,
        loadgen_base=base,
        warmup=False,
        pause=0.5,
        quiet_wait=0,  # a short run: never wait for the machine to calm down
        **changes,
    )


async def test_bench_harness_runs_both_paths(runtime: Runtime, tmp_path: Path) -> None:
    cfg = smoke_config(tmp_path, scenarios=list(SMOKE), backlog=SMOKE_BACKLOG)
    run = await run_bench(cfg, sut_env=runtime.env)

    by_kind: dict[str, list[dict[str, Any]]] = {}
    for r in run["results"]:
        by_kind.setdefault(r["scenario"]["kind"], []).append(r)
    by_path = {r["path"]: r for r in by_kind["paced"]}
    assert set(by_path) == {"ari", "confbridge"}
    for path, r in by_path.items():
        n = r["calls"]
        assert n == SMOKE[0].callers
        assert (r["up"], r["failed"], r["dropped"]) == (n, 0, 0), (path, r["failed_reasons"])
        assert r["join_ms"]["n"] == n, path
        assert r["audio_ms"]["n"] >= 1, f"{path}: no caller heard the room's mix"
        assert r["qos_calls"] == n, f"{path}: RTP stats missing at hangup"
        assert r["loss_pct"] is not None
        assert set(r["cpu_steady_pct"]) >= {"sut", "controller", "loadgen", "other"}
    kicks = by_path["ari"]["kick_samples"]
    assert len(kicks) == 1 and kicks[0]["status"] == 200 and kicks[0]["bye_ms"] is not None
    assert by_path["ari"]["controller_rss_mb"]

    # Town hall: one room on both paths; the controller's room created through the API.
    hall = {r["path"]: r for r in by_kind["townhall"]}
    assert set(hall) == {"ari", "confbridge"}
    for path, r in hall.items():
        assert (r["up"], r["failed"], r["dropped"]) == (3, 0, 0), (path, r["failed_reasons"])
    assert hall["ari"]["room_limit"] == {"asked": 3, "max_participants": 3, "capped": False}

    # Events: controller path only; every joined caller timed at both receivers.
    (ev,) = by_kind["events"]
    assert ev["path"] == "ari" and ev["up"] == 3
    lat = ev["event_latency"]
    assert (lat["joined"], lat["probe_seen"], lat["webhooks"], lat["frames"]) == (3, 3, 3, 3)
    assert lat["webhook_ms"]["n"] == 3 and lat["ws_ms"]["n"] == 3 and lat["ws_error"] is None

    # Backlog: every delivery arrived (2 webhooks x the 3 conferences' events).
    backlog = run["backlog"]
    assert backlog["created"] == 3
    d = backlog["deliveries"]
    assert d["complete"] and d["received"] == d["expected"] >= 2 * 3 * 2, d
    for tenant in ("backlog_tenant", "other_tenant"):
        api = backlog["api_ms"][tenant]
        assert api["idle"]["n"] and api["during"]["n"] and not api["during"]["errors"], api

    assert not any(run["controller_log_problems"].values()), run["controller_log_problems"]
    assert len(run["comparison"]) == 2
    assert set(run["targets"]) == {
        "join_p95_ratio",
        "join_rate_ratio",
        "controller_cpu_steady_pct",
        "controller_cpu_ms_per_join",
        "kick_p95_ms",
        "webhook_p95_ms",
        "ws_p95_ms",
        "backlog_per_s",
        "backlog_api_p99_ratio",
    }
    md = report.render(run, baseline=("itself", run))
    assert "| smoke | ARI (confsvc) |" in md and "| smoke | ConfBridge |" in md
    assert "| smoke events | ARI (confsvc) |" in md and "event → webhook" in md
    assert "Webhook backlog:" in md and "Before → after" in md
    json.dumps(run)  # the results file is plain JSON
    # The traceback gate, as for the controllers tests start themselves.
    assert not (found := gate_report(cfg.workdir / "ctl" / "controller.log")), found


async def test_bench_floor_runs_on_the_ari_path(runtime: Runtime, tmp_path: Path) -> None:
    """`--floor`: bench/floor.py in the controller's place joins, lists and kicks callers."""
    cfg = smoke_config(tmp_path, scenarios=[SMOKE[0]], backlog=None, floor=True)
    run = await run_bench(cfg, sut_env=runtime.env)
    by_path = {r["path"]: r for r in run["results"]}
    r = by_path["ari"]
    assert (r["up"], r["failed"], r["dropped"]) == (4, 0, 0), r["failed_reasons"]
    assert r["audio_ms"]["n"] >= 1, "no floor caller heard the room's mix"
    kicks = r["kick_samples"]
    assert len(kicks) == 1 and kicks[0]["status"] == 200 and kicks[0]["bye_ms"] is not None
    assert run["machine"]["confsvc_revision"].startswith("floor")
    md = report.render(run)
    assert "| smoke | ARI (floor) |" in md and "not confsvc" in md
    assert not (found := gate_report(cfg.workdir / "ctl" / "controller.log")), found
