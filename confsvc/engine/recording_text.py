"""A finished recording of a `transcription_type: "auto"` conference is transcribed
(Plivo transcriptionType / transcriptionUrl): off the lane, by the speech backend (the
local model decodes the stored WAV/MP3 in its worker process). Its text is stored on the
recording (`transcript`) with a `recording_transcribed` event and, when the conference
has a transcription_url, Plivo's transcription callback in the outbox: one transaction.

Plivo's limits, kept: only recordings longer than 500 ms and shorter than 4 hours are
transcribed; others get the callback with `error` set and no text."""

from __future__ import annotations

import structlog

from confsvc.domain import Conference, Recording, RecordingStatus
from confsvc.engine.core import EngineCore
from confsvc.events.transcription import transcription_delivery
from confsvc.transcribe.backends import BackendError

log = structlog.get_logger(__name__)

MIN_MS = 500
MAX_MS = 4 * 3600 * 1000
LANGUAGE = "en"  # Plivo: the transcription service is available only in English
EVENT = "recording_transcribed"


def after_finalize(core: EngineCore, rec: Recording, conf: Conference | None) -> None:
    """record_end hook: a finished recording of an `auto` conference, in the background."""
    if (
        conf is None
        or conf.transcription_type != "auto"
        or rec.status is not RecordingStatus.FINISHED
    ):
        return
    core.spawn(transcribe(core, rec, conf))


async def transcribe(core: EngineCore, rec: Recording, conf: Conference) -> None:
    text, error = "", ""
    if rec.duration_ms <= MIN_MS:
        error = "Recording duration too short for transcription"
    elif rec.duration_ms >= MAX_MS:
        error = "Recording duration too long for transcription"
    else:
        path = core.settings.recordings_dir / rec.filename
        try:
            text = await core.transcription.backend.transcribe_file(path, LANGUAGE)
        except BackendError as exc:
            log.warning("recording not transcribed", recording=rec.id, error=str(exc))
            error = "Transcription failed"
    current = await core.store.get_recording(rec.id)
    if current is None:
        return  # deleted meanwhile
    done = current.model_copy(update={"transcript": text, "tm_update": core.now()})
    async with core.store.transaction():
        await core.store.save_recording(done)
        event = await core.bus.journal.emit(
            core.store, EVENT, done.customer_id, done.to_json("/v1/recordings")
        )
        delivery = transcription_delivery(event, done, conf, error)
        if delivery is not None:
            await core.store.add_delivery(delivery)  # type: ignore[attr-defined]
    log.info("recording transcribed", recording=rec.id, chars=len(text), error=error or None)
