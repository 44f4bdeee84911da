"""CPU and memory of processes, from /proc (Linux): utime+stime of all threads of a pid,
VmRSS, and the machine's busy share from /proc/stat."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    # The command name is in parentheses and may hold spaces: split after the last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime (fields 14, 15)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def machine_ticks() -> list[int]:
    """The machine's jiffies since boot: user nice system idle iowait irq softirq steal."""
    return [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]


@dataclass
class Snapshot:
    wall: float
    cpu: dict[str, float]
    machine: list[int]


class CpuMeter:
    """Named pids; snapshots at window edges; CPU used between two snapshots."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = dict(pids)

    def snap(self) -> Snapshot:
        cpu: dict[str, float] = {}
        for name, pid in self.pids.items():
            try:
                cpu[name] = cpu_seconds(pid)
            except (OSError, ValueError):
                cpu[name] = float("nan")
        return Snapshot(time.time(), cpu, machine_ticks())

    @staticmethod
    def used(a: Snapshot, b: Snapshot) -> dict[str, float]:
        """CPU seconds each process used from a to b."""
        return {k: b.cpu[k] - a.cpu[k] for k in a.cpu if k in b.cpu}

    @staticmethod
    def percent(a: Snapshot, b: Snapshot) -> dict[str, float]:
        """% of one core each process used from a to b; the machine's busy % (of all
        cores); and, in % of one core, the kernel's interrupt work (loopback RTP is
        mostly softirq) and everything else: processes that are not ours."""
        wall = max(b.wall - a.wall, 1e-9)
        out = {k: round(100 * v / wall, 2) for k, v in CpuMeter.used(a, b).items()}
        d = [y - x for x, y in zip(a.machine, b.machine, strict=True)]
        total = max(sum(d), 1)
        cores = os.cpu_count() or 1
        busy = 100 * cores * (total - d[3] - d[4]) / total
        irq = 100 * cores * (d[5] + d[6]) / total
        ours = sum(v for v in out.values() if v == v)  # NaN for a process that is gone
        out["machine_busy"] = round(busy / cores, 1)
        out["softirq"] = round(irq, 1)
        out["other"] = round(max(0.0, busy - irq - ours), 1)
        return out

    def rss(self, name: str) -> float | None:
        try:
            return round(rss_mb(self.pids[name]), 1)
        except (OSError, KeyError):
            return None
