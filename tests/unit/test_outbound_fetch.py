"""The policy at fetch time: the HTTP client (confsvc/outbound/http.py) against a real
loopback listener, and media URLs checked again right before Asterisk gets them.

DNS may answer differently at fetch time than when the URL came in: the client applies
the policy to the answer it connects to (no second lookup), keeps the name for Host/SNI,
follows no redirect and reads a bounded part of the answer."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from confsvc.config import Settings
from confsvc.outbound import OutboundClient, OutboundPolicy, UrlNotAllowed
from confsvc.outbound.policy import IPAddress
from tests.support.fake_ari import EngineHarness, engine_harness
from tests.support.listener import Listener, listening
from tests.support.outbound import PUBLIC, fake_resolve

LOOPBACK = ipaddress.ip_address("127.0.0.1")


class Flipping:
    """A DNS that answers PUBLIC for `name` until flipped, then 127.0.0.1 (a rebinding
    attacker's name); counts lookups."""

    def __init__(self, name: str = "flip.test") -> None:
        self.name = name
        self.internal = False
        self.lookups = 0

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        if host != self.name:
            return await fake_resolve(host, port)
        self.lookups += 1
        return [LOOPBACK if self.internal else PUBLIC]


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    async with listening() as lst:
        yield lst


@pytest.fixture
async def client() -> AsyncIterator[OutboundClient]:
    c = OutboundClient(OutboundPolicy(resolve=fake_resolve), timeout=5)
    try:
        yield c
    finally:
        await c.close()


@pytest.fixture
async def local() -> AsyncIterator[OutboundClient]:
    """A client whose policy allows 127.0.0.1 (the listener)."""
    allow = [ipaddress.ip_network("127.0.0.1/32")]
    c = OutboundClient(OutboundPolicy(allow, resolve=fake_resolve), timeout=5)
    try:
        yield c
    finally:
        await c.close()


async def test_refused_literals_and_names_send_nothing(
    client: OutboundClient, listener: Listener
) -> None:
    for host in ("127.0.0.1", "0x7f000001", "loopback.test", "[::ffff:127.0.0.1]"):
        with pytest.raises(UrlNotAllowed):
            await client.send("POST", f"http://{host}:{listener.port}/x", {}, b"{}")
    with pytest.raises(UrlNotAllowed, match="user name or password"):
        await client.send("GET", f"http://u:p@hooks.test:{listener.port}/", {}, b"")
    assert listener.seen == []


async def test_a_name_connects_to_the_checked_address_and_keeps_its_host_header(
    local: OutboundClient, listener: Listener
) -> None:
    # loopback.test exists only in the policy's resolver: reaching the listener proves
    # the connection went to the address the policy returned.
    status = await local.send("POST", f"http://loopback.test:{listener.port}/in", {}, b"hi")
    assert status == 200
    (seen,) = listener.seen
    assert (seen.path, seen.host, seen.body) == ("/in", f"loopback.test:{listener.port}", b"hi")


async def test_dns_rebinding_after_the_input_check_is_refused_at_fetch(
    listener: Listener,
) -> None:
    dns = Flipping()
    policy = OutboundPolicy(resolve=dns)  # no allow-list
    url = f"http://flip.test:{listener.port}/hook"
    await policy.check("url", url)  # at the API: public, accepted
    dns.internal = True  # the attacker's DNS now answers 127.0.0.1
    c = OutboundClient(policy, timeout=5)
    try:
        with pytest.raises(UrlNotAllowed, match="loopback"):
            await c.send("POST", url, {}, b"{}")
    finally:
        await c.close()
    assert dns.lookups == 2  # one at input, one at fetch: the one connected to
    assert listener.seen == []


async def test_a_redirect_is_returned_not_followed(
    local: OutboundClient, listener: Listener
) -> None:
    assert await local.send("GET", f"{listener.base}/redirect", {}, b"") == 302
    assert listener.paths() == ["/redirect"]


async def test_the_answer_is_read_up_to_a_bound(local: OutboundClient, listener: Listener) -> None:
    start = time.monotonic()
    assert await local.send("GET", f"{listener.base}/endless", {}, b"") == 200
    assert time.monotonic() - start < 3  # an unbounded read would run into the timeout


async def test_proxy_settings_from_the_environment_are_ignored(
    local: OutboundClient, listener: Listener, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://10.0.0.7:3128")
    monkeypatch.setenv("http_proxy", "http://10.0.0.7:3128")
    assert await local.send("GET", f"{listener.base}/direct", {}, b"") == 200
    assert listener.paths() == ["/direct"]


# --- media URLs: checked again when handed to Asterisk ---------------------------------


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[EngineHarness]:
    async with engine_harness(tmp_path) as harness:
        yield harness


def flip_dns(h: EngineHarness) -> Flipping:
    dns = Flipping()
    h.engine.outbound = OutboundPolicy.from_settings(Settings(), resolve=dns)
    return dns


async def test_a_wait_sound_that_turned_internal_is_not_played_nor_retried(
    h: EngineHarness,
) -> None:
    dns = flip_dns(h)
    await h.create(room="r1", options={"wait_sound": "http://flip.test/hold.wav"})
    dns.internal = True
    call = await h.dial_in("chan-1", "r1")
    assert call.status.value == "joined"  # the caller is in; only the sound is skipped
    assert h.ari.called("play_on_bridge") == []
    await asyncio.sleep(0.05)
    await h.engine.lanes.drain()
    assert h.ari.called("play_on_bridge") == [] and dns.lookups == 2  # no loop


async def test_enter_and_exit_sounds_that_turned_internal_are_skipped(h: EngineHarness) -> None:
    dns = flip_dns(h)
    url = "http://flip.test/in.wav"
    await h.create(room="r1", options={"enter_sound": url, "exit_sound": url})
    dns.internal = True
    await h.dial_in("chan-1", "r1")
    await h.dial_in("chan-2", "r1")
    await h.caller_hangs_up("chan-2")
    assert h.ari.called("play_on_bridge") == []


async def test_play_refuses_a_url_that_turned_internal(h: EngineHarness) -> None:
    dns = flip_dns(h)
    await h.create(room="r1")
    call = await h.dial_in("chan-1", "r1")
    engine = h.engine
    await engine.play("cust-a", call.id, "http://flip.test/a.wav")  # public: played
    dns.internal = True
    with pytest.raises(UrlNotAllowed) as err:
        await engine.play("cust-a", call.id, "http://flip.test/a.wav")
    assert err.value.field == "media" and err.value.http_status == 422
    assert len(h.ari.called("play_on_channel")) == 1
