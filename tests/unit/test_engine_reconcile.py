"""Reconcile after a (re)connect or restart: Asterisk's bridges and channels against the
store. Most tests build state through the real flows, restart the engine (empty maps and
timers, same store and fake Asterisk), change what the fake Asterisk lists, reconcile."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest

from confsvc.ari import Bridge, Channel
from confsvc.domain import Conference, ConferencecallStatus, ConferenceStatus
from confsvc.engine import reconcile
from tests.support.fake_ari import EngineHarness, channel_json, engine_harness, eventually

C = ConferencecallStatus
S = ConferenceStatus
READ_ONLY = {"list_bridges", "list_channels", "list_stored_recordings"}  # + the spool sweep


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[EngineHarness]:
    async with engine_harness(tmp_path) as harness:
        yield harness


async def run(h: EngineHarness) -> None:
    await reconcile.reconcile(h.engine)
    await h.engine.settle()


def vanish(h: EngineHarness, channel_id: str) -> None:
    """The channel is gone from Asterisk and we never heard (events lost)."""
    h.ari.channels.pop(channel_id, None)
    for bridge in h.ari.bridges.values():
        if channel_id in bridge.channels:
            bridge.channels.remove(channel_id)


def asterisk_state(h: EngineHarness) -> dict[str, Any]:
    return {
        "bridges": {b.id: sorted(b.channels) for b in h.ari.bridges.values()},
        "channels": sorted(h.ari.channels),
    }


def stale_bridge(bridge_id: str, creator: str = "confsvc") -> Bridge:
    return Bridge(id=bridge_id, creator=creator, bridge_type="mixing", name="old")


# --- calls -----------------------------------------------------------------------------


async def test_a_call_whose_channel_is_gone_becomes_leaved(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    stays = await h.dial_in("chan-1", "r1")
    await h.dial_in("chan-2", "r1")
    await h.restart()
    vanish(h, "chan-2")
    assert asterisk_state(h) == {"bridges": {conf.id: ["chan-1"]}, "channels": ["chan-1"]}
    mark = h.ari.mark()

    await run(h)

    assert (await h.call_of("chan-2")).status is C.LEAVED
    assert (await h.call_of("chan-1")).status is C.JOINED
    after = await h.conference(conf.id)
    assert after.conferencecall_ids == (stays.id,) and after.status is S.PROGRESSING
    # The survivor is tracked again, so its later events are routed.
    assert h.engine.channels == {"chan-1": stays.id}
    assert h.engine.call_conference == {stays.id: conf.id}
    assert set(h.ari.names_since(mark)) == READ_ONLY
    await h.caller_hangs_up("chan-1")
    assert (await h.call_of("chan-1")).status is C.LEAVED


async def test_a_channel_in_the_bridge_unknown_to_the_store_is_adopted(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    known = await h.dial_in("chan-1", "r1")
    await h.restart()
    h.add_channel("chan-9", "r1", number="3003", name="Carol")
    h.ari.bridges[conf.id].channels.append("chan-9")
    mark = h.ari.mark()

    await run(h)

    adopted = await h.call_of("chan-9")
    assert adopted.status is C.JOINED
    assert (adopted.conference_id, adopted.customer_id) == (conf.id, "cust-a")
    assert (adopted.caller.number, adopted.caller.name) == ("3003", "Carol")
    assert (await h.conference(conf.id)).conferencecall_ids == (known.id, adopted.id)
    assert h.engine.channels["chan-9"] == adopted.id
    assert set(h.ari.names_since(mark)) == READ_ONLY  # it is already bridged


async def test_a_joining_call_already_in_the_bridge_becomes_joined(h: EngineHarness) -> None:
    """The ChannelEnteredBridge was lost."""
    await h.create(room="r1")
    await h.stasis_start("chan-1", "r1")
    await h.restart()
    await run(h)
    assert (await h.call_of("chan-1")).status is C.JOINED


async def test_a_live_call_outside_the_bridge_is_put_back(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    await h.dial_in("chan-1", "r1")
    await h.restart()
    h.ari.bridges[conf.id].channels.clear()
    mark = h.ari.mark()
    await run(h)
    assert [(n, a) for n, a, _ in h.ari.calls[mark:] if n == "add_channel"] == [
        ("add_channel", (conf.id, "chan-1"))
    ]
    assert (await h.call_of("chan-1")).status is C.JOINED


async def test_a_leaving_call_is_hung_up_again_then_leaves(h: EngineHarness) -> None:
    """Kicked, but the hangup or its leave events were lost."""
    h.ari.auto_leave = False
    await h.create(room="r1")
    call = await h.dial_in("chan-1", "r1")
    await h.engine.kick("cust-a", call.id)
    h.add_channel("chan-1", "r1")  # the hangup did not happen after all
    await h.restart()
    h.ari.auto_leave = True
    mark = h.ari.mark()
    await run(h)
    assert h.ari.names_since(mark).count("hangup") == 1
    assert (await h.call_of("chan-1")).status is C.LEAVED


# --- bridges ---------------------------------------------------------------------------


async def test_a_missing_bridge_is_recreated(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    survivor = await h.dial_in("chan-1", "r1")
    await h.dial_in("chan-2", "r1")
    await h.restart()
    del h.ari.bridges[conf.id]
    vanish(h, "chan-2")
    mark = h.ari.mark()

    await run(h)

    creates = [(a, k) for n, a, k in h.ari.calls[mark:] if n == "create_bridge"]
    assert creates == [((conf.id,), {"type": "mixing", "name": "r1"})]
    assert h.ari.bridges[conf.id].channels == ["chan-1"]  # the live caller is put back
    assert (await h.call_of("chan-2")).status is C.LEAVED
    after = await h.conference(conf.id)
    assert after.status is S.PROGRESSING and after.conferencecall_ids == (survivor.id,)


async def test_a_bridge_of_ours_without_a_live_conference_is_destroyed(h: EngineHarness) -> None:
    live = await h.create(room="r1")
    ended = await h.create(room="r2")
    await h.engine.delete_conference("cust-a", ended.id)
    await h.restart()
    h.ari.bridges[ended.id] = stale_bridge(ended.id)  # its destroy had failed
    h.ari.bridges["orphan"] = stale_bridge("orphan")  # an old run's
    h.ari.bridges["foreign"] = stale_bridge("foreign", creator="other-app")
    mark = h.ari.mark()

    await run(h)

    destroyed = sorted(a[0] for n, a, _ in h.ari.calls[mark:] if n == "destroy_bridge")
    assert destroyed == sorted([ended.id, "orphan"])
    assert set(h.ari.bridges) == {live.id, "foreign"}


async def test_a_starting_conference_is_brought_up(h: EngineHarness) -> None:
    """The controller died between storing the conference and the bridge reply."""
    conf = Conference(id="conf-s", customer_id="cust-a", room="r1", tm_create=h.engine.now())
    await h.store.create_conference(conf)
    await run(h)
    assert (await h.conference("conf-s")).status is S.PROGRESSING
    assert h.ari.called("create_bridge") == [(("conf-s",), {"type": "mixing", "name": "r1"})]


async def test_a_terminating_conference_whose_callers_vanished_ends(h: EngineHarness) -> None:
    h.ari.auto_leave = False
    conf = await h.create(room="r1")
    await h.dial_in("chan-1", "r1")
    await h.engine.delete_conference("cust-a", conf.id)
    await h.restart()
    vanish(h, "chan-1")
    await run(h)
    end = await h.conference(conf.id)
    assert end.status is S.TERMINATED and end.conferencecall_ids == ()
    assert (await h.call_of("chan-1")).status is C.LEAVED
    assert conf.id not in h.ari.bridges


# --- callers waiting in Stasis ---------------------------------------------------------


async def test_a_channel_waiting_in_stasis_is_admitted_to_its_room(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    h.add_channel("chan-5", "r1", number="5005")
    other_app = channel_json("other-app")
    other_app["dialplan"] = {"app_name": "Stasis", "app_data": "someoneelse,r1"}
    h.ari.channels["other-app"] = msgspec.convert(other_app, Channel)
    in_dialplan = channel_json("in-dialplan")
    in_dialplan["dialplan"] = {"app_name": "Dial", "app_data": "PJSIP/r1"}
    h.ari.channels["in-dialplan"] = msgspec.convert(in_dialplan, Channel)
    h.add_channel("no-dialplan")
    mark = h.ari.mark()

    await run(h)

    call = await h.call_of("chan-5")
    assert (call.status, call.conference_id, call.caller.number) == (C.JOINING, conf.id, "5005")
    assert (await h.conference(conf.id)).conferencecall_ids == (call.id,)
    writes = [(n, a) for n, a, _ in h.ari.calls[mark:] if n not in READ_ONLY]
    # Answer and add-to-bridge go out side by side (join.py): their order is not fixed.
    assert sorted(writes) == [("add_channel", (conf.id, "chan-5")), ("answer", ("chan-5",))]
    for ignored in ("other-app", "in-dialplan", "no-dialplan"):
        assert await h.calls_of(ignored) == []

    # Next reconcile: it is in the bridge now (its ChannelEnteredBridge was lost): joined,
    # and still one call.
    await run(h)
    assert (await h.call_of("chan-5")).status is C.JOINED
    assert len(h.ari.called("answer")) == 1


async def test_a_stasis_channel_auto_creates_its_room_when_configured(tmp_path: Path) -> None:
    async with engine_harness(tmp_path, auto_create_rooms=True) as h:
        h.add_channel("chan-5", "newroom")
        await run(h)
        (conf,) = await h.store.find_live_conference_by_room("newroom")
        assert conf.customer_id == "dev"
        assert (await h.call_of("chan-5")).conference_id == conf.id


async def test_a_stasis_channel_for_an_unknown_room_is_refused(h: EngineHarness) -> None:
    h.add_channel("chan-5", "nosuchroom")
    await run(h)
    assert [(a[0], k["reason"]) for a, k in h.ari.called("hangup")] == [("chan-5", "unallocated")]


# --- timers and idempotence --------------------------------------------------------------


async def test_timeouts_are_rearmed_after_a_restart(h: EngineHarness) -> None:
    due = await h.create(room="due", timeout=60)
    later = await h.create(room="later", timeout=3600)
    await h.restart()
    assert h.engine.timers._handles == {}
    # 'due' was created long enough ago that its minute is over.
    aged = (await h.conference(due.id)).model_copy(
        update={"tm_create": due.tm_create - timedelta(minutes=5)}
    )
    await h.store.save_conference(aged)

    await run(h)
    assert set(h.engine.timers._handles) >= {later.id}

    async def ended() -> bool:
        return (await h.conference(due.id)).status is S.TERMINATED

    await eventually(ended)
    assert (await h.conference(later.id)).status is S.PROGRESSING


async def test_reconcile_is_idempotent(h: EngineHarness) -> None:
    r1 = await h.create(room="r1")
    await h.dial_in("chan-1", "r1")
    await h.dial_in("chan-2", "r1")
    r2 = await h.create(room="r2")
    await h.dial_in("chan-3", "r2")
    await h.restart()
    vanish(h, "chan-2")  # hung up while we were away
    h.add_channel("chan-9", "r1")  # joined while we were away
    h.ari.bridges[r1.id].channels.append("chan-9")
    del h.ari.bridges[r2.id]  # Asterisk lost the bridge (chan-3 is still up)
    h.ari.bridges["orphan"] = stale_bridge("orphan")

    await run(h)
    first_store, first_asterisk = await h.snapshot(), asterisk_state(h)
    first_maps = (dict(h.engine.channels), dict(h.engine.call_conference))
    assert first_asterisk == {
        "bridges": {r1.id: ["chan-1", "chan-9"], r2.id: ["chan-3"]},
        "channels": ["chan-1", "chan-3", "chan-9"],
    }
    assert len(first_maps[0]) == 3
    mark = h.ari.mark()

    await run(h)
    assert await h.snapshot() == first_store
    assert asterisk_state(h) == first_asterisk
    assert (dict(h.engine.channels), dict(h.engine.call_conference)) == first_maps
    assert set(h.ari.names_since(mark)) == READ_ONLY
    for channel_id in ("chan-1", "chan-2", "chan-3", "chan-9"):
        assert len(await h.calls_of(channel_id)) == 1


async def test_on_connect_reconciles(h: EngineHarness) -> None:
    await h.create(room="r1")
    await h.dial_in("chan-1", "r1")
    await h.restart()
    vanish(h, "chan-1")
    await h.engine.on_connect()
    await h.engine.settle()
    assert (await h.call_of("chan-1")).status is C.LEAVED
