"""The load generator: SIP calls from a second Asterisk into the system under test.

Each call is originated through the load generator's ARI as PJSIP/<target>@sut (target
`<room>` for the controller's Stasis path, `cb-<room>` for plain ConfBridge) and runs the
load generator's [loadgen-call] dial plan once answered (tone out, talk detection in).
Every time comes from the load generator's own events:

- join (INVITE -> 200 OK): host clock just before POST /channels -> ChannelStateChange Up
- first mixed audio: -> ChannelTalkingStarted (TALK_DETECT: the first non-silent frame
  received, i.e. another caller's tone through the room's mix)
- remote hangup (BYE received): the first ChannelHangupRequest not caused by us
- QoS at hangup: RTPAUDIOQOS / RTPAUDIOQOSJITTER, which chan_pjsip sets on the channel
  when it hangs up (ChannelVarset events)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.ari import AriFailure, LoadgenAri, event_time

CONTEXT = "loadgen-call"
EXTEN = "talk"


@dataclass
class Call:
    id: str
    room: str
    target: str  # what is dialled on the SUT: <room> or cb-<room>
    t_originate: float = 0.0
    t_up: float | None = None
    t_talk: float | None = None
    t_local_hangup: float | None = None
    t_remote_hangup: float | None = None
    t_destroyed: float | None = None
    cause: int | None = None
    error: str | None = None
    room_live: bool = False  # the room already had audio flowing when this call was made
    qos: dict[str, float] = field(default_factory=dict)

    @property
    def ended(self) -> bool:
        return self.t_destroyed is not None or self.error is not None

    @property
    def live(self) -> bool:
        return self.t_up is not None and not self.ended

    @property
    def join_ms(self) -> float | None:
        return None if self.t_up is None else 1000 * (self.t_up - self.t_originate)

    @property
    def audio_ms(self) -> float | None:
        if self.t_talk is None or not self.room_live:
            return None
        return 1000 * (self.t_talk - self.t_originate)


def parse_qos(value: str) -> dict[str, float]:
    """'a=1;b=0.5;' -> {'a': 1.0, 'b': 0.5} (non-numbers skipped)."""
    out: dict[str, float] = {}
    for part in value.split(";"):
        key, _, val = part.strip().partition("=")
        try:
            out[key.strip()] = float(val)
        except ValueError:
            continue
    return out


class LoadGen:
    def __init__(self, ari: LoadgenAri, account: str, max_call_seconds: int = 600) -> None:
        self.ari = ari
        self.account = account
        self.max_call_seconds = max_call_seconds
        self.calls: dict[str, Call] = {}
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.ari.start(self.on_event)

    async def close(self) -> None:
        await self.ari.close()

    # --- events --------------------------------------------------------------------------

    def on_event(self, event: dict[str, Any], _received: float) -> None:
        channel = event.get("channel") or {}
        call = self.calls.get(channel.get("id", ""))
        if call is None:
            return
        kind = event.get("type")
        if kind == "ChannelStateChange" and channel.get("state") == "Up" and call.t_up is None:
            call.t_up = event_time(event)
        elif kind == "ChannelTalkingStarted" and call.t_talk is None:
            call.t_talk = event_time(event)
        elif kind == "ChannelHangupRequest":
            # Ours (DELETE) carry soft=true; a BYE from the SUT does not.
            if not event.get("soft") and call.t_local_hangup is None:
                if call.t_remote_hangup is None:
                    call.t_remote_hangup = event_time(event)
        elif kind == "ChannelVarset" and str(event.get("variable", "")).startswith("RTPAUDIOQOS"):
            if event["variable"] in ("RTPAUDIOQOS", "RTPAUDIOQOSJITTER", "RTPAUDIOQOSLOSS"):
                call.qos.update(parse_qos(str(event.get("value", ""))))
        elif kind == "ChannelDestroyed":
            call.t_destroyed = event_time(event)
            call.cause = event.get("cause")
        else:
            return
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, pred: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not pred():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            waiter = self._changed
            try:
                await asyncio.wait_for(waiter.wait(), min(left, 0.5))
            except TimeoutError:
                pass
        return True

    # --- actions -------------------------------------------------------------------------

    def dial(self, call_id: str, room: str, target: str, tone_hz: int) -> Call:
        """Originate now (in a task: the schedule never waits on the HTTP reply)."""
        call = Call(id=call_id, room=room, target=target)
        call.room_live = any(
            c.room == room and c.live and c.t_up is not None and time.time() - c.t_up > 0.3
            for c in self.calls.values()
        )
        self.calls[call_id] = call
        call.t_originate = time.time()
        self._spawn(self._originate(call, tone_hz))
        return call

    async def _originate(self, call: Call, tone_hz: int) -> None:
        try:
            await self.ari.originate(
                call.id,
                f"PJSIP/{call.target}@sut",
                context=CONTEXT,
                extension=EXTEN,
                # The display name carries our call id: the SUT shows it as caller.name.
                caller_id=f'"{call.id}" <{self.account}>',
                variables={"LG_TONE": str(tone_hz), "LG_MAX": str(self.max_call_seconds)},
                timeout=15,
            )
        except (AriFailure, OSError, TimeoutError) as exc:
            call.error = f"originate: {exc}"
            self._changed.set()

    def hangup(self, call: Call) -> None:
        if call.ended or call.t_local_hangup is not None:
            return
        call.t_local_hangup = time.time()
        self._spawn(self.ari.hangup(call.id))

    def forget(self, calls: list[Call]) -> None:
        """Stop tracking finished calls (their records stay with the scenario)."""
        for call in calls:
            self.calls.pop(call.id, None)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait for the originate/hangup requests still in flight."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
