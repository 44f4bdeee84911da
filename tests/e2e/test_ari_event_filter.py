"""Issue 12: Asterisk sends the controller's app only the event types the engine reads
(a call brings a dozen ChannelVarset/ChannelDialplan events nobody here uses). Every other
e2e test runs under this filter, so a type the engine needs and the list lacks shows there."""

from __future__ import annotations

import aiohttp

from confsvc.engine.router import HANDLED_EVENTS
from tests.support.controller import Controller
from tests.support.runtime import Runtime


async def test_the_app_receives_only_the_handled_event_types(
    runtime: Runtime, controller: Controller
) -> None:
    url = f"http://127.0.0.1:{runtime.s('ARI_PORT')}/ari/applications/{runtime.s('ARI_APP')}"
    auth = aiohttp.encode_basic_auth(runtime.s("ARI_USER"), runtime.s("ARI_PASSWORD"))
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, headers={"Authorization": auth}) as resp,
    ):
        assert resp.status == 200
        app = await resp.json()
    allowed = {e["type"] for e in app["events_allowed"]}
    assert allowed == set(HANDLED_EVENTS)
    assert "ChannelVarset" not in allowed and "ChannelDialplan" not in allowed
