"""The Plivo-shaped Conference REST API (seed 004) against a real Asterisk and real
baresip phones: list, details with members, mute, hang up one, the asynchronous mode
with callback_url (loopback), hang up all."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from tests.e2e.test_participant_control import call_of, dial
from tests.support.controller import Controller
from tests.support.phone import free_port
from tests.support.room import calls_of, create_room, phones, wait_joined
from tests.support.runtime import Runtime

ROOT = "/v1/Account/tenant-a/Conference/"


async def test_plivo_list_details_mute_hangup_one_and_all(
    runtime: Runtime, controller: Controller
) -> None:
    conf = await create_room(controller, "plivoroom")
    received: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def callback(request: web.Request) -> web.Response:
        await received.put(dict(await request.post()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/cb", callback)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with phones(runtime, [440.0, 1150.0], "plivo") as (a, b):
            await dial(a, "plivoroom")
            await dial(b, "plivoroom")
            await wait_joined(controller, conf["id"], 2)
            calls = await calls_of(controller, conf["id"])
            alice, bob = call_of(calls, "alice"), call_of(calls, "bob")

            listed = await controller.request("GET", ROOT, expect=200)
            assert listed["conferences"] == ["plivoroom"] and listed["api_id"], listed
            other = await controller.request("GET", "/v1/Account/tenant-b/Conference/")
            assert other["error"] == "account_not_found", other

            details = await controller.request("GET", f"{ROOT}plivoroom/", expect=200)
            assert details["conference_name"] == "plivoroom"
            assert details["conference_member_count"] == "2"
            assert int(details["conference_run_time"]) >= 0
            members = {m["member_id"]: m for m in details["members"]}
            assert set(members) == {alice["id"], bob["id"]}
            m = members[alice["id"]]
            assert m["call_uuid"] == alice["reference_id"] and m["to"] == "plivoroom"
            assert m["from"] == alice["caller"]["number"] and m["direction"] == "inbound"
            assert (m["muted"], m["deaf"]) == (False, False) and m["join_time"].isdigit()

            muted = await controller.request(
                "POST", f"{ROOT}plivoroom/Member/{alice['id']}/Mute/", expect=202
            )
            assert muted["member_id"] == [alice["id"]] and muted["message"] == "muted"
            details = await controller.request("GET", f"{ROOT}plivoroom/", expect=200)
            assert {x["member_id"]: x["muted"] for x in details["members"]} == {
                alice["id"]: True,
                bob["id"]: False,
            }

            await controller.request("DELETE", f"{ROOT}plivoroom/Member/{alice['id']}/", expect=204)
            await a.wait_event("CALL_CLOSED", timeout=5)
            await controller.wait_for(
                f"/v1/conferencecalls/{alice['id']}", lambda c: c["status"] == "leaved"
            )

            cb = f"http://127.0.0.1:{port}/cb"
            spawned = await controller.request(
                "POST", f"{ROOT}plivoroom/Member/all/Deaf/?callback_url={cb}", expect=202
            )
            got = await asyncio.wait_for(received.get(), 5)
            assert got["api_id"] == spawned["api_id"] and got["status"] == "202", got
            result = json.loads(got["response"])
            assert result["member_id"] == [bob["id"]] and result["message"] == "deaf"
            bob_now = await controller.request("GET", f"/v1/conferencecalls/{bob['id']}")
            assert bob_now["deaf"] is True

            await controller.request("DELETE", ROOT, expect=204)
            await b.wait_event("CALL_CLOSED", timeout=5)
            await controller.wait_for(
                f"/v1/conferences/{conf['id']}", lambda c: c["status"] == "terminated"
            )
            gone = await controller.request("GET", f"{ROOT}plivoroom/")
            assert gone["error"] == "conference_not_found", gone
            assert (await controller.request("GET", ROOT))["conferences"] == []
    finally:
        await runner.cleanup()
