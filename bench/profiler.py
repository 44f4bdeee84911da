"""py-spy on the controller during one scenario (optional: `make bench PROFILE=1`).

py-spy samples the running process from outside (--nonblocking: it is never paused) and
writes collapsed stacks; we keep the file and summarize where the CPU samples went.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import shutil
import signal
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def py_spy_binary() -> str:
    here = Path(sys.executable).parent / "py-spy"
    found = str(here) if here.exists() else shutil.which("py-spy")
    if not found:
        raise RuntimeError("py-spy is not installed (pip install -e '.[dev]')")
    return found


class PySpy:
    def __init__(self, pid: int, output: Path, rate: int = 200) -> None:
        self.pid = pid
        self.output = output
        self.rate = rate
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, seconds: float) -> None:
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.proc = await asyncio.create_subprocess_exec(
            py_spy_binary(),
            "record",
            "--pid",
            str(self.pid),
            "--duration",
            str(max(1, int(seconds))),
            "--rate",
            str(self.rate),
            "--format",
            "raw",
            "--nonblocking",
            "--output",
            str(self.output),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )

    async def finish(self) -> dict[str, Any]:
        """End the window now (SIGINT: py-spy writes what it has), then summarize."""
        assert self.proc is not None
        err = b""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGINT)
        try:
            _, err = await asyncio.wait_for(self.proc.communicate(), 30)
        except TimeoutError:
            await self.stop()
        self.proc = None
        if not self.output.exists():
            return {"error": err.decode(errors="replace")[-500:]}
        return summarize(self.output)

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGINT)  # py-spy writes what it has on SIGINT
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()
        self.proc = None


def _short(frame: str) -> str:
    """'f (/a/b/selectors.py:468)' -> 'f (selectors.py:468)'."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit('/', 1)[-1]}"


def _frame_name(frame: str) -> str:
    """'handler (confsvc/engine/join.py:42)' -> 'confsvc/engine/join.py:handler'."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    file = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "lib/python3.11/", "/work/main/"):
        if marker in file:
            file = file.split(marker, 1)[1]
    return f"{file}:{name}"


def _wait_line(func: Any, needle: str) -> str:
    """'name (file:line)' of the line in func's source that holds needle (py-spy's form)."""
    lines, first = inspect.getsourcelines(func)
    for offset, text in enumerate(lines):
        if needle in text:
            return f"{func.__qualname__} ({Path(inspect.getfile(func)).name}:{first + offset})"
    return ""


def idle_leaves() -> set[str]:
    """Leaf frames where a thread waits rather than works (py-spy --nonblocking counts
    them): the event loop in epoll, aiosqlite's worker thread waiting for its next query."""
    import selectors

    out = {_wait_line(selectors.EpollSelector.select, "poll(")}
    with contextlib.suppress(ImportError, OSError, TypeError):
        from aiosqlite import core

        out.add(_wait_line(core._connection_worker_thread, "tx.get()"))
    return out - {""}


def summarize(path: Path, top: int = 15) -> dict[str, Any]:
    """Busy samples (idle waits left out), top functions by self and inclusive share."""
    self_count: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = idle = 0
    waits = idle_leaves()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        raw = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not raw or _short(raw[-1]) in waits:
            idle += n
            continue
        frames = [_frame_name(f) for f in raw]
        total += n
        self_count[frames[-1]] += n
        for f in set(frames):
            incl[f] += n

    def pct(items: list[tuple[str, int]]) -> list[dict[str, Any]]:
        return [{"frame": k, "pct": round(100 * v / max(total, 1), 1)} for k, v in items]

    return {
        "file": path.name,
        "samples": total,
        "idle_samples": idle,
        "top_self": pct(self_count.most_common(top)),
        "top_inclusive": pct(incl.most_common(top * 3)),
    }
