"""The Hoiio Record block (seed 002) on a conferencecall: record what ONE caller says
(not the room's mix) while it stays in the room.

    start (API, after the prompt's speech is made)      -> 200 success_ok, txn_ref
        in the lane: the call is joined and runs no other block (else error_session_*)
    then in the background (run):
        prompt: POST /channels/{call}/play media=<prompt...>,sound:beep; wait for its
                PlaybackFinished (only that caller hears it)
        in the lane: Recording row (an ordinary recording: download, delete, events),
                POST /channels/{call}/snoop spy=in (id hrec-<recording id>: what the caller
                sends), POST /channels/{snoop}/record name=<recording id>; max_duration
                timer armed (engine/record.py)
        ends by `#` (engine/dtmf.py -> hash_pressed), max_duration, or the caller hanging
        up (the snoop goes with it): record.stop_inside_lane / RecordingFinished ->
        record_end.finalize
        then: the snoop hung up, `record_block_finished` event + the seed's notification
        to notify_url in one transaction (the outbox sends it), the block forgotten.

A caller who hangs up before the beep gets record_status=failed and no recording. The
block lives in memory: a controller restart mid-block still finalizes the recording
(record.reconcile) but sends no notification."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog

from confsvc.ari import AriError, AriNotFound, Event
from confsvc.ari.stasis import when_in_stasis
from confsvc.domain import Conferencecall, ConferencecallStatus, Recording, create_recording
from confsvc.domain.ids import new_id
from confsvc.domain.record_block import RecordBlockError, RecordBlockRequest, RecordBlockResult
from confsvc.engine import record, record_end
from confsvc.engine.core import EngineCore
from confsvc.engine.lookup import owned_call
from confsvc.events.model import NOTIFY
from confsvc.events.routing import form_post
from confsvc.store.base import Store

log = structlog.get_logger(__name__)

SNOOP_PREFIX = "hrec-"
EVENT = "record_block_finished"
PROMPT_WAIT_SECONDS = 600.0  # a prompt longer than this is cut off
FINISH_SLACK_SECONDS = 60.0  # past max_duration, waiting for the file to be final


def is_snoop_event(event: Event) -> bool:
    """An ARI event of a Record block's snoop channel (router: not a caller)."""
    channel = getattr(event, "channel", None)
    return channel is not None and str(getattr(channel, "id", "")).startswith(SNOOP_PREFIX)


async def start(
    core: EngineCore,
    customer_id: str,
    call_id: str,
    req: RecordBlockRequest,
    media: list[str],
) -> dict[str, Any]:
    """Answers once the block is accepted; the prompt and the recording run after."""
    call = await owned_call(core, customer_id, call_id)
    txn_ref = new_id()

    async def claim() -> None:
        current = await owned_call(core, customer_id, call_id)
        if current.status is not ConferencecallStatus.JOINED:
            raise RecordBlockError(
                "error_session_ended", "the call is not in the room", field="session", status=409
            )
        if current.id in core.record_blocks:
            raise RecordBlockError(
                "error_session_not_ready",
                "a Record block is still running on this call: wait for its notification",
                field="session",
                status=409,
            )
        core.record_blocks[current.id] = txn_ref

    await core.lanes.run(call.conference_id, claim)
    core.spawn(run(core, call.id, call.conference_id, txn_ref, req, media))
    log.info("record block accepted", call=call.id, block=txn_ref)
    return {"status": "success_ok", "txn_ref": txn_ref, "session": call.id}


async def run(
    core: EngineCore,
    call_id: str,
    lane: str,
    txn_ref: str,
    req: RecordBlockRequest,
    media: list[str],
) -> None:
    """The block after its answer; forgotten (a next block may start) once its
    notification is stored."""
    try:
        rec = None
        try:
            await _prompt(core, call_id, txn_ref, media)
            rec = await core.lanes.run(lane, lambda: _begin(core, call_id, txn_ref, req))
            if rec is not None:
                await _wait_final(core, rec)
        finally:
            await core.hangup(SNOOP_PREFIX + txn_ref)  # gone already: nothing to do
        await _notify(core, call_id, txn_ref, req)
    except Exception:
        log.exception("record block failed", call=call_id, block=txn_ref)
    finally:
        core.record_blocks.pop(call_id, None)


async def _prompt(core: EngineCore, call_id: str, txn_ref: str, media: list[str]) -> None:
    """The prompt and the beep to this caller only; returns when they have played."""
    call = await core.conferencecall(call_id)
    if call is None or call.status is not ConferencecallStatus.JOINED:
        return
    playback_id = f"{SNOOP_PREFIX}p-{txn_ref}"
    done = core.expect_playback(playback_id)
    try:
        await core.ari.play_on_channel(
            call.reference_id, [*media, "sound:beep"], playback_id=playback_id
        )
    except AriError as exc:
        done.cancel()
        log.info("record block prompt not played", call=call_id, error=str(exc))
        return
    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(done, PROMPT_WAIT_SECONDS)


async def _begin(
    core: EngineCore, call_id: str, txn_ref: str, req: RecordBlockRequest
) -> Recording | None:
    """In the lane: the recording of this caller's own voice; None when the caller has
    gone (record_status failed) or Asterisk refused."""
    call = await core.conferencecall(call_id)
    if call is None or call.status is not ConferencecallStatus.JOINED:
        return None
    rec = create_recording(
        id=txn_ref,
        customer_id=call.customer_id,
        conference_id=call.conference_id,
        now=core.now(),
        format="mp3",  # the seed: "made available to you in MP3 format"
        max_duration=req.max_duration,
    )

    async def write(tx: Store) -> None:
        await tx.save_recording(rec)

    await core.writer.submit(write)
    snoop = SNOOP_PREFIX + txn_ref
    try:
        await core.ari.snoop(call.reference_id, snoop, spy="in")
        await when_in_stasis(  # the snoop enters Stasis on its own thread
            lambda: core.ari.record_channel(
                snoop, rec.id, format="wav", max_duration_seconds=req.max_duration
            )
        )
    except AriError as exc:
        log.warning("record block not started", call=call_id, error=str(exc))
        await record_end.finalize(core, rec.id, failed=True)
        return None
    core.arm_recording_timer(rec.id, call.conference_id, rec.deadline)
    log.info("record block recording", call=call_id, recording=rec.id)
    return rec


async def _wait_final(core: EngineCore, rec: Recording) -> None:
    waiter = core.expect_recording(rec.id)
    current = await core.store.get_recording(rec.id)
    if current is not None and not current.is_active:
        waiter.cancel()
        return
    with contextlib.suppress(TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(waiter, rec.max_duration + FINISH_SLACK_SECONDS)


async def hash_pressed(core: EngineCore, call_id: str) -> bool:
    """In the lane (engine/dtmf.py): `#` ends the caller's running recording. False when
    the caller runs no block or its recording has not started (the digit goes on)."""
    rec_id = core.record_blocks.get(call_id)
    if rec_id is None:
        return False
    rec = await core.store.get_recording(rec_id)
    if rec is None or not rec.is_active:
        return False
    log.info("caller pressed # to end the recording", call=call_id, recording=rec_id)
    await record.stop_inside_lane(core, rec.conference_id, rec.id, strict=False)
    return True


async def _call_ended(core: EngineCore, call: Conferencecall) -> bool:
    """The caller has hung up: its leave is known, or (its hangup events still on the
    way: the recording may end first) Asterisk no longer has its channel."""
    if call.status is not ConferencecallStatus.JOINED:
        return True
    try:
        await core.ari.get_channel(call.reference_id)
    except AriNotFound:
        return True
    except AriError:
        return False  # unknown: still in the room as far as we know
    return False


async def _notify(core: EngineCore, call_id: str, txn_ref: str, req: RecordBlockRequest) -> None:
    """The `record_block_finished` event and the seed's notification, one transaction."""
    await core.writer.flush()
    call = await core.conferencecall(call_id)
    rec = await core.store.get_recording(txn_ref)
    if call is None:
        return
    conf = await core.conference(call.conference_id)
    dialout = await core.store.get_call(call.reference_id)
    ended = await _call_ended(core, call)
    finished = rec is not None and rec.status.value == "finished"
    result = RecordBlockResult(
        session=call.id,
        txn_ref=txn_ref,
        tag=req.tag,
        call_ended=ended,
        record_url=f"{core.settings.base_url}{record.RECORDINGS_URL}/{txn_ref}/file"
        if finished
        else None,
        dest=dialout.dest if dialout is not None else None,
        from_number=call.caller.number if dialout is None else None,
        to=conf.room if dialout is None and conf is not None else None,
        call_start=call.tm_create,
        call_end=(call.tm_delete or core.now()) if ended else None,
    )
    params = result.notify_params()
    data = {**params, "conference_id": call.conference_id, "conferencecall_id": call.id}

    async def write(tx: Store) -> None:
        event = await core.bus.journal.emit(tx, EVENT, call.customer_id, data)
        if req.notify_url:
            await tx.add_delivery(
                form_post(
                    event,
                    kind=NOTIFY,
                    target=f"record:{txn_ref}",
                    order_key=call.conference_id,
                    url=req.notify_url,
                    params=params,
                )
            )

    await core.writer.submit(write)
    log.info("record block finished", call=call.id, block=txn_ref, status=params["record_status"])
