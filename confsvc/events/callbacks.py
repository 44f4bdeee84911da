"""Plivo-style conference callbacks (seed 003, callbackUrl / callbackMethod): which of our
events is which ConferenceAction, and its parameters. Pure.

    conferencecall_joined           enter
    conferencecall_leaved           exit
    recording_finished (finished)   record   (a failed recording has no file: no callback)
    conferencecall_digits           digits
    conference_updated that moves   floor    (floor_events: the member who started talking
      floor_conferencecall_id                 last holds the floor; see floor_params)

Parameters are strings, sent form-encoded (POST) or as the query (GET)."""

from __future__ import annotations

from typing import Any

from confsvc.domain import Conference, Conferencecall
from confsvc.events.model import Event

ACTIONS: dict[str, str] = {
    "conferencecall_joined": "enter",
    "conferencecall_leaved": "exit",
    "recording_finished": "record",
    "conferencecall_digits": "digits",
}


def callback_params(event: Event, conf: Conference, public_url: str) -> dict[str, str] | None:
    """The parameters for the conference's callback_url, or None when the event is not a
    ConferenceAction."""
    action = ACTIONS.get(event.type)
    if action is None:
        return None
    data = event.data
    params = {
        "ConferenceAction": action,
        "ConferenceName": conf.room,
        "ConferenceUUID": conf.id,
    }
    if action == "record":
        if data.get("status") != "finished":
            return None
        duration_ms = _int(data.get("duration_ms"))
        download = data.get("download_url") or ""
        params.update(
            RecordUrl=public_url.rstrip("/") + download if download else "",
            RecordingID=str(data.get("id", "")),
            RecordingDuration=str(round(duration_ms / 1000)),
            RecordingDurationMs=str(duration_ms),
            RecordingStartMs=str(_int(data.get("start_ms"))),
            RecordingEndMs=str(_int(data.get("end_ms"))),
        )
        return params
    params["ConferenceMemberID"] = str(data.get("id", ""))
    params["CallUUID"] = str(data.get("reference_id", ""))
    if action == "digits":
        digits = data.get("digits_match", data.get("digits", ""))
        params["ConferenceDigitsMatch"] = str(digits or "")
    return params


def floor_params(conf: Conference, member: Conferencecall) -> dict[str, str]:
    """ConferenceAction floor: `member` has just become the floor holder."""
    return {
        "ConferenceAction": "floor",
        "ConferenceName": conf.room,
        "ConferenceUUID": conf.id,
        "ConferenceMemberID": member.id,
        "CallUUID": member.reference_id,
    }


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
