"""Transcription in the engine with a scripted ARI: a controller that died with legs up
(kill -9) finds them on restart, removes them and gives each joined caller a new leg; a
leg's own ARI events are never taken for a caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from confsvc.ari import StasisStart
from confsvc.engine import transcribe
from confsvc.transcribe.service import Transcription
from confsvc.transcribe.vad import Utterance
from tests.support.fake_ari import EngineHarness, engine_harness
from tests.unit.test_transcribe_api import EnglishOnly


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[EngineHarness]:
    async with engine_harness(tmp_path) as harness:
        yield harness


def fake_speech(h: EngineHarness) -> None:
    eng = h.engine
    eng.transcription = Transcription(h.settings, h.ari, eng.outbound, backend=EnglishOnly())  # type: ignore[arg-type]


async def test_restart_replaces_the_legs_of_a_dead_controller(h: EngineHarness) -> None:
    fake_speech(h)
    conf = await h.create(room="r1")
    call = await h.dial_in("chan-1", "r1")
    started = await transcribe.start(h.engine, "cust-a", conf.id, "en-US")
    await h.engine.settle()
    assert h.engine.transcription.legs.has(call.id)
    legs = {"txleg-m-chan-1", "txleg-s-chan-1"}
    assert legs <= set(h.ari.channels) and "txleg-b-chan-1" in h.ari.bridges
    # A leg's StasisStart names no room: never refused or admitted as a caller.
    mark = h.ari.mark()
    leg = h.ari.channels["txleg-s-chan-1"]
    await h.engine.handle_event(StasisStart(type="StasisStart", channel=leg, args=[]))
    await h.engine.settle()
    assert h.ari.names_since(mark) == []
    # kill -9: the new engine knows no legs, Asterisk still has them
    h.engine.transcription.legs.legs.clear()
    engine = await h.restart()
    fake_speech(h)
    mark = h.ari.mark()
    await engine.on_connect()
    await engine.settle()
    hung = [a[0] for n, a, _ in h.ari.calls[mark:] if n == "hangup"]
    assert legs <= set(hung)
    assert ("destroy_bridge", ("txleg-b-chan-1",)) in [(n, a) for n, a, _ in h.ari.calls[mark:]]
    assert engine.transcription.legs.has(call.id)  # the caller is transcribed again
    conf_now = await h.conference(conf.id)
    assert conf_now.transcribe_id == started.transcribe_id


async def test_a_full_queue_reports_the_dropped_utterance(h: EngineHarness) -> None:
    fake_speech(h)
    conf = await h.create(room="r2")
    call = await h.dial_in("chan-2", "r2")
    await transcribe.start(h.engine, "cust-a", conf.id, "en")
    await h.engine.settle()
    queue = h.engine.transcription.transcriber
    queue.size = 1
    hold = asyncio.Event()
    backend = queue.backend

    async def slow(pcm: bytes, language: str) -> str:
        await hold.wait()
        return "late"

    backend.transcribe = slow  # type: ignore[method-assign]
    leg = h.engine.transcription.legs.legs[call.id]
    with capture_logs() as logs:
        for k in range(3):  # one decoding, one waiting, then the waiting one is dropped
            h.engine.transcription.legs._submit(leg, Utterance(b"\0\0" * 320, k, k + 0.5))
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)  # the drop is reported by a task of its own
        await h.engine.bus.flush()
    dropped = [e for e in logs if e["event"] == "transcript_dropped"]
    assert len(dropped) == 1 and dropped[0]["conference_id"] == conf.id
    assert queue.dropped == 1
    hold.set()
