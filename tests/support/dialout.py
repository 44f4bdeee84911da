"""Helpers for the dial-out unit tests (tests/unit/test_dialout_*.py): drive the real
engine with what Asterisk sends for an originated channel, and read what it stored."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from confsvc.ari import Channel
from confsvc.domain.dialout import DialoutCall
from tests.support.fake_ari import EngineHarness

A, B, C, D = "+6511111111", "+6522222222", "+6533333333", "+6544444444"
ALLOW = "cust-a:+65,cust-b:+44"


async def settle(h: EngineHarness) -> None:
    """The background dialling and every lane have finished."""
    for _ in range(50):
        await asyncio.gather(*list(h.engine.background), return_exceptions=True)
        await h.engine.settle()
        if not h.engine.background:
            return
    raise AssertionError("background work did not settle")


async def place(h: EngineHarness, conf_id: str, *dests: str, **body: Any) -> list[str]:
    placed = await h.engine.place_calls("cust-a", {"dest": list(dests), **body}, conf_id)
    await settle(h)
    return placed["txn_refs"]  # type: ignore[no-any-return]


async def call(h: EngineHarness, txn: str) -> DialoutCall:
    got = await h.store.get_call(txn)
    assert got is not None
    return got


def channel(txn: str, state: str = "Up") -> dict[str, Any]:
    """An originated channel as ARI shows it: in Stasis once answered, dialling before."""
    if state == "Up":
        dialplan = {"app_name": "Stasis", "app_data": f"confsvc,dialout,{txn}"}
    else:
        dialplan = {"app_name": "AppDial2", "app_data": "(Outgoing Line)"}
    return {
        "id": txn,
        "name": "PJSIP/trunk-0001",
        "state": state,
        "caller": {"number": "+6560000000", "name": ""},
        "dialplan": {"context": "confsvc-outbound", "exten": "s", **dialplan},
    }


async def ring(h: EngineHarness, txn: str) -> None:
    await h.send({"type": "ChannelStateChange", "channel": channel(txn, "Ringing")})


async def answer(h: EngineHarness, txn: str) -> None:
    """What Asterisk sends when the callee picks up: Up, then StasisStart; then the
    admission's addChannel makes ChannelEnteredBridge."""
    h.ari.channels[txn] = msgspec.convert(channel(txn), Channel)
    h.channel_data[txn] = channel(txn)
    await h.send({"type": "ChannelStateChange", "channel": channel(txn)})
    await h.send({"type": "StasisStart", "args": ["dialout", txn], "channel": channel(txn)})
    conf_id = (await call(h, txn)).conference_id
    bridge = h.ari.bridges.get(conf_id)
    if bridge is not None and txn in bridge.channels:
        await h.entered(txn, conf_id)


async def destroyed(h: EngineHarness, txn: str, cause: int, text: str = "") -> None:
    h.ari.channels.pop(txn, None)
    await h.send(
        {"type": "ChannelDestroyed", "cause": cause, "cause_txt": text, "channel": channel(txn)}
    )


async def hang_up_answered(h: EngineHarness, txn: str) -> None:
    await h.caller_hangs_up(txn)
    await destroyed(h, txn, 16, "Normal Clearing")


async def notify_rows(h: EngineHarness) -> list[dict[str, str]]:
    rows = await h.store._fetch(
        "SELECT body FROM deliveries WHERE kind = 'notify' AND target LIKE 'dialout:%' "
        "ORDER BY seq",
        (),
    )
    return [dict(parse_qsl(r[0])) for r in rows]


async def ended_events(h: EngineHarness) -> list[dict[str, Any]]:
    events = await h.store.list_events("cust-a")
    return [e.data for e in events if e.type == "call_ended"]
