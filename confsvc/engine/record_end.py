"""How a recording ends: every path ends in `finished` or `failed` (with a reason), and
Asterisk's spool keeps no copy.

    RecordingFinished / RecordingFailed (router), a stop or reconcile finding it gone
        -> finalize: GET /recordings/stored/{name}/file -> our file (WAV kept or MP3 made),
           finished (an empty room gives a valid file of 0 ms); RecordingFailed -> failed
           asterisk_failed; no stored file -> failed no_file; unreadable audio or a disk
           error -> failed file_not_stored. Then Asterisk's copy is deleted.
        A file that cannot be fetched is tried again at the finish deadlines, then
        failed asterisk_unavailable.
    a stop asked of Asterisk (API, conference ending, max_duration, reconcile)
        -> expect_end arms the finish deadline (the recording's timer): if no
           RecordingFinished was handled FINISH_GRACE_SECONDS later, `overdue` asks Asterisk
           (GET /recordings/live/{name}):
             gone or done  -> finalize from the stored file (its event was lost)
             still live    -> stop again; at the FINISH_ATTEMPTS-th deadline it is cancelled
                              (DELETE /recordings/live/{name}) -> failed not_stopped
             no answer     -> wait again; at the FINISH_ATTEMPTS-th -> failed
                              asterisk_unavailable (its spool copy goes with the next sweep)
    sweep (reconcile, after every ARI (re)connect): each of Asterisk's stored recordings that
        is one of ours and already final is deleted.

Everything runs in the recording's conference lane."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

import structlog

from confsvc.ari import AriError, AriNotFound
from confsvc.domain import Recording
from confsvc.domain.recording import (
    ASTERISK_FAILED,
    ASTERISK_UNAVAILABLE,
    FILE_NOT_STORED,
    NO_FILE,
    NOT_STOPPED,
    epoch_ms,
)
from confsvc.engine import audio, recording_text
from confsvc.engine.core import EngineCore
from confsvc.store.base import Store

log = structlog.get_logger(__name__)

# After a stop: how long to wait for RecordingFinished before asking Asterisk, and how
# many such deadlines pass before the recording is given up (failed). 3 x 4 s stays
# under recording_stop's wait (record.STOP_WAIT_SECONDS).
FINISH_GRACE_SECONDS = 4.0
FINISH_ATTEMPTS = 3
# ARI live recording states in which Asterisk is still writing the file.
LIVE_STATES = frozenset({"queued", "recording", "paused"})


def expect_end(core: EngineCore, rec: Recording) -> None:
    """Asterisk was asked to stop `rec` (or should have been): arm its finish deadline.
    It takes the place of the max_duration timer (the same timer, no longer needed)."""
    core.recording_stops.setdefault(rec.id, 0)
    deadline = core.now() + timedelta(seconds=FINISH_GRACE_SECONDS)
    core.arm_recording_timer(rec.id, rec.conference_id, deadline)


async def overdue(core: EngineCore, recording_id: str) -> None:
    """The finish deadline passed without RecordingFinished (see the module docstring)."""
    rec = await core.store.get_recording(recording_id)
    if rec is None or not rec.is_active:
        _forget(core, recording_id)
        core.recording_done(recording_id)
        return
    attempt = core.recording_stops.get(rec.id, 0) + 1
    core.recording_stops[rec.id] = attempt
    last = attempt >= FINISH_ATTEMPTS
    try:
        live = await core.ari.get_live_recording(rec.id)
    except AriNotFound:
        live = None
    except AriError as exc:
        if not last:
            log.info("recording end not confirmed: Asterisk not answering", recording=rec.id)
            expect_end(core, rec)
            return
        log.warning("recording given up: Asterisk not answering", recording=rec.id, error=str(exc))
        await _close(core, rec.fail(core.now(), ASTERISK_UNAVAILABLE))
        return
    if live is None or live.state not in LIVE_STATES:
        # Asterisk ended it but its RecordingFinished never reached us.
        log.warning("recording ended without its event: finalizing", recording=rec.id)
        await finalize(core, rec.id, failed=live is not None and live.state == "failed")
        return
    if not last:
        log.warning("recording still live after stop: stopping again", recording=rec.id)
        with contextlib.suppress(AriError):
            await core.ari.stop_live_recording(rec.id)
        expect_end(core, rec)
        return
    log.warning("recording given up: Asterisk did not stop it", recording=rec.id)
    with contextlib.suppress(AriError):
        await core.ari.cancel_live_recording(rec.id)
    await _close(core, rec.fail(core.now(), NOT_STOPPED))


async def finalize(
    core: EngineCore,
    recording_id: str,
    *,
    failed: bool = False,
    ended_at: datetime | None = None,
) -> None:
    """RecordingFinished/Failed, or a recording found gone by stop, overdue or reconcile.
    Idempotent (a second call for a final recording does nothing)."""
    rec = await core.store.get_recording(recording_id)
    if rec is None or not rec.is_active:
        _forget(core, recording_id)
        core.recording_done(recording_id)
        return
    now = core.now()
    if failed:
        log.warning("recording failed in Asterisk", recording=rec.id)
        rec = rec.fail(now, ASTERISK_FAILED)
    else:
        try:
            raw = await core.ari.stored_recording_file(rec.id)
        except AriNotFound:
            log.warning("recording has no stored file in Asterisk", recording=rec.id)
            rec = rec.fail(now, NO_FILE)
        except AriError as exc:
            log.warning("recording file not fetched", recording=rec.id, error=str(exc))
            if core.recording_stops.get(rec.id, 0) < FINISH_ATTEMPTS:
                expect_end(core, rec)  # still `recording`: the deadline tries again
                return
            rec = rec.fail(now, ASTERISK_UNAVAILABLE)
        else:
            rec = await _store_file(core, rec, raw, ended_at)
    await _close(core, rec)


async def _close(core: EngineCore, rec: Recording) -> None:
    """Store the final `rec` with its conference's recording_id cleared (one transaction:
    recording_finished is derived from it), drop Asterisk's copy, wake recording_stop."""
    old = await core.conference(rec.conference_id)
    conf = old.recording_stopped(rec.id, core.now())[0] if old is not None else None

    async def write(tx: Store) -> None:
        await tx.save_recording(rec)
        if conf is not None:
            await tx.save_conference(conf, old)

    if conf is not None:
        core.rooms.remember(conf)
    await core.writer.submit(write)  # through the writer: after the conference's own writes
    recording_text.after_finalize(core, rec, conf)  # Plivo transcriptionType auto
    _forget(core, rec.id)
    # Our copy is the one served; Asterisk's spool keeps nothing it does not need.
    await _delete_stored(core, rec.id)
    log.info(
        "recording finalized",
        conference=rec.conference_id,
        recording=rec.id,
        status=rec.status.value,
        reason=rec.reason,
        duration_ms=rec.duration_ms,
        size_bytes=rec.size_bytes,
    )
    core.recording_done(rec.id)


def _forget(core: EngineCore, recording_id: str) -> None:
    """It is final: no deadline, no max_duration timer."""
    core.cancel_recording_timer(recording_id)
    core.recording_stops.pop(recording_id, None)


async def _delete_stored(core: EngineCore, name: str) -> None:
    try:
        await core.ari.delete_stored_recording(name)
    except AriNotFound:
        pass
    except AriError as exc:  # the next sweep deletes it
        log.warning("stored recording not deleted", recording=name, error=str(exc))


async def _store_file(
    core: EngineCore, rec: Recording, raw: bytes, ended_at: datetime | None
) -> Recording:
    """WAV from Asterisk -> our file (format conversion off the event loop)."""
    now = core.now()
    try:
        max_ms = rec.max_duration * 1000  # Asterisk may overrun it by up to a second
        data, duration_ms = await asyncio.to_thread(audio.convert, raw, rec.format.value, max_ms)
        path = core.settings.recordings_dir / rec.filename
        await asyncio.to_thread(audio.write_atomic, path, data)
    except (audio.BadAudio, OSError) as exc:
        log.error("recording file not stored", recording=rec.id, error=str(exc))
        return rec.fail(now, FILE_NOT_STORED)
    # A recording of an empty room is a bare WAV header (seen on Asterisk 22): 0 ms.
    end_ms = epoch_ms(ended_at) if ended_at is not None else None
    return rec.finish(now, duration_ms=duration_ms, size_bytes=len(data), end_ms=end_ms)


async def sweep(core: EngineCore) -> None:
    """Delete Asterisk's stored copies of our recordings that are already final (a delete
    that failed, or a recording given up while Asterisk was not answering)."""
    try:
        stored = await core.ari.list_stored_recordings()
    except AriError as exc:
        log.warning("stored recordings not listed", error=str(exc))
        return
    for item in stored:
        rec = await core.store.get_recording(item.name)
        if rec is not None and not rec.is_active:
            log.info("deleting a left-over stored recording", recording=rec.id)
            await _delete_stored(core, rec.id)
