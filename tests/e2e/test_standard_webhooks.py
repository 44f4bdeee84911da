"""Standard Webhooks end to end: the controller as a process with no configured secrets
(each tenant's is generated), a plain HTTP listener as the receiver, and the
`standardwebhooks` library (PyPI) verifying every delivery with the secret the API handed
out, as a receiver written against any Standard Webhooks library would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.support.controller import Controller, running_controller
from tests.support.listener import Listener, Seen, listening
from tests.support.room import create_room
from tests.support.runtime import Runtime


@pytest.fixture
async def ctl(runtime: Runtime, tmp_path: Path) -> AsyncIterator[Controller]:
    async with running_controller(runtime, tmp_path / "controller") as c:
        yield c


def of_conference(listener: Listener, path: str, conference_id: str) -> list[Seen]:
    return [
        s
        for s in listener.seen
        if s.path == path and json.loads(s.body)["conference_id"] == conference_id
    ]


async def first(listener: Listener, path: str, conference_id: str, timeout: float = 15) -> Seen:
    """The first delivery about the conference (its conference_created)."""

    async def wait() -> Seen:
        while not (got := of_conference(listener, path, conference_id)):
            listener.arrived.clear()  # set again by the next request
            await listener.arrived.wait()
        return got[0]

    return await asyncio.wait_for(wait(), timeout)


async def test_deliveries_verify_with_the_standardwebhooks_library(ctl: Controller) -> None:
    async with listening() as listener:
        made_a = await ctl.request(
            "POST", "/v1/webhooks", json={"url": f"{listener.base}/a"}, expect=201
        )
        made_b = await ctl.request(
            "POST",
            "/v1/webhooks",
            json={"url": f"{listener.base}/b"},
            token="tenant-b-token",
            expect=201,
        )
        secret_a, secret_b = made_a["secret"], made_b["secret"]
        assert secret_a.startswith("whsec_") and secret_b.startswith("whsec_")
        assert secret_a != secret_b  # generated per tenant, never a constant

        conf = await create_room(ctl, "stdwh")
        req = await first(listener, "/a", conf["id"])
        event = Webhook(secret_a).verify(req.body, req.headers)  # raises when it does not
        assert event["type"] == "conference_created" and event["conference_id"] == conf["id"]
        assert req.headers["webhook-id"] and req.headers["Content-Type"] == "application/json"
        assert "X-Confsvc-Signature" not in req.headers  # one scheme only
        with pytest.raises(WebhookVerificationError):
            Webhook(secret_b).verify(req.body, req.headers)  # the other tenant's secret
        with pytest.raises(WebhookVerificationError):
            Webhook(secret_a).verify(req.body + b" ", req.headers)  # body changed

        # A rotated secret signs what follows; the old one no longer verifies.
        rotated = await ctl.request("POST", "/v1/webhook_secret", expect=200)
        conf2 = await create_room(ctl, "stdwh2")
        req2 = await first(listener, "/a", conf2["id"])
        assert Webhook(rotated["secret"]).verify(req2.body, req2.headers)["type"] == (
            "conference_created"
        )
        with pytest.raises(WebhookVerificationError):
            Webhook(secret_a).verify(req2.body, req2.headers)
        assert req2.headers["webhook-id"] != req.headers["webhook-id"]
        assert not [s for s in listener.seen if s.path == "/b"]  # tenant-b saw nothing of a's
