"""The benchmark harness (bench/), tiny: a few calls on both paths, so it cannot rot.

The session's Asterisk is the system under test; the harness starts its own load
generator (a second Asterisk, ports picked free in 56000-59999) and its own controller.
Nothing here asserts on performance figures: only that the harness measured them. If the
harness cannot run, this test fails (never skips).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

from bench import report
from bench.instance import loadgen_ports
from bench.run import SMOKE, RunConfig, run_bench
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
    """A port base whose load-generator SIP (udp) and ARI (tcp) ports are free."""
    for base in range(56000, 59000, 100):
        ports = loadgen_ports(base)
        if _free(socket.SOCK_DGRAM, ports.sip) and _free(socket.SOCK_STREAM, ports.ari):
            return base
    raise AssertionError("no free port base for the load generator in 56000-59000")


async def test_bench_harness_runs_both_paths(runtime: Runtime, tmp_path: Path) -> None:
    base = free_loadgen_base()
    cfg = RunConfig(
        workdir=tmp_path / "bench",
        port_base=base,
        loadgen_base=base,
        scenarios=list(SMOKE),
        warmup=False,
        pause=0.5,
        quiet_wait=0,  # a short run: never wait for the machine to calm down
    )
    run = await run_bench(cfg, sut_env=runtime.env)

    by_path = {r["path"]: r for r in run["results"]}
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
    assert len(run["comparison"]) == 1
    assert set(run["targets"]) == {
        "join_p95_ratio",
        "join_rate_ratio",
        "controller_cpu_steady_pct",
        "kick_p95_ms",
    }
    md = report.render(run)
    assert "| smoke | ARI (confsvc) |" in md and "| smoke | ConfBridge |" in md
    json.dumps(run)  # the results file is plain JSON
    # The traceback gate, as for the controllers tests start themselves.
    assert not (found := gate_report(cfg.workdir / "ctl" / "controller.log")), found
