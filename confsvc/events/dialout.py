"""The seed's notification of a dial-out call (Hoiio conference/call notify_url): when a
call has ended, its request's notify_url gets the seed's parameters, form-encoded, POST.
Pure: builds the outbox row; the engine stores it in the transaction that stores the
call's end and its `call_ended` event, and the outbox (outbox.py) delivers it like every
other row: signed, retried, in order per (request, conference)."""

from __future__ import annotations

from confsvc.domain.dialout import DialoutCall
from confsvc.events.model import NOTIFY, Delivery, Event
from confsvc.events.routing import form_post


def notify_delivery(event: Event, call: DialoutCall) -> Delivery | None:
    """The row for the call's notify_url (None without one). event: its stored
    call_ended (seq set)."""
    if not call.notify_url:
        return None
    return form_post(
        event,
        kind=NOTIFY,
        target=f"dialout:{call.request_id}",
        order_key=call.conference_id,
        url=call.notify_url,
        params=call.notify_params(),
    )
