"""Progress lines while the benchmark runs: a full run takes minutes, so every step says
when it starts (what it does) and how it ended (one line of figures), flushed at once."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

PATH_NAME = {"ari": "ARI (confsvc)", "confbridge": "ConfBridge"}


def _ms(s: dict[str, Any] | None, key: str = "p95") -> str:
    v = (s or {}).get(key)
    return "-" if v is None else f"{v:.1f} ms"


class Progress:
    """`[bench  123 s] text` lines on a stream (stderr by default; None: silent)."""

    def __init__(self, stream: TextIO | None = sys.stderr) -> None:
        self.stream = stream
        self.t0 = time.monotonic()

    def line(self, text: str) -> None:
        if self.stream is None:
            return
        elapsed = time.monotonic() - self.t0
        print(f"[bench {elapsed:5.0f} s] {text}", file=self.stream, flush=True)


def calls_done(r: dict[str, Any]) -> str:
    """One line of a call scenario's figures."""
    parts = [
        f"{r['up']} up / {r['failed']} failed / {r['dropped']} dropped",
        f"join p50 {_ms(r['join_ms'], 'p50')} p95 {_ms(r['join_ms'])}",
        f"{r['join_rate'] or '-'} joins/s",
    ]
    if r["path"] == "ari":
        parts.append(f"controller {r['cpu_ms_per_join'].get('controller', '-')} ms CPU/join")
    if r.get("kick_ms"):
        parts.append(f"kick p95 {_ms(r['kick_ms'])}")
    limit = r.get("room_limit")
    if limit and limit["capped"]:
        parts.append(f"room capped at {limit['max_participants']} (asked {limit['asked']})")
    if r.get("event_latency"):
        lat = r["event_latency"]
        parts.append(
            f"ARI event -> webhook p95 {_ms(lat['webhook_ms'])}, -> WS p95 {_ms(lat['ws_ms'])}"
            f" (Asterisk's own delivery p95 {_ms(lat.get('asterisk_delivery_ms') or {})})"
        )
    return "; ".join(parts)


def backlog_done(b: dict[str, Any]) -> str:
    d = b["deliveries"]
    api = b["api_ms"]
    return (
        f"{d['received']} of {d['expected']} deliveries in {d['drain_s']} s "
        f"({d['per_s']}/s{'' if d['complete'] else ', gave up'}); GET /v1/conferences p99 "
        f"during / idle: backlog tenant {_ms(api['backlog_tenant']['during'], 'p99')} / "
        f"{_ms(api['backlog_tenant']['idle'], 'p99')}, other tenant "
        f"{_ms(api['other_tenant']['during'], 'p99')} / {_ms(api['other_tenant']['idle'], 'p99')}"
    )
