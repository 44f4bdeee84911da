"""kill -9 of the controller with callers inside: they keep talking; the API catches up."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.e2e.test_conference_audio import TONES, hang_up_all, share
from tests.support.audio import HEARD
from tests.support.controller import Controller
from tests.support.room import calls_of, create_room, dial_in, phones, wait_joined
from tests.support.runtime import Runtime

# The conference core on both stores (issue 14).
pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgres"])


async def test_kill9_and_restart_keeps_callers(runtime: Runtime, controller: Controller) -> None:
    conf = await create_room(controller, "survivor")
    async with phones(runtime, TONES, "restart") as ps:
        start = await dial_in(ps, "survivor")
        await wait_joined(controller, conf["id"], 3)
        await controller.kill9()
        # carol hangs up while nobody is watching.
        await ps[2].hangup()
        await ps[2].wait_event("CALL_CLOSED")
        await asyncio.sleep(1)
        restarted = time.monotonic()
        await controller.start()
        calls = await controller.wait_for(
            f"/v1/conferencecalls?conference_id={conf['id']}",
            lambda b: sorted(c["status"] for c in b["result"]) == ["joined", "joined", "leaved"],
            timeout=2.0,
        )
        assert len(calls["result"]) == 3
        got = await controller.request("GET", f"/v1/conferences/{conf['id']}")
        assert got["status"] == "progressing" and len(got["conferencecall_ids"]) == 2
        await asyncio.sleep(2)
        await hang_up_all(ps[:2])
        # alice kept hearing bob across the restart, and bob alice.
        after = restarted - start + 0.5
        assert share(ps[0], TONES[1], start=after) > HEARD
        assert share(ps[1], TONES[0], start=after) > HEARD
        await controller.wait_for(
            f"/v1/conferencecalls?conference_id={conf['id']}",
            lambda b: all(c["status"] == "leaved" for c in b["result"]),
        )
        assert len(await calls_of(controller, conf["id"])) == 3
