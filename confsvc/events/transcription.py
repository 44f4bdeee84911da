"""Plivo's transcription callback (transcriptionType auto + transcriptionUrl): when a
conference's recording has been transcribed, its transcription_url gets Plivo's
parameters, form-encoded, POST (the names of Plivo's "Parameters sent to the
transcription URL": transcription_charge, transcription, duration, call_uuid,
transcription_rate, recording_id, error). Pure: builds the outbox row; the engine stores
it with the `recording_transcribed` event, and the outbox delivers it like every other
row: signed, retried, in order per (transcription_url, conference)."""

from __future__ import annotations

from confsvc.domain import Conference, Recording
from confsvc.events.model import CALLBACK, Delivery, Event
from confsvc.events.routing import form_post


def transcription_params(rec: Recording, conf: Conference, error: str) -> dict[str, str]:
    return {
        "transcription_charge": "0",  # a local model: nothing is charged
        "transcription": rec.transcript or "",
        "duration": str(round(rec.duration_ms / 1000)),
        # A conference recording has no one call: the conference's id (its ConferenceUUID).
        "call_uuid": conf.id,
        "transcription_rate": "0",
        "recording_id": rec.id,
        "error": error,
    }


def transcription_delivery(
    event: Event, rec: Recording, conf: Conference, error: str
) -> Delivery | None:
    """The row for the conference's transcription_url (None without one). event: the
    stored recording_transcribed (seq set)."""
    if not conf.transcription_url or conf.customer_id != rec.customer_id:
        return None
    return form_post(
        event,
        kind=CALLBACK,
        target=f"transcription:{conf.id}",
        order_key=conf.id,
        url=conf.transcription_url,
        params=transcription_params(rec, conf, error),
    )
