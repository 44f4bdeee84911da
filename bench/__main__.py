"""python -m bench [--quick] [--profile] ...: run the benchmark, write the results.

Results go to bench/results/<date>.json and .md (UTC date) and, for a full run, the
README's Benchmark table. Everything binds 127.0.0.1; ports from --port-base (50000).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import report
from bench.run import DEFAULT_SCENARIOS, SMOKE, RunConfig, run_bench
from bench.scenario import Scenario

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent


def parse_levels(spec: str, hold: float, kicks: int) -> list[Scenario]:
    """'10:1,200:10' -> 10 callers at 1 join/s, 200 at 10 joins/s (20 rooms, fewer when
    there are fewer than 40 callers so every room has two)."""
    out = []
    for item in spec.split(","):
        callers_s, _, rate_s = item.partition(":")
        callers, rate = int(callers_s), float(rate_s or 10)
        rooms = max(1, min(20, callers // 2))
        name = f"{callers} callers @ {rate:g} joins/s"
        out.append(Scenario(name, callers, rooms, rate, hold, kicks if callers >= 20 else 0))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--port-base", type=int, default=50000)
    ap.add_argument("--account", default="alice", help="SUT phone account the calls use")
    ap.add_argument("--levels", help="callers:rate,... instead of the default scenarios")
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
    args = ap.parse_args(argv)

    if args.quick:
        scenarios = list(SMOKE)
    elif args.levels:
        scenarios = parse_levels(args.levels, args.hold, args.kicks)
    else:
        scenarios = list(DEFAULT_SCENARIOS)
    now = datetime.now(UTC)
    custom = bool(args.levels or args.controller_env)
    # The default run is bench/results/<date>; others never overwrite it.
    name = now.strftime("%Y-%m-%d") + (now.strftime("-%H%M%S-custom") if custom else "")
    out_dir = args.out if not args.quick else args.out / "tmp"
    out_dir.mkdir(parents=True, exist_ok=True)
    cfg = RunConfig(
        workdir=PROJECT / ".runtime" / "bench" / f"run-{args.port_base}",
        port_base=args.port_base,
        account=args.account,
        scenarios=scenarios,
        profile_dir=args.out / "tmp" if args.profile else None,  # raw stacks (not kept)
        controller_env=dict(kv.split("=", 1) for kv in args.controller_env),
        revision=args.revision,
        quiet_wait=0 if args.quick else 20.0,
    )

    async def go() -> dict:
        task = asyncio.current_task()
        assert task is not None
        # SIGTERM like Ctrl-C: cancel, so every finally stops what it started.
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await run_bench(cfg)

    run = asyncio.run(go())
    (out_dir / f"{name}.json").write_text(json.dumps(run, indent=1) + "\n")
    md = report.render(run)
    (out_dir / f"{name}.md").write_text(md)
    print(md)
    print(f"written: {out_dir / f'{name}.json'} and .md", file=sys.stderr)
    if not (args.quick or custom or args.no_readme):
        if report.update_readme(PROJECT / "README.md", md):
            print("README.md: Benchmark table updated", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
