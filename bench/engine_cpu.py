"""Controller CPU per join and leave, without Asterisk: the real Engine and SqliteStore
behind the in-memory fake ARI (tests/support/fake_ari.py), events fed as ARI would send
them. Repeatable and quick (seconds), so a change to the hot path shows its cost at once;
`make bench` measures the whole system against ConfBridge.

    python -m bench.engine_cpu [--callers 200] [--rooms 10] [--db-url postgresql://…] 2>/dev/null
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from confsvc.ari import parse_event
from confsvc.logging import configure
from tests.support.fake_ari import EngineHarness, engine_harness


async def settle(h: EngineHarness) -> None:
    settle_engine = getattr(h.engine, "settle", None)  # older engines: lanes only
    await (settle_engine() if settle_engine else h.engine.lanes.drain())


def start_event(h: EngineHarness, ch: str, rooms: int) -> Any:
    room = f"room{int(ch[5:]) % rooms}"
    data = {"type": "StasisStart", "application": "confsvc", "args": [room]}
    return parse_event({**data, "channel": h.channel_data[ch]})


def entered_event(h: EngineHarness, ch: str) -> Any:
    lane = h.engine.call_conference[h.engine.channels[ch]]
    data = {"type": "ChannelEnteredBridge", "application": "confsvc", "bridge": {"id": lane}}
    return parse_event({**data, "channel": h.channel_data[ch]})


async def measure(
    callers: int, rooms: int, paced: bool = False, db_url: str = ""
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        async with engine_harness(Path(tmp), auto_create_rooms=True, db_url=db_url) as h:
            h.ari.auto_leave = False
            for r in range(rooms):
                await h.create(room=f"room{r}", max_participants=20)
            channels = [f"chan-{i}" for i in range(callers)]
            for ch in channels:  # the fake's own bookkeeping, outside the measurement
                h.add_channel(ch, f"room{int(ch[5:]) % rooms}")
            cpu0, wall0 = time.process_time(), time.perf_counter()
            # As the event stream does: each event handed over in order, nobody waiting
            # for the lanes (a burst of callers), then everything settled. paced: each
            # caller settled before the next (callers far apart: no batching at all).
            for ch in channels:
                await h.engine.handle_event(start_event(h, ch, rooms))
                if paced:
                    await settle(h)
                    await h.engine.handle_event(entered_event(h, ch))
                    await settle(h)
            await settle(h)
            if not paced:
                for ch in channels:
                    await h.engine.handle_event(entered_event(h, ch))
                await settle(h)
            cpu1, wall1 = time.process_time(), time.perf_counter()
            for ch in channels:
                await h.caller_hangs_up(ch)
                if paced:
                    await settle(h)
            await settle(h)
            cpu2, wall2 = time.process_time(), time.perf_counter()
    return {
        "join_cpu_ms": (cpu1 - cpu0) * 1000 / callers,
        "join_wall_ms": (wall1 - wall0) * 1000 / callers,
        "leave_cpu_ms": (cpu2 - cpu1) * 1000 / callers,
        "leave_wall_ms": (wall2 - wall1) * 1000 / callers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callers", type=int, default=200)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--paced", action="store_true", help="one caller at a time")
    parser.add_argument("--log-format", default="json", help="json (as deployed) or console")
    parser.add_argument(
        "--db-url", default="", help="an empty PostgreSQL database (default SQLite)"
    )
    args = parser.parse_args()
    configure("INFO", args.log_format)  # as the controller logs: INFO lines cost CPU too
    result = asyncio.run(measure(args.callers, args.rooms, args.paced, args.db_url))
    print(
        f"{args.callers} callers in {args.rooms} rooms{' (paced)' if args.paced else ''}: "
        + ", ".join(f"{k} {v:.2f}" for k, v in result.items())
    )


if __name__ == "__main__":
    main()
