"""Recording a conference's mixed audio.

    recording_start (API) or first join of a `record: true` conference
        -> Recording row (status recording), the app subscribed to the bridge, POST
           /bridges/{id}/record (name = recording id, always WAV), conference.recording_id
           set                                                      -> recording_started
    recording_stop (API), conference termination (StopRecording effect), or Asterisk's own
    max_duration
        -> POST /recordings/live/{name}/stop; conference.recording_id cleared; the finish
           deadline armed (record_end.py)
    RecordingFinished / RecordingFailed (ARI event, routed into the conference's lane), or
    the finish deadline finding it ended
        -> record_end.finalize: finished (file stored) or failed with a reason; Asterisk's
           copy deleted                                             -> recording_finished

Why the subscription: ARI does not subscribe an app to a bridge it created until one of
its channels enters it, and a bridge recording's events go to the bridge's subscribers. A
recording of a room nobody had dialled into yet then never got its
RecordingFinished and stayed `recording` forever (seen on Asterisk 22: the live recording
stops, a 44-byte WAV stays in the spool, the event reaches only a subscribeAll app).

Everything that changes a conference or its recordings runs in the conference's lane.
After a (re)connect `reconcile` compares active recordings with Asterisk's live ones: still
live -> nothing to do (the recording went on without us); gone -> finalized from the stored
file, exactly as if its RecordingFinished had been seen; then Asterisk's spool is swept."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

import structlog

from confsvc.ari import AriError, AriNotFound, AriUnavailable
from confsvc.domain import (
    Conference,
    ConferenceStatus,
    DomainError,
    Recording,
    create_recording,
)
from confsvc.domain.recording import (
    ASTERISK_UNAVAILABLE,
    START_FAILED,
    validate_beep,
    validate_format,
    validate_max_duration,
)
from confsvc.engine import audio, record_end
from confsvc.engine.core import EngineCore
from confsvc.engine.errors import AsteriskUnavailable, NotFound
from confsvc.engine.lookup import delete_owned, owned_conference
from confsvc.engine.record_end import LIVE_STATES, finalize
from confsvc.store.base import Store

log = structlog.get_logger(__name__)

# The recordings collection of the HTTP API; download_url = RECORDINGS_URL/{id}/file.
RECORDINGS_URL = "/v1/recordings"
# How long recording_stop waits for the recording to be final before answering anyway
# (longer than record_end's finish deadlines, so it normally answers with it final).
STOP_WAIT_SECONDS = 15.0


def to_json(rec: Recording) -> dict[str, object]:
    return rec.to_json(RECORDINGS_URL)


# --- start -----------------------------------------------------------------------------


async def start(
    core: EngineCore,
    customer_id: str,
    conference_id: str,
    *,
    format: str = "wav",
    max_duration: int = 0,
    beep: bool = False,
) -> Conference:
    """POST /conferences/{id}/recording_start. 422 for bad values (before anything else),
    404 for another tenant's conference, 409 unless progressing without a recording."""
    fmt = validate_format(format)
    max_duration = validate_max_duration(max_duration)
    beep = validate_beep(beep)
    await owned_conference(core, customer_id, conference_id)

    async def do() -> Conference:
        conf = await owned_conference(core, customer_id, conference_id)
        return await begin(core, conf, fmt, max_duration=max_duration, beep=beep)

    return await core.lanes.run(conference_id, do)


async def begin(
    core: EngineCore, conf: Conference, fmt: str, *, max_duration: int = 0, beep: bool = False
) -> Conference:
    """Inside the conference's lane. The domain refuses first (nothing written, no ARI
    call); the recording and the conference's recording_id are stored before the POST (one
    transaction) so that its events, racing the reply, find them, and a crash right after
    the POST leaves a recording that reconcile knows; if Asterisk refuses, both are undone
    and nothing has changed."""
    now = core.now()
    rec = create_recording(
        customer_id=conf.customer_id,
        conference_id=conf.id,
        now=now,
        format=fmt,
        max_duration=max_duration,
        beep=beep,
    )
    started, effects = conf.recording_started(rec.id, now)

    async def write(tx: Store) -> None:
        await tx.save_recording(rec)
        await tx.save_conference(started, conf)

    core.rooms.remember(started)
    await core.writer.submit(write)
    try:
        await core.ari.subscribe(f"bridge:{conf.id}")  # see the module docstring
    except AriError as exc:  # the finish deadline still ends it after a stop
        log.warning("bridge events not subscribed", conference=conf.id, error=str(exc))
    try:
        await core.ari.record_bridge(
            conf.id,
            rec.id,
            format="wav",  # always: the controller makes mp3 itself (format_mp3 only reads)
            max_duration_seconds=rec.max_duration,  # 0 given: the 24 h maximum
            beep=beep,
            if_exists="fail",
        )
    except AriError as exc:
        if isinstance(exc, AriUnavailable):  # it may have started before the error
            with contextlib.suppress(AriError):
                await core.ari.cancel_live_recording(rec.id)

        async def undo(tx: Store) -> None:
            # Its recording_started is out: close it with a recording_finished (failed).
            await tx.save_recording(rec.fail(core.now(), START_FAILED))
            await tx.delete_recording(rec.id)
            await tx.save_conference(conf, started)

        core.rooms.remember(conf)
        await core.writer.submit(undo)
        raise AsteriskUnavailable(f"could not start the recording: {exc}") from exc
    await core.apply(effects)
    core.arm_recording_timer(rec.id, conf.id, rec.deadline)
    # recording_started was stored with the row (the store derives events from changes).
    log.info("recording started", conference=conf.id, recording=rec.id, format=rec.format.value)
    return started


async def auto_start(core: EngineCore, conference_id: str) -> None:
    """A caller joined (inside the lane): start the `record: true` recording once."""
    conf = await core.conference(conference_id)
    if conf is None or not conf.wants_auto_record:
        return
    try:
        await begin(core, conf, conf.record_format.value)
    except DomainError as exc:
        # Not started: the next joining caller (or a reconcile) tries again.
        log.warning("auto-record did not start", conference=conference_id, error=exc.message)


# --- stop ------------------------------------------------------------------------------


async def stop(core: EngineCore, customer_id: str, conference_id: str) -> Conference:
    """POST /conferences/{id}/recording_stop: 409 when no recording is active. Answers once
    the file is finalized (or after STOP_WAIT_SECONDS, when it is finalized later)."""
    await owned_conference(core, customer_id, conference_id)
    waiters: list[asyncio.Future[None]] = []

    async def do() -> None:
        conf = await owned_conference(core, customer_id, conference_id)
        rec_id = conf.check_recording_active()
        waiter = core.expect_recording(rec_id)
        waiters.append(waiter)
        try:
            await stop_inside_lane(core, conf.id, rec_id, strict=True)
        except BaseException:
            waiter.cancel()
            raise

    await core.lanes.run(conference_id, do)
    for waiter in waiters:
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(waiter, STOP_WAIT_SECONDS)
    conf = await core.conference(conference_id, customer_id)
    if conf is None:
        raise NotFound("conference", conference_id)
    return conf


async def stop_inside_lane(
    core: EngineCore, conference_id: str, recording_id: str, *, strict: bool
) -> None:
    """Ask Asterisk to stop (its RecordingFinished finalizes; the finish deadline makes
    sure it ends), and clear the conference's recording_id now. strict (the API): an
    unreachable Asterisk is a 503 with nothing changed; otherwise (termination,
    max_duration) it is logged and the finish deadline tries again."""
    rec = await core.store.get_recording(recording_id)
    if rec is None or not rec.is_active:
        await _clear(core, conference_id, recording_id)
        core.recording_done(recording_id)
        return
    try:
        await core.ari.stop_live_recording(rec.id)
    except AriNotFound:
        # Not live any more (it ended while we were away, or Asterisk restarted):
        # finalize from what Asterisk stored.
        await finalize(core, rec.id)
        return
    except AriError as exc:
        if strict:
            raise AsteriskUnavailable(f"could not stop the recording: {exc}") from exc
        log.warning("recording not stopped: trying again later", recording=rec.id, error=str(exc))
        record_end.expect_end(core, rec)
        return
    await _clear(core, conference_id, recording_id)
    record_end.expect_end(core, rec)
    log.info("recording stopping", conference=conference_id, recording=rec.id)


async def _clear(core: EngineCore, conference_id: str, recording_id: str) -> None:
    conf = await core.conference(conference_id)
    if conf is None:
        return
    cleared, _ = conf.recording_stopped(recording_id, core.now())
    if cleared is not conf:
        await core.save(cleared)


async def timer_expired(core: EngineCore, recording_id: str) -> None:
    """The recording's timer, in its conference's lane: the finish deadline once a stop
    was asked (record_end.overdue), else max_duration."""
    if recording_id in core.recording_stops:
        await record_end.overdue(core, recording_id)
    else:
        await max_duration_reached(core, recording_id)


async def max_duration_reached(core: EngineCore, recording_id: str) -> None:
    """The recording's max_duration timer (in the conference's lane)."""
    rec = await core.store.get_recording(recording_id)
    if rec is None or not rec.is_active:
        return
    log.info("recording reached max_duration", recording=rec.id, seconds=rec.max_duration)
    await stop_inside_lane(core, rec.conference_id, rec.id, strict=False)


# --- finished / failed -----------------------------------------------------------------


def ari_time(timestamp: str | None) -> datetime | None:
    """ARI event timestamps look like 2024-05-01T10:00:00.123+0000."""
    if not timestamp:
        return None
    for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        with contextlib.suppress(ValueError):
            return datetime.strptime(timestamp, fmt)
    return None


# --- delete ----------------------------------------------------------------------------


async def delete(core: EngineCore, customer_id: str, recording_id: str) -> Recording:
    """DELETE /recordings/{id}: the row and the file; 409 while it is being recorded."""

    async def remove(current: Recording) -> None:
        await core.store.delete_recording(current.id)
        await asyncio.to_thread(audio.remove, core.settings.recordings_dir / current.filename)
        if current.reason == ASTERISK_UNAVAILABLE:  # Asterisk may still hold its copy
            with contextlib.suppress(AriError):
                await core.ari.delete_stored_recording(current.id)
        log.info("recording deleted", recording=current.id)

    return await delete_owned(
        core,
        "recording",
        recording_id,
        lambda: core.store.get_recording(recording_id, customer_id),
        remove,
    )


# --- reconcile -------------------------------------------------------------------------


async def reconcile(core: EngineCore) -> None:
    """After a (re)connect: each active recording, in its conference's lane; then the
    stored copies of final recordings left in Asterisk's spool are deleted."""
    for rec in await core.store.list_active_recordings():

        async def fix(rec_id: str = rec.id) -> None:
            await reconcile_one(core, rec_id)

        core.lanes.fire(rec.conference_id, fix, "reconcile recording")
    await record_end.sweep(core)


async def reconcile_one(core: EngineCore, recording_id: str) -> None:
    rec = await core.store.get_recording(recording_id)
    if rec is None or not rec.is_active:
        return
    try:
        live = await core.ari.get_live_recording(rec.id)
    except AriNotFound:
        live = None
    except AriError as exc:
        log.warning("live recording not checked", recording=rec.id, error=str(exc))
        if not await _wanted(core, rec):
            record_end.expect_end(core, rec)  # a stop was due: make sure it ends
        return
    if live is not None and live.state in LIVE_STATES:
        if not await _wanted(core, rec):
            # Its conference ended (or stopped it) while we were away: stop it now.
            log.info("stopping a recording left running", recording=rec.id)
            await stop_inside_lane(core, rec.conference_id, rec.id, strict=False)
        else:
            log.info("recording still live", recording=rec.id, conference=rec.conference_id)
            core.arm_recording_timer(rec.id, rec.conference_id, rec.deadline)
        return
    log.info("recording ended while away: finalizing", recording=rec.id)
    await finalize(core, rec.id, failed=live is not None and live.state == "failed")


async def _wanted(core: EngineCore, rec: Recording) -> bool:
    """Its conference is progressing and still points at it (no stop was asked), or it
    is a running Hoiio Record block's (engine/record_block.py)."""
    if rec.id in core.record_blocks.values():
        return True
    conf = await core.conference(rec.conference_id)
    return (
        conf is not None
        and conf.status is ConferenceStatus.PROGRESSING
        and conf.recording_id == rec.id
    )
