"""asterisk/ctl build says what it is doing, with the time taken (quiet in CI), and a
failed build shows its last lines and where the whole output is. A stand-in mmdebstrap
on PATH plays the build; nothing is downloaded."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.support.runtime import CTL

FAKE = """#!/bin/sh
echo "I: downloading packages with apt..." >&2
echo "Get:1 http://deb.debian.org sid InRelease" >&2
echo "I: extracting archives..." >&2
echo "E: the mirror went away" >&2
exit 1
"""


def build(tmp_path: Path, ci: bool) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "mmdebstrap"
    fake.write_text(FAKE)
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFSVC_") and k != "CI"}
    env.update(
        PATH=f"{bin_dir}:{env['PATH']}",
        CONFSVC_RUNTIME_DIR=str(tmp_path / "rt"),
        CONFSVC_ASTERISK_MODE="rootfs",
        **({"CI": "true"} if ci else {}),
    )
    return subprocess.run([str(CTL), "build"], env=env, capture_output=True, text=True, timeout=60)


def test_build_progress_lines_with_elapsed_time(tmp_path: Path) -> None:
    proc = build(tmp_path, ci=False)
    assert proc.returncode == 1
    err = proc.stderr
    assert "asterisk/ctl: [0m00s] building the Asterisk runtime" in err
    assert "] downloading packages with apt..." in err and "] extracting archives..." in err
    assert "runtime build failed after 0m0" in err and "E: the mirror went away" in err
    assert str(tmp_path / "rt" / "build.log") in err
    assert "Get:1" in (tmp_path / "rt" / "build.log").read_text()


def test_build_is_quiet_in_ci_but_errors_show(tmp_path: Path) -> None:
    err = build(tmp_path, ci=True).stderr
    assert "] downloading packages" not in err
    assert "building the Asterisk runtime" in err and "E: the mirror went away" in err
