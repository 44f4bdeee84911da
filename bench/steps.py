"""The run's steps once its processes are up: warm-up, each scenario on both paths (the
events scenario on the controller path only), then the webhook backlog. Each step prints
a progress line when it starts (what it does) and one when it ends (its figures)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from bench import backlog, latency, scenario
from bench.latency import SutAri
from bench.plan import WARMUP, RunConfig
from bench.procstat import CpuMeter
from bench.progress import PATH_NAME, backlog_done, calls_done
from bench.scenario import ARI, CONFBRIDGE, EVENTS, Context, Scenario
from tests.support.events import Receiver


@dataclass
class Steps:
    cfg: RunConfig
    ctx: Context
    receiver: Receiver
    sut_ari: SutAri
    run_id: str
    quiet_left: float = field(init=False)  # seconds of quiet waits left in this run

    def __post_init__(self) -> None:
        self.quiet_left = self.cfg.quiet_budget

    async def _quiet(self) -> dict[str, float]:
        """Wait for the machine to calm down (bounded per step and per run)."""
        cfg = self.cfg
        if cfg.quiet_wait <= 0 or self.quiet_left <= 0:
            return {}
        wait = min(cfg.quiet_wait, self.quiet_left)
        quiet = await wait_quiet(self.ctx.meter, cfg.quiet_limit, wait)
        self.quiet_left -= quiet["waited_s"]
        if quiet["waited_s"] > 1.5:
            self.cfg.progress.line(
                f"  waited {quiet['waited_s']} s for the machine to calm down "
                f"(others use {quiet['other_pct']} % of a core)"
            )
        return quiet

    async def _one(self, sc: Scenario, path: str, tag: str, step: str) -> dict[str, Any]:
        say = self.cfg.progress.line
        say(f"{step} {sc.name} — {PATH_NAME[path]}: {sc.describe(path)}")
        t = time.monotonic()
        if sc.kind == EVENTS:
            res = await latency.run(self.ctx, sc, tag, self.receiver, self.sut_ari)
        else:
            res = await scenario.run(self.ctx, sc, path, tag)
        say(f"  done in {time.monotonic() - t:.0f} s: {calls_done(res)}")
        return res

    async def calls(self) -> list[dict[str, Any]]:
        """Warm-up, then every scenario (both paths, alternating which goes first)."""
        cfg, ctx = self.cfg, self.ctx
        results: list[dict[str, Any]] = []
        if cfg.warmup:
            cfg.progress.line(f"warm-up: {WARMUP.describe(ARI)}, on both paths")
            for path in (CONFBRIDGE, ARI):
                await scenario.run(ctx, WARMUP, path, f"bn{self.run_id}w{path[0]}")
        plain = [s for s in cfg.scenarios if s.kind != EVENTS]
        biggest = max(plain, key=lambda s: s.callers) if plain else None
        runs = [(ARI,) if s.kind == EVENTS else (CONFBRIDGE, ARI) for s in cfg.scenarios]
        total = sum(len(paths) for paths in runs)
        n = 0
        for i, (sc, paths) in enumerate(zip(cfg.scenarios, runs, strict=True)):
            # Alternate which path goes first, so drift over the run favours neither.
            order = paths if i % 2 == 0 else tuple(reversed(paths))
            for path in order:
                n += 1
                profiled = path == ARI and sc is biggest
                ctx.profile_dir = cfg.profile_dir if profiled else None
                quiet = await self._quiet()
                tag = f"bn{self.run_id}s{i}{path[0]}"
                res = await self._one(sc, path, tag, f"[{n}/{total}]")
                results.append({**res, "quiet_before": quiet})
                await asyncio.sleep(cfg.pause)
        return results

    async def backlog(self) -> dict[str, Any] | None:
        b = self.cfg.backlog
        if b is None:
            return None
        say = self.cfg.progress.line
        say(f"{b.name}: {b.describe()}")
        t = time.monotonic()
        res = await backlog.run(
            self.ctx.controller, b, f"bn{self.run_id}b", self.receiver, self.ctx.meter
        )
        say(f"  done in {time.monotonic() - t:.0f} s: {backlog_done(res)}")
        return res


async def wait_quiet(meter: CpuMeter, limit: float, max_wait: float) -> dict[str, float]:
    """Wait until other processes use < limit % of a core (1 s samples), max_wait at most."""
    start = time.monotonic()
    while True:
        a = meter.snap()
        await asyncio.sleep(1.0)
        other = CpuMeter.percent(a, meter.snap())["other"]
        waited = time.monotonic() - start
        if other < limit or waited >= max_wait:
            return {"waited_s": round(waited, 1), "other_pct": other}
