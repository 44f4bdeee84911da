"""kill -9 of the controller in the middle of a join burst (the store writes behind the
state in memory, store/writer.py): after the restart the API must say what Asterisk says.

The burst: Local channels originated by Asterisk's CLI into the room's dialplan extension,
so each reaches Stasis like a dialled caller, many at once (five softphones could not make
a burst). Their other half waits in Wait() and ends with them."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from tests.support.controller import Controller
from tests.support.room import calls_of, create_room
from tests.support.runtime import Runtime

CALLERS = 16


async def originate(runtime: Runtime, room: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        *runtime.command(
            "asterisk",
            "-C",
            f"{runtime.inside(runtime.instance_dir)}/etc/asterisk.conf",
            "-rx",
            f"channel originate Local/{room}@confsvc-rooms application Wait 60",
        ),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await proc.wait()


async def ari_get(runtime: Runtime, path: str) -> Any:
    auth = aiohttp.encode_basic_auth(runtime.s("ARI_USER"), runtime.s("ARI_PASSWORD"))
    url = f"http://127.0.0.1:{runtime.s('ARI_PORT')}/ari{path}"
    async with aiohttp.ClientSession() as http, http.get(url, headers={"Authorization": auth}) as r:
        r.raise_for_status()
        return await r.json()


async def in_bridge(runtime: Runtime, conference_id: str) -> set[str]:
    return set((await ari_get(runtime, f"/bridges/{conference_id}"))["channels"])


async def test_kill9_during_a_join_burst(runtime: Runtime, controller: Controller) -> None:
    conf = await create_room(controller, "burst", max_participants=20)
    burst = [asyncio.create_task(originate(runtime, "burst")) for _ in range(CALLERS)]
    # Some callers are stored, some joined only in memory, some not admitted yet.
    await controller.wait_for(
        f"/v1/conferencecalls?conference_id={conf['id']}", lambda b: b["result"]
    )
    await controller.kill9()
    await asyncio.gather(*burst)
    await asyncio.sleep(1)  # the rest of the burst reaches Stasis with nobody listening
    await controller.start()

    async def in_stasis() -> set[str]:
        """The callers Asterisk holds for the room (one CLI originate may be refused under
        the burst: Asterisk, not the count asked for, is the truth)."""
        return {
            c["id"]
            for c in await ari_get(runtime, "/channels")
            if (c.get("dialplan") or {}).get("app_data") == "confsvc,burst"
        }

    deadline = asyncio.get_running_loop().time() + 15
    while True:
        calls = await calls_of(controller, conf["id"])
        joined = {c["reference_id"] for c in calls if c["status"] == "joined"}
        bridged, callers = await in_bridge(runtime, conf["id"]), await in_stasis()
        if joined == bridged == callers:
            break
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(
                f"API joined {len(joined)}, Asterisk bridged {len(bridged)} of {len(callers)}"
            )
        await asyncio.sleep(0.2)
    assert len(callers) >= CALLERS // 2, f"only {len(callers)} of {CALLERS} callers originated"
    got = await controller.request("GET", f"/v1/conferences/{conf['id']}")
    assert set(got["conferencecall_ids"]) == {c["id"] for c in calls if c["status"] == "joined"}
    # Every caller listed once: nothing admitted twice across the restart.
    refs = [c["reference_id"] for c in await calls_of(controller, conf["id"])]
    assert len(refs) == len(set(refs))
    await controller.request("DELETE", f"/v1/conferences/{conf['id']}", expect=200)
    await controller.wait_for(
        f"/v1/conferencecalls?conference_id={conf['id']}",
        lambda b: all(c["status"] == "leaved" for c in b["result"]),
    )
