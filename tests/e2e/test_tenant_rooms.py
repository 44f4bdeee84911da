"""Issue 11, defect 8, on a real Asterisk with a real softphone: tenant B cannot take tenant
A's live room off the air (before: B's create answered 201 and every call to the room was
refused 404 as ambiguous), and B's event seq does not count A's events."""

from __future__ import annotations

from tests.support.controller import Controller
from tests.support.room import create_room, phones, wait_joined
from tests.support.runtime import Runtime

B = "tenant-b-token"


async def test_another_tenant_cannot_take_a_live_room(
    runtime: Runtime, controller: Controller
) -> None:
    conf = await create_room(controller, "owned")  # tenant A's
    body = {"type": "conference", "room": "owned"}
    refused = await controller.request("POST", "/v1/conferences", token=B, json=body, expect=409)
    assert refused["error"] == "room_in_use" and refused["message"]
    assert (await controller.request("GET", "/v1/conferences", token=B))["result"] == []
    assert runtime.cli("bridge show all").count("owned") == 1
    async with phones(runtime, [440.0], "owned") as (phone,):
        await phone.dial("owned")
        await phone.wait_event("CALL_ESTABLISHED")
        await wait_joined(controller, conf["id"], 1)
        await phone.hangup()
        await phone.wait_event("CALL_CLOSED", timeout=5)
    # A had a dozen events by now; B's own start at 1.
    own = await controller.request(
        "POST", "/v1/conferences", token=B, json={"type": "conference"}, expect=201
    )
    events = await controller.request("GET", f"/v1/events?conference_id={own['id']}", token=B)
    assert [e["seq"] for e in events["result"]][:2] == [1, 2]
    a_events = (await controller.request("GET", "/v1/events?page_size=100"))["result"]
    assert len(a_events) > 2 and [e["seq"] for e in a_events] == list(range(1, len(a_events) + 1))
