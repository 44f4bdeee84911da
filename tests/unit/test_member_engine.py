"""Participant control in the engine with the fake ARI: member operations (mute, deaf,
play), DTMF (hangup_on_star, digits_match, relay), floor events, time limits, sounds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from confsvc.ari import AriUnavailable
from confsvc.domain import ConferencecallStatus, ConferenceStatus, InvalidTransition
from confsvc.engine import AsteriskUnavailable, NotFound
from confsvc.engine.media import URL_PAD_TO, media_uris
from tests.support.fake_ari import EngineHarness, engine_harness, eventually

C = ConferencecallStatus


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[EngineHarness]:
    async with engine_harness(tmp_path) as harness:
        yield harness


def names(h: EngineHarness, mark: int) -> list[str]:
    return h.ari.names_since(mark)


async def dtmf(h: EngineHarness, channel_id: str, digits: str) -> None:
    for d in digits:
        await h.send(
            {"type": "ChannelDtmfReceived", "digit": d, "channel": h.channel_data[channel_id]}
        )


# --- media -----------------------------------------------------------------------------


def test_media_uris() -> None:
    assert media_uris("beep:1") == ["sound:beep"]
    assert media_uris("beep:2") == ["sound:beep", "sound:beep"]
    assert media_uris("conf-onlyperson") == ["sound:conf-onlyperson"]
    (uri,) = media_uris("http://h/a.wav")
    assert uri.startswith("sound:http://h/a.wav#") and len(uri) == len("sound:") + URL_PAD_TO
    (frag,) = media_uris("http://h/a.wav#x")
    assert frag.startswith("sound:http://h/a.wav#x_")
    long = "https://h/" + "a" * 300 + ".wav"
    assert media_uris(long) == ["sound:" + long]


# --- mute / deaf / play ----------------------------------------------------------------


async def test_mute_unmute_deaf_undeaf_go_to_ari_and_the_store(h: EngineHarness) -> None:
    await h.create(room="r1")
    call = await h.dial_in("chan-1", "r1")
    e = h.engine
    muted = await e.set_muted("cust-a", call.id, True)
    assert muted.muted and (await h.call_of("chan-1")).muted
    assert h.ari.called("mute") == [(("chan-1", "in"), {})]
    await e.set_muted("cust-a", call.id, True)  # again: nothing sent
    assert len(h.ari.called("mute")) == 1
    await e.set_muted("cust-a", call.id, False)
    assert h.ari.called("unmute") == [(("chan-1", "in"), {})]
    deaf = await e.set_deaf("cust-a", call.id, True)
    assert deaf.deaf and h.ari.called("mute")[-1] == (("chan-1", "out"), {})
    await e.set_deaf("cust-a", call.id, False)
    assert h.ari.called("unmute")[-1] == (("chan-1", "out"), {})
    final = await h.call_of("chan-1")
    assert not final.muted and not final.deaf and final.status is C.JOINED


async def test_member_ops_refuse_other_tenants_and_gone_calls(h: EngineHarness) -> None:
    await h.create(room="r1")
    call = await h.dial_in("chan-1", "r1")
    for op in (
        h.engine.set_muted("cust-b", call.id, True),
        h.engine.set_deaf("cust-b", call.id, True),
        h.engine.play("cust-b", call.id, "beep:1"),
        h.engine.stop_play("cust-b", call.id),
        h.engine.set_muted("cust-a", "nope", True),
    ):
        with pytest.raises(NotFound):
            await op
    await h.caller_hangs_up("chan-1")
    for op in (
        h.engine.set_muted("cust-a", call.id, True),
        h.engine.set_deaf("cust-a", call.id, False),
        h.engine.play("cust-a", call.id, "beep:1"),
    ):
        with pytest.raises(InvalidTransition):
            await op
    assert h.ari.called("mute") == [] and h.ari.called("play_on_channel") == []


async def test_asterisk_refusing_a_mute_changes_nothing(h: EngineHarness) -> None:
    await h.create(room="r1")
    call = await h.dial_in("chan-1", "r1")
    h.ari.fail_member_ops = True
    with pytest.raises(AsteriskUnavailable):
        await h.engine.set_muted("cust-a", call.id, True)
    assert not (await h.call_of("chan-1")).muted
    h.ari.fail_member_ops = False
    h.ari.channels.pop("chan-1")  # hung up, its events not seen yet
    with pytest.raises(InvalidTransition, match="gone"):
        await h.engine.set_deaf("cust-a", call.id, True)
    assert not (await h.call_of("chan-1")).deaf


async def test_play_and_stop(h: EngineHarness) -> None:
    await h.create(room="r1")
    await h.stasis_start("chan-0", "r1")  # joining: not playable yet
    joining = await h.call_of("chan-0")
    with pytest.raises(InvalidTransition):
        await h.engine.play("cust-a", joining.id, "beep:1")
    call = await h.dial_in("chan-1", "r1")
    await h.engine.play("cust-a", call.id, "beep:2")
    ((args, kw),) = h.ari.called("play_on_channel")
    assert args == ("chan-1", ["sound:beep", "sound:beep"])
    playback = kw["playback_id"]
    await h.engine.stop_play("cust-a", call.id)
    assert h.ari.called("stop_playback") == [((playback,), {})]
    await h.engine.stop_play("cust-a", call.id)  # nothing left to stop
    assert len(h.ari.called("stop_playback")) == 1
    await h.engine.play("cust-a", call.id, "beep:1")
    pid = h.ari.called("play_on_channel")[-1][1]["playback_id"]
    await h.send({"type": "PlaybackFinished", "playback": {"id": pid, "state": "done"}})
    assert h.engine.members.plays[call.id] == set()


async def test_play_validates_media_first(h: EngineHarness) -> None:
    from confsvc.domain import ValidationFailed

    with pytest.raises(ValidationFailed) as err:
        await h.engine.play("cust-a", "unknown-call", "ftp://x/y.wav")
    assert err.value.field == "media"


# --- DTMF ------------------------------------------------------------------------------


async def test_digits_in_a_plain_room_do_nothing(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    assert h.ari.called("create_bridge")[-1][1]["type"] == "mixing"
    await h.dial_in("chan-1", "r1")
    await h.dial_in("chan-2", "r1")
    assert all(kw["absorb_dtmf"] is True for _, kw in h.ari.called("add_channel"))
    mark = h.ari.mark()
    await dtmf(h, "chan-1", "*123#")
    assert names(h, mark) == []
    assert (await h.conference(conf.id)).conferencecall_ids


async def test_star_digits_match_and_relay(
    h: EngineHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    emitted: list[tuple[str, str, dict[str, Any]]] = []
    monkeypatch.setattr(
        h.engine.bus, "emit", lambda kind, cust, data: emitted.append((kind, cust, data))
    )
    options = {"hangup_on_star": True, "digits_match": "123,#9", "relay_dtmf": True}
    await h.create(room="r1", options=options)
    assert h.ari.called("create_bridge")[-1][1]["type"] == "mixing,dtmf_events"
    a = await h.dial_in("chan-1", "r1")
    await h.dial_in("chan-2", "r1")
    await h.dial_in("chan-3", "r1")
    await dtmf(h, "chan-1", "5123")
    assert [(k, d["id"], d["digits"]) for k, _, d in emitted] == [
        ("conferencecall_digits", a.id, "123")
    ]
    assert emitted[0][1] == "cust-a" and emitted[0][2]["status"] == "joined"
    relayed = [args for args, _ in h.ari.called("send_dtmf")]
    # Plivo relayDTMF: every digit except digitsMatch (issue 19): "123" is not relayed.
    assert relayed == [(ch, "5") for ch in ("chan-2", "chan-3")]
    await dtmf(h, "chan-2", "#9")
    assert emitted[-1][2]["digits"] == "#9"
    assert len(h.ari.called("send_dtmf")) == 2  # "#9" matched: not relayed either
    mark = h.ari.mark()
    await dtmf(h, "chan-1", "*")
    assert "send_dtmf" not in names(h, mark) and "hangup" in names(h, mark)
    assert (await h.call_of("chan-1")).status is C.LEAVED


# --- floor, time limit, sounds ---------------------------------------------------------


async def test_floor_events(h: EngineHarness) -> None:
    conf = await h.create(room="r1", options={"floor_events": True})
    a = await h.dial_in("chan-1", "r1")
    b = await h.dial_in("chan-2", "r1")
    assert h.ari.called("set_channel_var")[0][0] == ("chan-1", "TALK_DETECT(set)", "")

    async def talk(channel: str, kind: str) -> None:
        await h.send({"type": kind, "channel": h.channel_data[channel]})

    await talk("chan-1", "ChannelTalkingStarted")
    assert (await h.call_of("chan-1")).talking
    assert (await h.conference(conf.id)).floor_conferencecall_id == a.id
    await talk("chan-2", "ChannelTalkingStarted")
    assert (await h.conference(conf.id)).floor_conferencecall_id == b.id
    await talk("chan-2", "ChannelTalkingFinished")
    assert not (await h.call_of("chan-2")).talking
    assert (await h.conference(conf.id)).floor_conferencecall_id == b.id  # kept
    await h.engine.set_muted("cust-a", a.id, True)
    await talk("chan-1", "ChannelTalkingStarted")  # muted: no floor
    assert (await h.conference(conf.id)).floor_conferencecall_id == b.id
    await h.caller_hangs_up("chan-2")
    assert (await h.conference(conf.id)).floor_conferencecall_id is None


async def test_member_time_limit_removes_the_caller(h: EngineHarness) -> None:
    conf = await h.create(room="r1", options={"member_time_limit": 1})
    await h.dial_in("chan-1", "r1")

    async def gone() -> bool:
        await h.engine.settle()
        return (await h.call_of("chan-1")).status is C.LEAVED

    await eventually(gone, timeout=3)
    assert (await h.conference(conf.id)).status.value == "progressing"  # the room stays


async def test_time_limit_ends_the_conference(h: EngineHarness) -> None:
    """Plivo timeLimit: the conference's maximum duration (issue 19), not the caller's."""
    conf = await h.create(room="r1", options={"time_limit": 1})
    await h.dial_in("chan-1", "r1")

    async def ended() -> bool:
        await h.engine.settle()
        return (await h.conference(conf.id)).status.value == "terminated"

    await eventually(ended, timeout=4)
    assert (await h.call_of("chan-1")).status is C.LEAVED


async def test_enter_and_exit_sounds_play_to_the_room(h: EngineHarness) -> None:
    conf = await h.create(room="r1", options={"enter_sound": "beep:1", "exit_sound": "beep:2"})
    await h.dial_in("chan-1", "r1")
    await h.dial_in("chan-2", "r1")
    played = [(a, kw["playback_id"]) for a, kw in h.ari.called("play_on_bridge")]
    assert [a for a, _ in played] == [(conf.id, ["sound:beep"])] * 2
    await h.caller_hangs_up("chan-2")
    assert h.ari.called("play_on_bridge")[-1][0] == (conf.id, ["sound:beep", "sound:beep"])


async def test_stay_alone_false_ends_the_room(h: EngineHarness) -> None:
    conf = await h.create(room="r1", options={"stay_alone": False})
    await h.dial_in("chan-1", "r1")
    await h.dial_in("chan-2", "r1")
    await h.dial_in("chan-3", "r1")
    await h.caller_hangs_up("chan-3")
    assert (await h.conference(conf.id)).status is ConferenceStatus.PROGRESSING
    await h.caller_hangs_up("chan-2")
    assert (await h.call_of("chan-1")).status is C.LEAVED
    assert (await h.conference(conf.id)).status is ConferenceStatus.TERMINATED


async def test_wait_sound_while_alone(h: EngineHarness) -> None:
    conf = await h.create(room="r1", options={"wait_sound": "http://h/hold.wav"})
    await h.dial_in("chan-1", "r1")
    ((args, kw),) = h.ari.called("play_on_bridge")
    assert args[0] == conf.id and args[1][0].startswith("sound:http://h/hold.wav#")
    first = kw["playback_id"]
    h.engine.members.wait_started[conf.id] -= 1.0  # it played for a second
    await h.send({"type": "PlaybackFinished", "playback": {"id": first, "state": "done"}})
    assert len(h.ari.called("play_on_bridge")) == 2  # looped
    await h.dial_in("chan-2", "r1")
    second = h.ari.called("play_on_bridge")[-1][1]["playback_id"]
    assert h.ari.called("stop_playback")[-1] == ((second,), {})
    await h.caller_hangs_up("chan-2")
    assert len(h.ari.called("play_on_bridge")) == 3  # alone again


async def test_moh_class_wait_sound_and_ari_errors_are_survived(h: EngineHarness) -> None:
    conf = await h.create(room="r1", options={"wait_sound": "default"})

    async def refuse(*_: Any, **__: Any) -> None:
        raise AriUnavailable(0, "POST", "/bridges/x/moh", "down")

    h.ari.start_bridge_moh = refuse  # type: ignore[method-assign]
    call = await h.dial_in("chan-1", "r1")
    assert call.status is C.JOINED
    del h.ari.start_bridge_moh
    await h.dial_in("chan-2", "r1")
    assert h.ari.called("stop_bridge_moh") == [((conf.id,), {})]
