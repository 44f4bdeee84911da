"""The project's Asterisk runtime, driven through asterisk/ctl (the same script users run)."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

PROJECT = Path(__file__).resolve().parents[2]
CTL = PROJECT / "asterisk" / "ctl"


@dataclass
class Runtime:
    """One Asterisk instance: its settings and where its files are on both sides of chroot."""

    env: dict[str, str]
    settings: dict[str, str] = field(default_factory=dict)

    def ctl(self, *args: str, check: bool = True, timeout: float = 600) -> str:
        proc = subprocess.run(
            [str(CTL), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(f"asterisk/ctl {' '.join(args)} failed:\n{proc.stdout}{proc.stderr}")
        return proc.stdout

    def load(self) -> None:
        out = self.ctl("env")
        self.settings = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def start(self) -> None:
        # One left over from an earlier session runs with that session's passwords.
        self.stop()
        self.ctl("start")
        self.load()

    def stop(self) -> None:
        self.ctl("stop", check=False, timeout=60)

    def cli(self, command: str) -> str:
        return self.ctl("cli", command, timeout=30)

    @property
    def root(self) -> str:
        return self.settings.get("CONFSVC_RUNTIME_ROOT", "")

    @property
    def instance_dir(self) -> Path:
        """The instance directory as the host sees it."""
        return Path(self.settings["CONFSVC_INSTANCE_DIR"])

    def inside(self, host_path: Path) -> str:
        """A host path under the runtime, as programs inside the runtime see it."""
        p = str(host_path)
        if self.root and p.startswith(self.root):
            return p[len(self.root) :] or "/"
        return p

    def command(self, *argv: str) -> list[str]:
        """argv for running a program inside the runtime (chroot when there is a rootfs)."""
        return ["chroot", self.root, *argv] if self.root else list(argv)

    def s(self, key: str) -> str:
        return self.settings[f"CONFSVC_{key}"]


class Startable(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


R = TypeVar("R", bound=Startable)


@contextlib.contextmanager
def started(rt: R, what: str) -> Iterator[R]:
    """rt started, stopped afterwards (by pid); one that cannot start FAILS, never skips."""
    try:
        rt.start()
    except Exception as exc:
        rt.stop()
        pytest.fail(f"could not start {what}: {exc}", pytrace=False)
    try:
        yield rt
    finally:
        rt.stop()


def test_env(port_base: int | None = None) -> dict[str, str]:
    """Environment for a private test instance on non-default loopback ports, with
    passwords of its own (random per call: conftest makes one per test session)."""
    base = port_base or int(os.environ.get("CONFSVC_TEST_PORT_BASE", "25000"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFSVC_")}
    env.update(
        CONFSVC_INSTANCE=f"test{base}",
        CONFSVC_SIP_PORT=str(base + 60),
        CONFSVC_ARI_PORT=str(base + 88),
        CONFSVC_HTTP_PORT=str(base + 80),
        CONFSVC_RTP_START=str(base + 1000),
        CONFSVC_RTP_END=str(base + 1999),
        CONFSVC_ARI_PASSWORD=secrets.token_urlsafe(18),
        CONFSVC_PHONE_PASSWORD=secrets.token_urlsafe(18),
        # Dial-out trunk -> the test carrier (tests/support/carrier.py), when one runs.
        CONFSVC_TRUNK_PORT=str(base + 160),
    )
    for k in ("CONFSVC_ASTERISK_MODE", "CONFSVC_RUNTIME_DIR"):
        if k in os.environ:
            env[k] = os.environ[k]
    return env
