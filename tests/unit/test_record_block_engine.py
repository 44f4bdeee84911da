"""The Hoiio Record block in the engine (fake ARI): prompt then beep to the caller only,
a snoop of the caller recorded (not the bridge), `#` ends it, the notification row carries
the seed's fields; a caller who hangs up before the beep gets record_status=failed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from confsvc.domain.record_block import RecordBlockError, RecordBlockRequest
from tests.support.fake_ari import EngineHarness, engine_harness, eventually


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[EngineHarness]:
    async with engine_harness(tmp_path, data_dir=str(tmp_path / "data")) as harness:
        yield harness


async def notifications(h: EngineHarness) -> list[dict[str, str]]:
    """The notify_url rows of Record blocks (the outbox sends them)."""
    await h.engine.settle()
    rows = await h.store._fetch(
        "SELECT body FROM deliveries WHERE target LIKE 'record:%' ORDER BY seq", ()
    )
    return [dict(parse_qsl(r[0])) for r in rows]


async def test_prompt_snoop_record_and_hash(h: EngineHarness) -> None:
    conf = await h.create(room="r1")
    call = await h.dial_in("ch-1", "r1")
    req = RecordBlockRequest(max_duration=30, tag="t", notify_url="https://example.com/n")
    answer = await h.engine.record_block("cust-a", call.id, req, ["sound:hello"])
    txn = answer["txn_ref"]
    assert answer == {"status": "success_ok", "txn_ref": txn, "session": call.id}
    with pytest.raises(RecordBlockError) as info:  # one block at a time
        await h.engine.record_block("cust-a", call.id, req, [])
    assert info.value.code == "error_session_not_ready"

    await eventually(lambda: bool(h.ari.called("play_on_channel")))
    (args, kw), *_ = h.ari.called("play_on_channel")
    assert args == ("ch-1", ["sound:hello", "sound:beep"])  # the caller's own channel
    assert not h.ari.called("snoop")  # nothing is recorded before the beep
    h.engine.playback_finished(kw["playback_id"])
    await eventually(lambda: bool(h.ari.called("record_channel")))
    assert h.ari.called("snoop")[0][0] == ("ch-1", f"hrec-{txn}")
    assert h.ari.called("record_channel")[0][0] == (f"hrec-{txn}", txn)
    assert not h.ari.called("record_bridge")  # not the mix
    rec = await h.store.get_recording(txn)
    assert rec is not None and rec.max_duration == 30 and rec.format.value == "mp3"
    assert rec.conference_id == conf.id

    await h.send(
        {
            "type": "ChannelDtmfReceived",
            "digit": "#",
            "duration_ms": 100,
            "channel": h.channel_data["ch-1"],
        }
    )
    await eventually(lambda: txn not in h.ari.live_recordings)
    await eventually(lambda: call.id not in h.engine.record_blocks)
    await h.engine.settle()
    rec = await h.store.get_recording(txn)
    assert rec is not None and rec.status.value == "finished"
    assert any(a[0] == f"hrec-{txn}" for a, _ in h.ari.called("hangup"))  # snoop gone
    (note,) = await notifications(h)
    assert note == {
        "ivr_block": "record",
        "session": call.id,
        "txn_ref": txn,
        "call_state": "ongoing",
        "record_status": "success",
        "from": "1001",
        "to": "r1",
        "tag": "t",
        "record_url": f"{h.settings.base_url}/v1/recordings/{txn}/file",
    }
    events = [e for e in await h.store.list_events("cust-a") if e.type == "record_block_finished"]
    assert len(events) == 1 and events[0].data["txn_ref"] == txn


async def test_hangup_before_the_beep_is_failed_without_a_recording(h: EngineHarness) -> None:
    await h.create(room="r2")
    call = await h.dial_in("ch-2", "r2")
    req = RecordBlockRequest(notify_url="https://example.com/n")
    answer = await h.engine.record_block("cust-a", call.id, req, [])
    await eventually(lambda: bool(h.ari.called("play_on_channel")))
    await h.caller_hangs_up("ch-2")
    (_, kw), *_ = h.ari.called("play_on_channel")
    h.engine.playback_finished(kw["playback_id"])
    await eventually(lambda: call.id not in h.engine.record_blocks)
    await h.engine.settle()
    assert await h.store.get_recording(answer["txn_ref"]) is None
    assert not h.ari.called("snoop")
    with pytest.raises(RecordBlockError) as info:
        await h.engine.record_block("cust-a", call.id, req, [])
    assert info.value.code == "error_session_ended"
    (note,) = await notifications(h)
    assert (note["record_status"], note["call_state"]) == ("failed", "ended")
    assert "record_url" not in note and len(note["date"]) == 19
