"""A whole benchmark run: SUT Asterisk + controller + load generator Asterisk, the scenarios
on both paths (interleaved, on the same SUT), and everything stopped by pid at the end."""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import secrets
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import analysis, scenario
from bench.ari import LoadgenAri
from bench.controller import ControllerProcess
from bench.instance import (
    PROJECT,
    Instance,
    asterisk_version,
    loadgen_instance,
    sut_instance,
)
from bench.loadgen import LoadGen
from bench.procstat import CpuMeter
from bench.scenario import ARI, CONFBRIDGE, Scenario

# The default run (make bench): each join rate and each concurrency level once per path.
DEFAULT_SCENARIOS = [
    Scenario("10 callers @ 1 join/s", callers=10, rooms=5, rate=1.0, hold=15),
    Scenario("50 callers @ 5 joins/s", callers=50, rooms=20, rate=5.0, hold=15, kicks=10),
    Scenario("100 callers @ 10 joins/s", callers=100, rooms=20, rate=10.0, hold=15, kicks=30),
    Scenario("200 callers @ 10 joins/s", callers=200, rooms=20, rate=10.0, hold=15, kicks=30),
    Scenario("burst: 100 callers @ 50 joins/s", callers=100, rooms=20, rate=50.0, hold=5),
    Scenario(
        "saturation: 100 callers offered @ 500 joins/s",
        callers=100,
        rooms=20,
        rate=500.0,
        hold=5,
        kind="saturation",
    ),
]
WARMUP = Scenario("warm-up", callers=4, rooms=2, rate=4.0, hold=1, settle=0.5)
SMOKE = [Scenario("smoke", callers=4, rooms=2, rate=2.0, hold=2, kicks=1, settle=0.5)]


@dataclass
class RunConfig:
    workdir: Path
    port_base: int = 50000  # SUT: +60 SIP, +88 ARI, +80 HTTP, +1000.. RTP
    loadgen_base: int | None = None  # load generator: +160 SIP, +188 ARI, +2000.. RTP
    account: str = "alice"
    scenarios: list[Scenario] = field(default_factory=lambda: list(DEFAULT_SCENARIOS))
    warmup: bool = True
    pause: float = 3.0
    profile_dir: Path | None = None  # py-spy the controller during the largest ARI scenario
    controller_env: dict[str, str] = field(default_factory=dict)  # experiments only
    revision: str | None = None  # run the controller from this git revision, not the tree
    # Before each scenario, wait until processes that are not ours use less than
    # quiet_limit % of a core (others share the machine): at most quiet_wait s each,
    # quiet_budget s in all. 0 turns it off.
    quiet_limit: float = 15.0
    quiet_wait: float = 20.0
    quiet_budget: float = 60.0


def git(*args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(PROJECT), *args], capture_output=True, timeout=30, check=True
    )
    return proc.stdout.decode().strip()


def export_revision(rev: str, dest: Path) -> tuple[Path, str]:
    """confsvc/ as of a git revision, unpacked in dest; (dir for PYTHONPATH, short commit)."""
    commit = git("rev-parse", "--short", f"{rev}^{{commit}}")
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(PROJECT), "archive", commit, "confsvc"],
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True, timeout=60)
    return dest, commit


def source_revision() -> str:
    """The tree the controller ran from: commit, '+dirty' when it has local changes."""
    try:
        rev = subprocess.run(
            ["git", "-C", str(PROJECT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(PROJECT), "status", "--porcelain", "--", "confsvc"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (rev or "unknown") + ("+dirty" if dirty else "")


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


def machine_info(sut: Instance) -> dict[str, Any]:
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "asterisk": asterisk_version(sut),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }


async def run_bench(cfg: RunConfig, sut_env: dict[str, str] | None = None) -> dict[str, Any]:
    """sut_env: an Asterisk already running (the test suite's); else one is started here."""
    cfg.workdir.mkdir(parents=True, exist_ok=True)
    run_id = secrets.token_hex(2)
    started = datetime.now(UTC)
    t0 = time.monotonic()
    sut = Instance(env=sut_env) if sut_env is not None else sut_instance(cfg.port_base)
    lg_inst: Instance | None = None
    controller: ControllerProcess | None = None
    loadgen: LoadGen | None = None
    results: list[dict[str, Any]] = []
    try:
        if sut_env is None:
            sut.start()
        else:
            sut.load()
        sut_pid = sut.running_pid()
        if sut_pid is None:
            raise RuntimeError("the system under test's Asterisk is not running")
        lg_inst = loadgen_instance(
            cfg.loadgen_base or cfg.port_base,
            cfg.workdir,
            int(sut.s("SIP_PORT")),
            cfg.account,
            sut.s("PHONE_PASSWORD"),
        )
        lg_inst.start()
        lg_pid = lg_inst.running_pid()
        assert lg_pid is not None
        src, revision = None, source_revision()
        if cfg.revision:
            src, revision = export_revision(cfg.revision, cfg.workdir / "src")
        ctl_dir = cfg.workdir / "ctl"
        shutil.rmtree(ctl_dir, ignore_errors=True)  # a fresh store and log for every run
        controller = ControllerProcess(
            {**sut.env, **cfg.controller_env}, int(sut.s("HTTP_PORT")), ctl_dir, src
        )
        await controller.start()
        # A backstop only: the load generator's dial plan ends a call after this anyway.
        bound = int(max(s.callers / s.rate + s.settle + s.hold + 120 for s in cfg.scenarios))
        ari = LoadgenAri(
            lg_inst.ari_url, lg_inst.s("ARI_USER"), lg_inst.s("ARI_PASSWORD"), "loadgen"
        )
        loadgen = LoadGen(ari, cfg.account, max_call_seconds=bound)
        await loadgen.start()
        meter = CpuMeter(
            {
                "sut": sut_pid,
                "controller": controller.pid,
                "loadgen": lg_pid,
                "harness": os.getpid(),
            }
        )
        ctx = scenario.Context(loadgen, controller, meter)
        machine = {**machine_info(sut), "confsvc_revision": revision}
        idle_rss = meter.rss("controller")
        if cfg.warmup:
            for path in (CONFBRIDGE, ARI):
                await scenario.run(ctx, WARMUP, path, f"bn{run_id}w{path[0]}")
        biggest = max(cfg.scenarios, key=lambda s: s.callers)
        budget = cfg.quiet_budget
        for i, sc in enumerate(cfg.scenarios):
            # Alternate which path goes first, so drift over the run favours neither.
            order = (CONFBRIDGE, ARI) if i % 2 == 0 else (ARI, CONFBRIDGE)
            for path in order:
                profiled = path == ARI and sc is biggest
                ctx.profile_dir = cfg.profile_dir if profiled else None
                quiet: dict[str, float] = {}
                if cfg.quiet_wait > 0 and budget > 0:
                    quiet = await wait_quiet(meter, cfg.quiet_limit, min(cfg.quiet_wait, budget))
                    budget -= quiet["waited_s"]
                res = await scenario.run(ctx, sc, path, f"bn{run_id}s{i}{path[0]}")
                results.append({**res, "quiet_before": quiet})
                await asyncio.sleep(cfg.pause)
    finally:
        if loadgen is not None:
            await loadgen.close()
        if controller is not None:
            await controller.stop()
        if lg_inst is not None:
            lg_inst.stop()
        sut.stop()  # only when this run started it (Instance.started)
    return {
        "started": started.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - t0, 1),
        "machine": machine,
        "config": {
            "port_base": cfg.port_base,
            "loadgen_base": cfg.loadgen_base or cfg.port_base,
            "account": cfg.account,
            "scenarios": [asdict(s) for s in cfg.scenarios],
            "controller_idle_rss_mb": idle_rss,
            "controller_env": cfg.controller_env,
        },
        "results": results,
        **analysis.analyse(results),
    }
