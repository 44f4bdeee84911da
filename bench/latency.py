"""The events scenario (controller path only): a paced scenario while a webhook receiver
and a WebSocket client take the tenant's events, timing each caller's
`conferencecall_joined` from the ARI event that caused it.

The ARI event: the SUT's own `ChannelEnteredBridge` for the caller's channel, as Asterisk
stamped it (its `timestamp`, ms resolution, so figures read up to 1 ms high). The bench
sees it through a second ARI application on the SUT (`benchprobe`, subscribeAll, reading
only), matched to the caller by the channel's caller name (the load generator's call id),
as the webhook's and the frame's `data.caller.name`. Also from the answer the caller saw
(the load generator's `ChannelStateChange Up`), which needs no probe on the SUT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench import scenario
from bench.ari import LoadgenAri, event_time
from bench.controller import TOKEN
from bench.loadgen import Call
from bench.receiver import WsTap, first_by_caller, posts
from bench.scenario import ARI, Context, Scenario
from bench.stats import summary
from tests.support.events import Receiver

JOINED = "conferencecall_joined"
PROBE_APP = "benchprobe"


@dataclass(frozen=True)
class SutAri:
    """Where the probe reads the SUT's events."""

    url: str
    user: str
    password: str


class BridgeProbe:
    """caller name -> when the SUT's Asterisk stamped its first ChannelEnteredBridge, and
    when this probe (another ARI client on the same machine) read it: Asterisk's own
    delivery time, which the controller's event waits for too."""

    def __init__(self, sut: SutAri) -> None:
        self.ari = LoadgenAri(sut.url, sut.user, sut.password, PROBE_APP)
        self.entered: dict[str, float] = {}
        self.read: dict[str, float] = {}

    def on_event(self, event: dict[str, Any], received: float) -> None:
        if event.get("type") != "ChannelEnteredBridge":
            return
        name = ((event.get("channel") or {}).get("caller") or {}).get("name")
        if isinstance(name, str) and name not in self.entered:
            self.entered[name] = event_time(event)
            self.read[name] = received

    async def start(self) -> None:
        await self.ari.start(self.on_event)

    async def stop(self) -> None:
        await self.ari.close()


def _delays(start: dict[str, float], end: dict[str, float]) -> list[float]:
    return [1000 * (end[k] - t) for k, t in start.items() if k in end]


def latencies(
    calls: list[Call],
    entered: dict[str, float],
    hooks: dict[str, float],
    frames: dict[str, float],
    read: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The figures: ms from the ARI event (and from the answer) to the POST and the frame."""
    answered = {c.id: c.t_up for c in calls if c.t_up is not None}
    return {
        "joined": len(answered),
        "probe_seen": len([k for k in answered if k in entered]),
        "webhooks": len([k for k in answered if k in hooks]),
        "frames": len([k for k in answered if k in frames]),
        "webhook_ms": summary(_delays(entered, hooks)),
        "ws_ms": summary(_delays(entered, frames)),
        # Asterisk's stamp -> a WebSocket client of its ARI read the event (the probe).
        "asterisk_delivery_ms": summary(_delays(entered, read or {})),
        "answer_to_webhook_ms": summary(_delays(answered, hooks)),
        "answer_to_ws_ms": summary(_delays(answered, frames)),
    }


async def run(
    ctx: Context, sc: Scenario, tag: str, receiver: Receiver, sut: SutAri
) -> dict[str, Any]:
    """Scenario sc on the controller path with the receivers on; its figures plus
    `event_latency`. Everything it registered or opened is gone when it returns."""
    probe = BridgeProbe(sut)
    ws = WsTap(ctx.controller.base, TOKEN)
    hook_id: str | None = None
    calls: list[Call] = []
    await probe.start()
    try:
        await ws.start()
        hook_id = await ctx.controller.add_webhook(f"{receiver.url}/joined/{tag}", [JOINED])
        res = await scenario.run(ctx, sc, ARI, tag, calls)
    finally:
        if hook_id is not None:
            await ctx.controller.delete_webhook(hook_id)
        await ws.stop()
        await probe.stop()
    hooks = first_by_caller(posts(receiver, f"/joined/{tag}"), JOINED)
    frames = first_by_caller(ws.arrivals, JOINED)
    figures = latencies(calls, probe.entered, hooks, frames, probe.read)
    res["event_latency"] = {**figures, "ws_error": ws.error}
    return res
