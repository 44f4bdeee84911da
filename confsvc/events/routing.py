"""Who gets an event: the outbox rows one event makes (pure; the journal stores them in
the event's transaction).

- every webhook subscription of the event's tenant whose event_types include it (empty =
  all): the event JSON, POST;
- the conference's notify_url: the event JSON (POST), or its fields as the query (GET);
- the conference's callback_url: the Plivo-style parameters (callbacks.py), form-encoded
  (POST) or as the query (GET), for the events that are a ConferenceAction.

Each row's ordering group is (target, conference): one per subscription and conference,
one per conference for notify_url and for callback_url."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import msgspec

from confsvc.domain import Conference, Conferencecall, new_id
from confsvc.events.callbacks import callback_params, floor_params
from confsvc.events.model import CALLBACK, NOTIFY, WEBHOOK, Delivery, Event, Webhook

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def event_body(event: Event) -> str:
    # msgspec: compact UTF-8 JSON like json.dumps(separators=(",", ":"), ensure_ascii=False),
    # several times faster.
    return msgspec.json.encode(event.to_json()).decode()


def notify_query(event: Event) -> dict[str, str]:
    """notify_method GET: the event as query parameters (data as JSON text)."""
    return {
        "id": event.id,
        "seq": str(event.seq),
        "type": event.type,
        "customer_id": event.customer_id,
        "conference_id": event.conference_id,
        "timestamp": event.to_json()["timestamp"],
        "data": json.dumps(event.data, separators=(",", ":"), ensure_ascii=False),
    }


def form_post(
    event: Event, *, kind: str, target: str, order_key: str, url: str, params: dict[str, str]
) -> Delivery:
    """A row POSTing `params` form-encoded to `url` for a stored event (seq set): the
    seed-shaped notifications (dial-out notify_url, Plivo transcription_url)."""
    return Delivery(
        id=new_id(),
        customer_id=event.customer_id,
        kind=kind,
        target=target,
        order_key=order_key,
        event_seq=event.seq,
        event_id=event.id,
        event_type=event.type,
        url=url,
        method="POST",
        content_type=FORM,
        body=urlencode(params),
        tm_create=event.timestamp,
        next_at=event.timestamp.timestamp(),
    )


def plan(
    event: Event,
    conf: Conference | None,
    webhooks: list[Webhook],
    public_url: str,
    floor: Conferencecall | None = None,
) -> list[Delivery]:
    """The deliveries of one stored event (event.seq set). conf: the event's conference
    (None when it is gone: only tenant webhooks then). floor: the member who has just
    become the floor holder (a conference_updated moving floor_conferencecall_id)."""
    out: list[Delivery] = []
    body = ""  # the event's JSON, made once for every webhook and notify_url that wants it

    def add(kind: str, target: str, url: str, method: str, ctype: str, body: str) -> None:
        out.append(
            Delivery(
                id=new_id(),
                customer_id=event.customer_id,
                kind=kind,
                webhook_id=target.partition(":")[2] if kind == WEBHOOK else None,
                target=target,
                order_key=event.conference_id,
                event_seq=event.seq,
                event_id=event.id,
                event_type=event.type,
                url=url,
                method=method,
                content_type=ctype,
                body=body,
                tm_create=event.timestamp,
                next_at=event.timestamp.timestamp(),
            )
        )

    for hook in webhooks:
        if hook.customer_id != event.customer_id:
            continue  # never across tenants, whatever the caller passed
        if hook.event_types and event.type not in hook.event_types:
            continue
        body = body or event_body(event)
        add(WEBHOOK, f"webhook:{hook.id}", hook.url, "POST", JSON, body)
    if conf is None or conf.customer_id != event.customer_id:
        return out
    if conf.notify_url:
        if conf.notify_method == "GET":
            query = urlencode(notify_query(event))
            add(NOTIFY, f"notify:{conf.id}", conf.notify_url, "GET", "", query)
        else:
            body = body or event_body(event)
            add(NOTIFY, f"notify:{conf.id}", conf.notify_url, "POST", JSON, body)
    if conf.callback_url:
        params = callback_params(event, conf, public_url)
        if (
            floor is not None
            and event.type == "conference_updated"
            and floor.conference_id == conf.id
        ):
            params = floor_params(conf, floor)
        if params is not None:
            method = "GET" if conf.callback_method == "GET" else "POST"
            ctype = "" if method == "GET" else FORM
            add(CALLBACK, f"callback:{conf.id}", conf.callback_url, method, ctype,
                urlencode(params))  # fmt: skip
    return out
