"""The outbound URL policy for tests without DNS: a resolver that knows a few names;
and outbox rows of every kind (webhook, notify_url, callback_url) for one receiver.

localhost             127.0.0.1 and ::1
*.internal            10.0.0.7 (a private address)
metadata.test         169.254.169.254 (cloud metadata, link-local)
loopback.test         127.0.0.1 (a name for a local receiver)
unresolvable.test     no address (as NXDOMAIN)
any other name        PUBLIC (so the API tests' hooks.test, x.org... pass)"""

from __future__ import annotations

import ipaddress
import socket

from confsvc.config import Settings
from confsvc.domain import create_conference, now
from confsvc.events.model import Webhook
from confsvc.outbound import OutboundPolicy
from confsvc.outbound.policy import IPAddress
from confsvc.store.sqlite import SqliteStore

PUBLIC = ipaddress.ip_address("93.184.215.14")
NAMES: dict[str, list[IPAddress]] = {
    "localhost": [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")],
    "metadata.test": [ipaddress.ip_address("169.254.169.254")],
    "loopback.test": [ipaddress.ip_address("127.0.0.1")],
}


async def fake_resolve(host: str, port: int) -> list[IPAddress]:
    name = host.lower().rstrip(".")
    if name == "unresolvable.test":
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    if name.endswith(".internal"):
        return [ipaddress.ip_address("10.0.0.7")]
    return NAMES.get(name, [PUBLIC])


def offline_policy(settings: Settings) -> OutboundPolicy:
    return OutboundPolicy.from_settings(settings, resolve=fake_resolve)


async def rows_of_every_kind(store: SqliteStore, base: str, notify_query: str = "") -> None:
    """A webhook and a conference with notify_url (GET) and callback_url under `base`,
    then conference_created and a conferencecall_digits: 2 webhook rows, 2 notify rows
    and 1 callback row (digits) per receiver."""
    await store.create_webhook(Webhook("wh-1", "cust-a", f"{base}/hook", (), now()))
    conf = create_conference(
        customer_id="cust-a",
        now=now(),
        room="board",
        notify_url=f"{base}/notify{notify_query}",
        notify_method="GET",
        callback_url=f"{base}/cb",
    )
    await store.create_conference(conf)
    data = {"id": "cc-1", "conference_id": conf.id, "reference_id": "ch-1", "digits": "9"}
    assert store.journal is not None
    await store.journal.emit(store, "conferencecall_digits", "cust-a", data)
