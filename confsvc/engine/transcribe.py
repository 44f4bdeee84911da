"""Live transcription of a conference, per speaker (issue 13).

    transcribe_start (API) or the first join of a `transcribe: true` conference
        -> Transcribe row (progressing) + conference.transcribe_id, one transaction
           -> transcribe_started; every joined caller gets a leg (transcribe/legs.py)
    a caller joins while it is progressing -> a leg for that caller too
    a caller leaves -> its leg stops (what it was saying is still transcribed)
    each utterance's text -> Transcript row + `transcript_created`, one transaction
    transcribe_stop (API) or the conference ending (StopTranscribe effect)
        -> every leg stopped; Transcribe done, transcribe_id cleared -> transcribe_finished

Everything that changes the conference runs in its lane; segments arrive from the
decoding queue outside any lane (they change no conference state)."""

from __future__ import annotations

from typing import Any

import structlog

from confsvc.ari import AriError, Event
from confsvc.domain import (
    Conference,
    Conferencecall,
    ConferencecallStatus,
    ConferenceStatus,
    conference_transcribe,
)
from confsvc.domain.transcribe import (
    Transcribe,
    create,
    create_transcript,
    primary_language,
    validate_language,
)
from confsvc.engine.core import EngineCore
from confsvc.engine.lookup import delete_owned, owned_conference
from confsvc.store.base import Store
from confsvc.transcribe.legs import Leg, is_leg
from confsvc.transcribe.vad import Utterance

log = structlog.get_logger(__name__)


def is_leg_event(event: Event) -> bool:
    """An ARI event of a transcription leg's own channel or bridge (router: not a caller)."""
    for attr in ("channel", "bridge"):
        res = getattr(event, attr, None)
        if res is not None and is_leg(str(getattr(res, "id", ""))):
            return True
    return False


def is_leg_bridge(bridge_id: str) -> bool:
    return is_leg(bridge_id)


# --- start -----------------------------------------------------------------------------


async def start(
    core: EngineCore, customer_id: str, conference_id: str, language: str
) -> Conference:
    """POST /conferences/{id}/transcribe_start: 422 bad or unsupported language, 404
    another tenant's conference, 409 unless progressing without an active transcription."""
    tag = validate_language(language)
    await owned_conference(core, customer_id, conference_id)
    await core.transcription.check_language(tag)

    async def do() -> Conference:
        conf = await owned_conference(core, customer_id, conference_id)
        return await begin(core, conf, tag)

    return await core.lanes.run(conference_id, do)


async def begin(core: EngineCore, conf: Conference, tag: str) -> Conference:
    """Inside the lane: the domain refuses first (409, nothing written)."""
    now = core.now()
    tx = create(customer_id=conf.customer_id, conference_id=conf.id, language=tag, now=now)
    started = conference_transcribe.started(conf, tx.id, now)

    async def write(store: Store) -> None:
        await store.save_transcribe(tx)
        await store.save_conference(started, conf)
        await core.bus.journal.emit(store, "transcribe_started", tx.customer_id, tx.to_json())

    core.rooms.remember(started)
    await core.writer.submit(write)
    log.info("transcription started", conference=conf.id, transcribe=tx.id, language=tag)
    for call in core.rooms.live_calls(conf.id):
        if call.status is ConferencecallStatus.JOINED:
            await attach(core, tx, call)
    return started


async def auto_start(core: EngineCore, conference_id: str) -> None:
    """A caller joined (in the lane): `transcribe: true` starts once."""
    conf = await core.conference(conference_id)
    if conf is None or not conference_transcribe.wants_auto(conf) or not conf.transcribe_language:
        return
    await begin(core, conf, conf.transcribe_language)


async def on_joined(core: EngineCore, conference_id: str, call: Conferencecall) -> None:
    """join.entered_bridge hook: the first caller of a `transcribe: true` room starts it;
    later callers of a room being transcribed get their own leg."""
    conf = await core.conference(conference_id)
    if conf is None:
        return
    if conf.transcribe_id is None:
        await auto_start(core, conference_id)
        return
    tx = await core.store.get_transcribe(conf.transcribe_id)
    if tx is not None and tx.is_active:
        await attach(core, tx, call)


async def on_leaved(core: EngineCore, call: Conferencecall) -> None:
    """leave.finish hook."""
    await core.transcription.legs.stop(call.id)


async def attach(core: EngineCore, tx: Transcribe, call: Conferencecall) -> None:
    legs = core.transcription.legs
    if legs.has(call.id):
        return

    async def done(leg: Leg, utt: Utterance, text: str) -> None:
        await _segment(core, tx, call, utt, text)

    async def dropped(leg: Leg, utt: Utterance) -> None:
        data = _utterance_json(tx, call, utt) | {"reason": "queue_full"}
        await core.bus.emit("transcript_dropped", tx.customer_id, data)

    leg = Leg(
        conferencecall_id=call.id,
        channel_id=call.reference_id,
        transcribe_id=tx.id,
        language=primary_language(tx.language),
        done=done,
        dropped=dropped,
    )
    try:
        await legs.start(leg)
    except (AriError, OSError) as exc:  # usually the caller hung up meanwhile
        log.info("caller not transcribed", call=call.id, error=str(exc))


def _utterance_json(tx: Transcribe, call: Conferencecall, utt: Utterance) -> dict[str, Any]:
    return {
        "id": tx.id,
        "transcribe_id": tx.id,
        "conference_id": tx.conference_id,
        "conferencecall_id": call.id,
        "start_ms": int(utt.start * 1000),
        "end_ms": int(utt.end * 1000),
    }


async def _segment(
    core: EngineCore, tx: Transcribe, call: Conferencecall, utt: Utterance, text: str
) -> None:
    """One utterance's text: stored and announced in one transaction."""
    seg = create_transcript(
        transcribe=tx,
        conferencecall_id=call.id,
        caller_number=call.caller.number,
        caller_name=call.caller.name,
        start_ms=int(utt.start * 1000),
        end_ms=int(utt.end * 1000),
        text=text,
        now=core.now(),
    )
    async with core.store.transaction() as store:
        if await store.get_transcribe(tx.id) is None:
            return  # deleted meanwhile (a late utterance of a stopped transcription)
        await store.add_transcript(seg)
        # In this transaction (bus.emit would queue behind it in the writer and wait).
        await core.bus.journal.emit(store, "transcript_created", seg.customer_id, seg.to_json())
    log.info("transcript", transcribe=tx.id, call=call.id, chars=len(seg.text))


# --- stop ------------------------------------------------------------------------------


async def stop(core: EngineCore, customer_id: str, conference_id: str) -> Conference:
    """POST /conferences/{id}/transcribe_stop: 409 when none is active."""
    await owned_conference(core, customer_id, conference_id)

    async def do() -> Conference:
        conf = await owned_conference(core, customer_id, conference_id)
        tx_id = conference_transcribe.active(conf)
        await stop_inside_lane(core, conf.id, tx_id)
        return (await core.conference(conf.id)) or conf

    return await core.lanes.run(conference_id, do)


async def stop_inside_lane(core: EngineCore, conference_id: str, transcribe_id: str) -> None:
    """Legs stopped, the transcribe done and the conference's transcribe_id cleared."""
    legs = core.transcription.legs
    for leg in legs.of_transcribe(transcribe_id):
        await legs.stop(leg.conferencecall_id)
    tx = await core.store.get_transcribe(transcribe_id)
    old = await core.conference(conference_id)
    now = core.now()
    conf = conference_transcribe.stopped(old, transcribe_id, now) if old is not None else None
    finished = tx.finish(now) if tx is not None and tx.is_active else None

    async def write(store: Store) -> None:
        if finished is not None:
            await store.save_transcribe(finished)
            data = finished.to_json()
            await core.bus.journal.emit(store, "transcribe_finished", finished.customer_id, data)
        if conf is not None and conf is not old:
            await store.save_conference(conf, old)

    if conf is not None and conf is not old:
        core.rooms.remember(conf)
    await core.writer.submit(write)
    log.info("transcription stopped", conference=conference_id, transcribe=transcribe_id)


# --- delete ----------------------------------------------------------------------------


async def delete(core: EngineCore, customer_id: str, transcribe_id: str) -> Transcribe:
    """DELETE /transcribes/{id}: it and its transcripts; 409 while progressing."""

    async def remove(current: Transcribe) -> None:
        await core.store.delete_transcribe(current.id)

    return await delete_owned(
        core,
        "transcribe",
        transcribe_id,
        lambda: core.store.get_transcribe(transcribe_id, customer_id),
        remove,
    )


# --- reconcile -------------------------------------------------------------------------


async def reconcile(core: EngineCore) -> None:
    """After a (re)connect: legs Asterisk holds that we do not (an earlier run's) are
    removed; each progressing transcribe is finished when its conference no longer runs
    it, else its joined callers without a leg get one."""
    legs = core.transcription.legs
    ours = {getattr(leg, a) for leg in legs.legs.values() for a in ("media_id", "snoop_id")}
    bridges = {leg.bridge_id for leg in legs.legs.values()}
    try:
        for bridge in await core.ari.list_bridges():
            if is_leg(bridge.id) and bridge.id not in bridges:
                await core.ari.destroy_bridge(bridge.id)
        for ch in await core.ari.list_channels():
            if is_leg(ch.id) and ch.id not in ours:
                await core.hangup(ch.id)
    except AriError as exc:
        log.warning("transcription legs not reconciled", error=str(exc))
    for tx in await core.store.list_active_transcribes():

        async def fix(tx: Transcribe = tx) -> None:
            conf = await core.conference(tx.conference_id)
            if (
                conf is None
                or conf.status is not ConferenceStatus.PROGRESSING
                or conf.transcribe_id != tx.id
            ):
                await stop_inside_lane(core, tx.conference_id, tx.id)
                return
            for call in core.rooms.live_calls(conf.id):
                if call.status is ConferencecallStatus.JOINED:
                    await attach(core, tx, call)

        core.lanes.fire(tx.conference_id, fix, "reconcile transcribe")
