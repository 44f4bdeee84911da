"""python -m bench [--quick] [--profile] ...: run the benchmark, write the results.

Results go to bench/results/<date>.json and .md (UTC date) and, for a full run, the
README's Benchmark table. Everything binds 127.0.0.1; ports from --port-base (50000): the
SUT +60/+80/+88/+1000.., the load generator +160/+188/+2000.., the webhook receiver +90.
A progress line per step goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import baseline, report
from bench import pg as bench_pg
from bench.backlog import Backlog
from bench.plan import DEFAULT_SCENARIOS, SMOKE, SMOKE_BACKLOG, RunConfig, events, town_hall
from bench.run import run_bench
from bench.scenario import Scenario

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent


def parse_levels(spec: str, hold: float, kicks: int) -> list[Scenario]:
    """'10:1,200:10' -> 10 callers at 1 join/s, 200 at 10 joins/s (20 rooms, fewer when
    there are fewer than 40 callers so every room has two); 'none' -> no such scenario."""
    out: list[Scenario] = []
    if spec == "none":
        return out
    for item in spec.split(","):
        callers_s, _, rate_s = item.partition(":")
        callers, rate = int(callers_s), float(rate_s or 10)
        rooms = max(1, min(20, callers // 2))
        name = f"{callers} callers @ {rate:g} joins/s"
        out.append(Scenario(name, callers, rooms, rate, hold, kicks if callers >= 20 else 0))
    return out


def parse_backlog(spec: str, give_up: float) -> Backlog | None:
    """'20x200' -> 20 webhooks x 200 conferences; '0' -> none."""
    if spec in ("0", "none"):
        return None
    webhooks, _, conferences = spec.partition("x")
    w, c = int(webhooks), int(conferences or 200)
    return Backlog(f"webhook backlog: {w} webhooks x {c} conferences", w, c, give_up=give_up)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--port-base", type=int, default=50000)
    ap.add_argument("--account", default="alice", help="SUT phone account the calls use")
    ap.add_argument(
        "--levels", help="callers:rate,... (or none) instead of the default paced scenarios"
    )
    ap.add_argument(
        "--townhall", type=int, default=200, metavar="N", help="town hall callers (0: none)"
    )
    ap.add_argument(
        "--events",
        type=int,
        default=60,
        metavar="N",
        help="callers of the events scenario, webhook + WebSocket latency (0: none)",
    )
    ap.add_argument(
        "--backlog",
        default="20x200",
        metavar="WxC",
        help="webhook backlog: W webhooks x C conferences (0: none)",
    )
    ap.add_argument("--give-up", type=float, default=120.0, help="backlog time bound, s")
    ap.add_argument("--baseline", type=Path, help="results JSON for the before/after table")
    ap.add_argument("--hold", type=float, default=15.0, help="steady seconds (with --levels)")
    ap.add_argument("--kicks", type=int, default=20, help="kicks per scenario (with --levels)")
    ap.add_argument("--quick", action="store_true", help="a few calls per path (smoke)")
    ap.add_argument("--profile", action="store_true", help="py-spy the controller")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--no-readme", action="store_true", help="leave README.md alone")
    ap.add_argument(
        "--controller-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra controller setting, for experiments (e.g. CONFSVC_HEALTH_INTERVAL=3600)",
    )
    ap.add_argument("--revision", help="run the controller of this git revision (default: tree)")
    ap.add_argument(
        "--floor",
        action="store_true",
        help="bench/floor.py on the ARI path instead of confsvc: what ARI alone costs a join",
    )
    ap.add_argument(
        "--db",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the controller's store (postgres: a private one from scripts/pg, bench/pg.py)",
    )
    args = ap.parse_args(argv)

    backlog: Backlog | None
    if args.quick:
        scenarios, backlog = list(SMOKE), SMOKE_BACKLOG
    else:
        if args.levels:
            scenarios = parse_levels(args.levels, args.hold, args.kicks)
        else:
            scenarios = list(DEFAULT_SCENARIOS)
        scenarios += [town_hall(args.townhall)] if args.townhall > 0 else []
        scenarios += [events(args.events)] if args.events > 0 else []
        backlog = parse_backlog(args.backlog, args.give_up)
    now = datetime.now(UTC)
    custom = bool(
        args.levels
        or args.controller_env
        or args.floor
        or args.db != "sqlite"
        or (args.townhall, args.events, args.backlog, args.give_up) != (200, 60, "20x200", 120)
    )
    # The default run is bench/results/<date>; others never overwrite it.
    name = now.strftime("%Y-%m-%d") + (now.strftime("-%H%M%S-custom") if custom else "")
    out_dir = args.out if not args.quick else args.out / "tmp"
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = RunConfig(
        workdir=PROJECT / ".runtime" / "bench" / f"run-{args.port_base}",
        port_base=args.port_base,
        account=args.account,
        scenarios=scenarios,
        backlog=backlog,
        profile_dir=args.out / "tmp" if args.profile else None,  # raw stacks (not kept)
        controller_env=dict(kv.split("=", 1) for kv in args.controller_env),
        revision=args.revision,
        floor=args.floor,
        quiet_wait=0 if args.quick else 20.0,
    )

    async def go() -> dict:
        task = asyncio.current_task()
        assert task is not None
        # SIGTERM like Ctrl-C: cancel, so every finally stops what it started.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        if args.db == "postgres":
            async with bench_pg.database(args.port_base) as url:
                cfg.controller_env["CONFSVC_DB_URL"] = url
                return {**await run_bench(cfg), "db": "postgres"}
        return await run_bench(cfg)

    run = asyncio.run(go())
    (out_dir / f"{name}.json").write_text(json.dumps(run, indent=1) + "\n")
    base = args.baseline or (None if args.quick else baseline.newest_before(args.out, name))
    md = report.render(run, baseline=baseline.load(base) if base else None)
    (out_dir / f"{name}.md").write_text(md)
    print(md)
    print(f"written: {out_dir / f'{name}.json'} and .md", file=sys.stderr)
    if not (args.quick or custom or args.no_readme):
        if report.update_readme(PROJECT / "README.md", md):
            print("README.md: Benchmark table updated", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
