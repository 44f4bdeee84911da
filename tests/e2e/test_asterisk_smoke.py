"""Smoke tests of the foundation: real Asterisk 22, real baresip, SIP + RTP on loopback."""

from __future__ import annotations

import asyncio
import re

import aiohttp

from tests.support.audio import ABSENT, HEARD, tone_share
from tests.support.phone import Phone
from tests.support.runtime import Runtime


async def test_ari_answers_with_version_22(runtime: Runtime) -> None:
    url = f"http://127.0.0.1:{runtime.s('ARI_PORT')}/ari/asterisk/info"
    auth = aiohttp.encode_basic_auth(runtime.s("ARI_USER"), runtime.s("ARI_PASSWORD"))
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, headers={"Authorization": auth}) as resp,
    ):
        assert resp.status == 200
        info = await resp.json()
    assert info["system"]["version"].startswith("22.")


async def test_ari_refuses_wrong_password(runtime: Runtime) -> None:
    url = f"http://127.0.0.1:{runtime.s('ARI_PORT')}/ari/asterisk/info"
    auth = aiohttp.encode_basic_auth(runtime.s("ARI_USER"), "wrong")
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, headers={"Authorization": auth}) as resp,
    ):
        assert resp.status == 401


async def test_softphone_hears_itself_on_echo_and_sdp_is_loopback(runtime: Runtime) -> None:
    runtime.cli("pjsip set logger on")
    log = runtime.instance_dir / "log" / "messages.log"
    log_start = log.stat().st_size
    phone = Phone(runtime, "alice", 440.0, tag="-echo")
    await phone.start()
    try:
        await phone.dial("echo")
        await phone.wait_event("CALL_ESTABLISHED", timeout=10)
        await asyncio.sleep(3.0)
        await phone.hangup()
        await phone.wait_event("CALL_CLOSED", timeout=5)
    finally:
        await phone.stop()
        runtime.cli("pjsip set logger off")

    # The echo returns the phone's own 440 Hz tone, and nothing at a tone it did not send.
    assert tone_share(phone.heard, 440.0) > HEARD
    assert tone_share(phone.heard, 880.0) < ABSENT

    # Every SDP Asterisk sent names 127.0.0.1 only (connection and origin lines).
    with log.open(errors="replace") as f:
        f.seek(log_start)
        text = f.read()
    sent = [b for b in re.split(r"<--- Transmitting SIP ", text)[1:]]
    sdp_addrs = [a for b in sent for a in re.findall(r"^(?:c|o)=.*IN IP[46] (\S+)", b, re.M)]
    assert sdp_addrs, "Asterisk sent no SDP (pjsip logger output not found)"
    assert set(sdp_addrs) == {"127.0.0.1"}, sdp_addrs


async def test_call_with_wrong_password_is_refused(runtime: Runtime) -> None:
    phone = Phone(runtime, "bob", 660.0, tag="-badpw", password="not-the-password")
    await phone.start()
    try:
        await phone.dial("echo")
        closed = await phone.wait_event("CALL_CLOSED", timeout=15)
        assert not phone.has_event("CALL_ESTABLISHED")
    finally:
        await phone.stop()
    assert closed["type"] == "CALL_CLOSED"
