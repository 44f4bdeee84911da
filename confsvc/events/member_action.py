"""Plivo's <Conference> `action` URL (seed 003): invoked when a member leaves the
conference, with the action request parameters ConferenceName, ConferenceUUID,
ConferenceMemberID, RecordUrl, RecordingID. Pure: builds the outbox row for a stored
`conferencecall_leaved` event; the outbox delivers it like the conference's callback_url
(outbound URL policy, Plivo V3 signature, retries, in order per member's action URL and
conference). GET sends the parameters as the query, POST form-encoded.

The member's action / method come from its own options, else the conference's
(domain/member_options.resolve). RecordUrl / RecordingID name the conference's current
recording (else its latest), "" without one — the seed sends them "only if record is set";
the file behind RecordUrl exists once that recording has finished."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from confsvc.domain import Conference
from confsvc.domain.member_options import MEMBER_FIELDS, MemberOptions, resolve
from confsvc.domain.options import Role
from confsvc.events.model import CALLBACK, Delivery, Event
from confsvc.events.routing import form_post

RECORDINGS_PATH = "/v1/recordings"  # the HTTP API's recordings collection (api/recordings.py)


def action_params(conf: Conference, member_id: str, public_url: str) -> dict[str, str]:
    recording_id = conf.recording_id or (conf.recording_ids[-1] if conf.recording_ids else "")
    record_url = (
        f"{public_url.rstrip('/')}{RECORDINGS_PATH}/{recording_id}/file" if recording_id else ""
    )
    return {
        "ConferenceName": conf.room,
        "ConferenceUUID": conf.id,
        "ConferenceMemberID": member_id,
        "RecordUrl": record_url,
        "RecordingID": recording_id,
    }


def _member(conf: Conference, data: dict[str, Any]) -> MemberOptions:
    own = MemberOptions(**{k: data.get(k) for k in MEMBER_FIELDS if k != "muted"})
    try:
        role = Role(data.get("role", Role.PARTICIPANT))
    except ValueError:
        role = Role.PARTICIPANT
    return resolve(conf.options, role, own)


def action_delivery(event: Event, conf: Conference | None, public_url: str) -> Delivery | None:
    """The row for the leaving member's action URL, or None (another event, no action
    URL, another tenant's conference, a caller that never got past its PIN)."""
    if event.type != "conferencecall_leaved" or conf is None:
        return None
    data = event.data
    if conf.customer_id != event.customer_id or data.get("waiting_for") == "pin":
        return None
    member = _member(conf, data)
    if not member.action:
        return None
    params = action_params(conf, str(data.get("id", "")), public_url)
    target = f"action:{conf.id}:{member.action}"
    row = form_post(
        event, kind=CALLBACK, target=target, order_key=conf.id, url=member.action, params=params
    )
    # GET: the same urlencoded parameters, sent as the query (as callback_url's GET).
    return replace(row, method="GET", content_type="") if member.method == "GET" else row
