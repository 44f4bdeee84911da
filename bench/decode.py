"""python -m bench.decode: µs per ARI event decoded from the websocket text, as the event
stream does it (no Asterisk needed). The payloads are shaped like Asterisk 22's.

Before msgspec (json.loads + pydantic validation), on the 2-core dev box under load:
StasisStart ~16-19, ChannelEnteredBridge ~22-27, StasisEnd ~15-21 µs/event."""

from __future__ import annotations

import argparse
import json
import timeit
from collections.abc import Callable
from typing import Any

from confsvc.ari import Event, decode_event

TS = "2025-03-04T10:11:12.345+0000"
CHANNEL: dict[str, Any] = {
    "id": "1741083072.17",
    "name": "PJSIP/sut-00000008",
    "state": "Ring",
    "protocol_id": "a84d2f1e-3c2b-4a55-9d3e-0e1f2a3b4c5d@127.0.0.1",
    "caller": {"name": "Caller 17", "number": "1017"},
    "connected": {"name": "", "number": ""},
    "accountcode": "",
    "dialplan": {
        "context": "confsvc-in",
        "exten": "room-3",
        "priority": 2,
        "app_name": "Stasis",
        "app_data": "confsvc,room-3",
    },
    "creationtime": TS,
    "language": "en",
}
BRIDGE: dict[str, Any] = {
    "id": "0b9c7a52-3f7e-4d8e-9a57-2f7d2c1e5b11",
    "technology": "softmix",
    "bridge_type": "mixing",
    "bridge_class": "stasis",
    "creator": "confsvc",
    "name": "room-3",
    "channels": ["1741083072.15", "1741083072.16", "1741083072.17"],
    "creationtime": TS,
    "video_mode": "talker",
}
BASE: dict[str, Any] = {"timestamp": TS, "asterisk_id": "02:42:ac:11:00:02"}
EVENTS: dict[str, dict[str, Any]] = {
    "StasisStart": {
        "type": "StasisStart",
        **BASE,
        "args": ["room-3"],
        "channel": CHANNEL,
        "application": "confsvc",
    },
    "ChannelEnteredBridge": {
        "type": "ChannelEnteredBridge",
        **BASE,
        "bridge": BRIDGE,
        "channel": {**CHANNEL, "state": "Up"},
        "application": "confsvc",
    },
    "StasisEnd": {
        "type": "StasisEnd",
        **BASE,
        "channel": {**CHANNEL, "state": "Up"},
        "application": "confsvc",
    },
}


def decode(message: str) -> Event:
    """What EventStream does with one websocket message."""
    return decode_event(message)


def per_event_us(fn: Callable[[], object], number: int, repeat: int) -> float:
    """Best of `repeat` runs of `number` calls, in µs per call (best: least disturbed)."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.decode", description=__doc__)
    ap.add_argument("--number", type=int, default=20000, help="decodes per run")
    ap.add_argument("--repeat", type=int, default=5, help="runs (the best one counts)")
    args = ap.parse_args(argv)
    for name, data in EVENTS.items():
        message = json.dumps(data)
        event = decode(message)
        assert type(event).__name__ == name, event  # the typed class, not the generic one
        us = per_event_us(lambda m=message: decode(m), args.number, args.repeat)
        print(f"{name:<22} {len(message):5d} B  {us:7.2f} µs/event")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
