"""Asterisk instances for the benchmark, driven through asterisk/ctl like every other one.

Two per run: the system under test (the project's own asterisk/conf) and the load
generator (bench/loadgen_conf, rendered through CONFSVC_CONF_DIR), each with its own
CONFSVC_INSTANCE, ports, RTP range and instance directory in the same runtime.
"""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.support.runtime import Runtime

PROJECT = Path(__file__).resolve().parents[1]
LOADGEN_CONF = Path(__file__).resolve().parent / "loadgen_conf"


@dataclass
class Ports:
    """One instance's loopback ports (all configurable through the port base)."""

    sip: int
    ari: int
    http: int
    rtp_start: int
    rtp_end: int


def sut_ports(base: int) -> Ports:
    return Ports(base + 60, base + 88, base + 80, base + 1000, base + 1999)


def loadgen_ports(base: int) -> Ports:
    return Ports(base + 160, base + 188, 0, base + 2000, base + 2999)


def clean_env() -> dict[str, str]:
    """The caller's environment without any CONFSVC_* (a dev shell may export some)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFSVC_")}
    for k in ("CONFSVC_ASTERISK_MODE", "CONFSVC_RUNTIME_DIR"):
        if k in os.environ:
            env[k] = os.environ[k]
    return env


def instance_env(name: str, ports: Ports, ari_password: str, phone_password: str) -> dict[str, str]:
    env = clean_env()
    env.update(
        CONFSVC_INSTANCE=name,
        CONFSVC_SIP_PORT=str(ports.sip),
        CONFSVC_ARI_PORT=str(ports.ari),
        CONFSVC_RTP_START=str(ports.rtp_start),
        CONFSVC_RTP_END=str(ports.rtp_end),
        CONFSVC_ARI_PASSWORD=ari_password,
        CONFSVC_PHONE_PASSWORD=phone_password,
    )
    if ports.http:
        env["CONFSVC_HTTP_PORT"] = str(ports.http)
    return env


@dataclass
class Instance(Runtime):
    """One Asterisk started (and stopped, by pid) through asterisk/ctl: the tests' Runtime
    driver, refusing to take over an instance that is already running."""

    started: bool = False

    def start(self) -> None:
        self.load()
        if self.running_pid() is not None:
            raise RuntimeError(f"instance {self.s('INSTANCE')} is already running: stop it first")
        self.started = True
        self.ctl("start")

    def stop(self) -> None:
        """asterisk/ctl stop: core stop now, then TERM/KILL by the instance's pid only."""
        if self.started:
            super().stop()
            self.started = False

    def running_pid(self) -> int | None:
        """The pid asterisk/ctl recorded, if that process is still this instance's Asterisk."""
        pidfile = self.instance_dir / "asterisk.pid"
        try:
            pid = int(pidfile.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, ValueError):
            return None
        return pid if b"asterisk" in cmdline else None

    @property
    def ari_url(self) -> str:
        return f"http://127.0.0.1:{self.s('ARI_PORT')}/ari"


def render_loadgen_conf(dest: Path, sut_sip_port: int, account: str, password: str) -> Path:
    """bench/loadgen_conf with the SUT's address and account filled in ({{...}}); the
    @...@ placeholders are left for asterisk/ctl (CONFSVC_CONF_DIR=dest)."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    values = {
        "{{SUT_SIP_PORT}}": str(sut_sip_port),
        "{{SUT_ACCOUNT}}": account,
        "{{SUT_PASSWORD}}": password,
    }
    for src in sorted(LOADGEN_CONF.glob("*.conf")):
        text = src.read_text()
        for key, value in values.items():
            text = text.replace(key, value)
        (dest / src.name).write_text(text)
    return dest


def loadgen_instance(
    base: int, workdir: Path, sut_sip_port: int, account: str, sut_phone_password: str
) -> Instance:
    conf = render_loadgen_conf(workdir / "loadgen-conf", sut_sip_port, account, sut_phone_password)
    env = instance_env(f"bench-lg-{base}", loadgen_ports(base), secrets.token_urlsafe(18), "unused")
    env["CONFSVC_ARI_USER"] = "loadgen"
    env["CONFSVC_ARI_APP"] = "loadgen"
    env["CONFSVC_CONF_DIR"] = str(conf)
    return Instance(env=env)


def sut_instance(base: int) -> Instance:
    # Passwords per run (never constants); both instances read them back through ctl env.
    env = instance_env(
        f"bench-sut-{base}", sut_ports(base), secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    )
    return Instance(env=env)


def asterisk_version(inst: Instance) -> str:
    out = inst.cli("core show version").strip()
    return out.splitlines()[0].split(" built by ")[0] if out else "unknown"
