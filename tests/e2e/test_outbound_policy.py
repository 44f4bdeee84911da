"""The outbound URL policy with the real controller and the real Asterisk (issue 11,
defects 2, 3 and 6). The controller allows 127.0.0.1 for the tests' receivers (as make
run does): ARI's port must stay closed all the same, and a local receiver must work."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from confsvc.ari import AriClient, AriError
from confsvc.engine.media import padded_url
from tests.support.controller import ApiError, Controller, running_controller
from tests.support.listener import listening
from tests.support.runtime import Runtime

PLIVO = "/v1/Account/tenant-a/Conference/"
CONF = {"type": "conference"}
FAST_RETRY = {"CONFSVC_WEBHOOK_BACKOFF_BASE": "0.2", "CONFSVC_WEBHOOK_BACKOFF_CAP": "1"}


@pytest.fixture
async def ctl(runtime: Runtime, tmp_path: Path) -> AsyncIterator[Controller]:
    async with running_controller(runtime, tmp_path / "controller", **FAST_RETRY) as c:
        yield c


def ari_urls(runtime: Runtime) -> list[str]:
    """The issue's URL against this Asterisk's ARI: credentials as userinfo, and as ARI's
    api_key parameter (no userinfo needed)."""
    port, user, password = runtime.s("ARI_PORT"), runtime.s("ARI_USER"), runtime.s("ARI_PASSWORD")
    path = "/ari/channels?endpoint=PJSIP/%2B19005550199@trunk&app=confsvc"
    return [
        f"http://{user}:{password}@127.0.0.1:{port}{path}",
        f"http://127.0.0.1:{port}{path}&api_key={user}:{password}",
        f"http://localhost:{port}/ari/asterisk/variable?variable=X&api_key={user}:{password}",
    ]


async def refused(ctl: Controller, method: str, path: str, body: Any, field: str) -> None:
    with pytest.raises(ApiError) as err:
        await ctl.request(method, path, json=body, expect=200)
    assert err.value.status == 422, err.value.body
    assert err.value.body["error"] == "url_not_allowed", err.value.body
    assert err.value.body["field"] == field, err.value.body


async def test_ari_through_a_url_field_is_refused(ctl: Controller, runtime: Runtime) -> None:
    body = {**CONF, "room": "ari_guard"}
    conf = await ctl.request("POST", "/v1/conferences", json=body, expect=201)
    for url in ari_urls(runtime):
        await refused(ctl, "POST", "/v1/conferences", {**CONF, "notify_url": url}, "notify_url")
        await refused(ctl, "PUT", f"/v1/conferences/{conf['id']}", {"callback_url": url},
                      "callback_url")  # fmt: skip
        await refused(ctl, "POST", "/v1/conferences", {**CONF, "wait_sound": url}, "wait_sound")
        await refused(ctl, "POST", "/v1/webhooks", {"url": url}, "url")
        await refused(ctl, "GET", f"{PLIVO}?callback_url={quote(url, safe='')}", None,
                      "callback_url")  # fmt: skip
    await asyncio.sleep(0.5)
    assert "19005550199" not in runtime.cli("core show channels concise")
    log = ctl.log.read_text()
    assert "Traceback" not in log and "Task exception was never retrieved" not in log


async def test_a_local_receiver_gets_events_and_a_failing_one_is_logged(
    ctl: Controller,
) -> None:
    """Loopback is allowed for the tests: deliveries arrive; a receiver that is down is
    retried and logged, without the TypeError every attempt raised before (defect 6)."""
    async with listening() as rx:
        await ctl.request("POST", "/v1/webhooks", json={"url": f"{rx.base}/hook"}, expect=201)
        # Nothing listens on port 9 (discard): every attempt fails.
        await ctl.request("POST", "/v1/webhooks", json={"url": "http://127.0.0.1:9/"}, expect=201)
        await ctl.request("POST", "/v1/conferences", json={**CONF, "room": "local_rx"}, expect=201)
        await asyncio.wait_for(rx.arrived.wait(), 10)
        assert rx.paths() == ["/hook"]
        for _ in range(100):
            log = ctl.log.read_text()
            if "delivery failed: will retry" in log:
                break
            await asyncio.sleep(0.1)
    assert "delivery failed: will retry" in log
    assert "Traceback" not in log and "Task exception was never retrieved" not in log


async def test_asterisk_does_not_follow_a_redirect_for_media(runtime: Runtime) -> None:
    """Media URLs are fetched by Asterisk (res_http_media_cache): it must not follow a
    redirect either (a checked public URL could redirect to an internal one)."""
    ari = AriClient(
        f"http://127.0.0.1:{runtime.s('ARI_PORT')}/ari",
        runtime.s("ARI_USER"),
        runtime.s("ARI_PASSWORD"),
        runtime.s("ARI_APP"),
    )
    async with ari, listening() as rx:
        await ari.create_bridge("redirect-probe")
        try:
            url = padded_url(f"{rx.base}/redirect/hold.wav")
            with contextlib.suppress(AriError):
                await ari.play_on_bridge("redirect-probe", ["sound:" + url], playback_id="rp-1")
            await asyncio.wait_for(rx.arrived.wait(), 10)
            await asyncio.sleep(1.0)  # time enough to follow it
        finally:
            await ari.destroy_bridge("redirect-probe")
    # It may ask more than once; it never goes where the redirect points.
    assert rx.paths() and set(rx.paths()) == {"/redirect/hold.wav"}, rx.paths()
