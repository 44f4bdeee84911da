"""A whole benchmark run: SUT Asterisk + controller + load generator Asterisk, the scenarios
on both paths (interleaved, on the same SUT), the controller-only ones (events, webhook
backlog), and everything stopped by pid at the end. A progress line per step."""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import shutil
import subprocess
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import analysis
from bench.ari import LoadgenAri
from bench.controller import ControllerProcess
from bench.instance import (
    PROJECT,
    Instance,
    asterisk_version,
    loadgen_instance,
    sut_instance,
)
from bench.latency import SutAri
from bench.loadgen import LoadGen
from bench.plan import RunConfig, estimate_s
from bench.procstat import CpuMeter
from bench.scenario import Context
from bench.steps import Steps
from tests.support.events import Receiver


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
    receiver: Receiver | None = None
    results: list[dict[str, Any]] = []
    backlog: dict[str, Any] | None = None
    say = cfg.progress.line
    say(
        f"{len(cfg.scenarios)} scenarios{' + webhook backlog' if cfg.backlog else ''}, "
        f"about {estimate_s(cfg) / 60:.0f} min; starting Asterisk (SUT), the load "
        "generator and the controller"
    )
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
        if cfg.floor:
            revision = f"floor (bench/floor.py at {revision}; not confsvc)"
        ctl_dir = cfg.workdir / "ctl"
        shutil.rmtree(ctl_dir, ignore_errors=True)  # a fresh store and log for every run
        controller = ControllerProcess(
            {**sut.env, **cfg.controller_env},
            int(sut.s("HTTP_PORT")),
            ctl_dir,
            src,
            module="bench.floor" if cfg.floor else "confsvc",
        )
        await controller.start()
        # A backstop only: the load generator's dial plan ends a call after this anyway.
        bound = int(
            max((s.callers / s.rate + s.settle + s.hold + 120 for s in cfg.scenarios), default=60)
        )
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
        ctx = Context(loadgen, controller, meter)
        machine = {**machine_info(sut), "confsvc_revision": revision}
        idle_rss = meter.rss("controller")
        receiver = Receiver(port=cfg.receiver_port)
        await receiver.start()
        sut_ari = SutAri(sut.ari_url, sut.s("ARI_USER"), sut.s("ARI_PASSWORD"))
        steps = Steps(cfg, ctx, receiver, sut_ari, run_id)
        say(f"up: controller pid {controller.pid}, SUT Asterisk pid {sut_pid}")
        results = await steps.calls()
        backlog = await steps.backlog()
        problems = controller.log_problems()
        if any(problems.values()):
            say(f"the controller's log has unhandled errors: {problems} ({controller.log})")
        say("stopping what this run started")
    finally:
        if receiver is not None:
            await receiver.stop()
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
            "backlog": asdict(cfg.backlog) if cfg.backlog else None,
            "controller_idle_rss_mb": idle_rss,
            "controller_env": cfg.controller_env,
        },
        "controller_log_problems": problems,
        "results": results,
        "backlog": backlog,
        **analysis.analyse(results, backlog),
    }
