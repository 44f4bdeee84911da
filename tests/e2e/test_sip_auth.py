"""Nobody gets into a room over SIP without authenticating (issue 11, defect 1).

Raw INVITEs with an SDP (tests/support/sip.py) go to the session's real Asterisk while a
controller runs with auto-create on: no credentials, From `trunk`, From every softphone
account, wrong passwords. Each must be refused with 401/403 (never answered, never early
media), no conferencecall or room may appear in the API, and Asterisk's own log must show
that no Stasis() ran. From the trunk's own address and port the call is the trunk's, and the
trunk's inbound calls are refused unless CONFSVC_TRUNK_INBOUND=rooms (a second Asterisk with
that setting lets the same INVITE into a room). Positive controls: the same raw client with
the right password is answered, and a real baresip phone joins."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.controller import Controller, running_controller
from tests.support.phone import Phone
from tests.support.room import ACCOUNTS, create_room, wait_joined
from tests.support.runtime import Runtime, started
from tests.support.runtime import test_env as session_env
from tests.support.sip import InviteResult, SipClient

ROOM = "55555"  # an all-digit room that exists (the example)
UNKNOWN = "77777"  # a room that does not exist: auto-create must not make it
REFUSED = (401, 403)


@pytest.fixture
async def ctl(runtime: Runtime, tmp_path: Path) -> AsyncIterator[Controller]:
    async with running_controller(
        runtime, tmp_path / "controller", CONFSVC_AUTO_CREATE_ROOMS="true"
    ) as c:
        yield c


class AsteriskLog:
    """The part of an instance's messages.log written since `mark()` (verbose: every
    dialplan application Asterisk runs is logged, Stasis() included)."""

    def __init__(self, runtime: Runtime) -> None:
        self.path = runtime.instance_dir / "log" / "messages.log"
        self.offset = 0

    def mark(self) -> None:
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def since(self) -> str:
        with self.path.open("rb") as f:
            f.seek(self.offset)
            return f.read().decode("utf-8", "replace")


def calls_processed(runtime: Runtime) -> int:
    found = re.search(r"(\d+) calls? processed", runtime.cli("core show channels count"))
    assert found is not None
    return int(found.group(1))


async def room_state(ctl: Controller) -> tuple[set[str], list[dict[str, Any]]]:
    """Every conference's room and every conferencecall the tenant can see."""
    confs = (await ctl.request("GET", "/v1/conferences?page_size=100", expect=200))["result"]
    calls = (await ctl.request("GET", "/v1/conferencecalls?page_size=100", expect=200))["result"]
    return {c["room"] for c in confs}, calls


def invite(port: int, room: str, from_user: str, *, password: str | None = None,
           local_port: int = 0) -> InviteResult:  # fmt: skip
    with SipClient(port, local_port=local_port, timeout=4) as sip:
        return sip.invite(room, from_user, password=password)


def assert_refused(result: InviteResult, what: str) -> None:
    assert result.final in REFUSED, f"{what}: {result.statuses}"
    assert not result.answered and not result.early_media, f"{what}: {result.statuses}"


def attacks() -> list[tuple[str, str, str | None]]:
    """(label, From user, password for the digest retry or None for no retry)."""
    out: list[tuple[str, str, str | None]] = [
        ("no credentials, From trunk", "trunk", None),
        ("digest for trunk", "trunk", "anything"),
        ("unknown user", "mallory", None),
        ("unknown user with a digest", "mallory", "anything"),
    ]
    for account in ACCOUNTS:
        out.append((f"no credentials, From {account}", account, None))
        out.append((f"wrong password for {account}", account, "not-the-password"))
    return out


async def test_unauthenticated_invites_are_refused_and_reach_no_room(
    runtime: Runtime, ctl: Controller
) -> None:
    await create_room(ctl, ROOM)
    rooms_before, calls_before = await room_state(ctl)
    log = AsteriskLog(runtime)
    log.mark()
    processed = calls_processed(runtime)
    port = int(runtime.s("SIP_PORT"))

    for room in (ROOM, UNKNOWN):
        for label, from_user, password in attacks():
            result = await asyncio.to_thread(invite, port, room, from_user, password=password)
            assert_refused(result, f"{label} -> {room}")
            if password is not None and from_user in ACCOUNTS:
                # The digest was really sent and checked (a challenge, then a refusal).
                assert result.statuses.count(401) >= 1 and len(result.responses) >= 2, label

    await asyncio.sleep(1)  # anything that got through would have reached the API by now
    assert await room_state(ctl) == (rooms_before, calls_before)
    assert UNKNOWN not in rooms_before
    # Refused before any channel existed: no call was processed, no dialplan ran.
    assert calls_processed(runtime) == processed
    assert "Stasis(" not in log.since()


async def test_the_right_password_is_answered(runtime: Runtime, ctl: Controller) -> None:
    """Control for the test above: the same raw client gets in with the right digest, so
    its refusals are Asterisk's doing, not the client's."""
    conf = await create_room(ctl, "rawok")
    log = AsteriskLog(runtime)
    log.mark()
    port = int(runtime.s("SIP_PORT"))
    result = await asyncio.to_thread(
        invite, port, "rawok", "alice", password=runtime.s("PHONE_PASSWORD")
    )
    assert result.statuses[0] == 401 and result.answered, result.statuses
    body = await ctl.wait_for(
        f"/v1/conferencecalls?conference_id={conf['id']}", lambda b: bool(b["result"])
    )
    assert "alice" in body["result"][0]["caller"]["number"]
    # Its end runs Asterisk's `h` extension, which must not be taken for a room "h" (it
    # was: Stasis(confsvc,h) after every call, and with auto-create a room "h").
    await ctl.wait_for(
        f"/v1/conferencecalls?conference_id={conf['id']}",
        lambda b: b["result"][0]["status"] == "leaved",
    )
    await asyncio.sleep(0.5)
    assert "[h@confsvc-rooms:1] Stasis(" not in log.since()
    assert "h" not in (await room_state(ctl))[0]


async def test_a_phone_with_the_right_password_joins(runtime: Runtime, ctl: Controller) -> None:
    conf = await create_room(ctl, "authok")
    phone = Phone(runtime, "bob", 440.0, tag="-authok")
    await phone.start()
    try:
        await phone.dial(f"sip:authok@127.0.0.1:{runtime.s('SIP_PORT')}")
        await wait_joined(ctl, conf["id"], 1, timeout=15)
    finally:
        await phone.stop()


async def test_calls_from_the_trunk_address_are_refused(runtime: Runtime, ctl: Controller) -> None:
    """From 127.0.0.1:<trunk port> the request *is* the trunk (whatever its From says);
    by default (CONFSVC_TRUNK_INBOUND=refuse) its calls go nowhere near a room."""
    await create_room(ctl, ROOM)
    rooms_before, calls_before = await room_state(ctl)
    log = AsteriskLog(runtime)
    log.mark()
    port, trunk_port = int(runtime.s("SIP_PORT")), int(runtime.s("TRUNK_PORT"))
    for room in (ROOM, UNKNOWN):
        for from_user in ("trunk", "alice", "anonymous"):
            try:
                result = await asyncio.to_thread(
                    invite, port, room, from_user, local_port=trunk_port
                )
            except OSError as exc:  # e.g. the dial-out test carrier still holds it
                pytest.fail(f"cannot send from the trunk port {trunk_port}: {exc}")
            assert_refused(result, f"trunk address, From {from_user} -> {room}")
    await asyncio.sleep(1)
    assert await room_state(ctl) == (rooms_before, calls_before)
    text = log.since()
    assert "confsvc-trunk-refuse" in text, "the trunk's calls did not land in its context"
    assert "Stasis(" not in text


# --- CONFSVC_TRUNK_INBOUND=rooms: a second Asterisk, so the session's keeps its default


def rooms_env() -> dict[str, str]:
    """The session layout moved up by 200 (SIP base+260, ARI +288, HTTP +280, trunk +360),
    RTP base+5500..5999: clear of the session's instance, its phones and the carrier."""
    base = int(os.environ.get("CONFSVC_TEST_PORT_BASE", "25000"))
    env = session_env(base + 200)
    env.update(
        CONFSVC_RTP_START=str(base + 5500),
        CONFSVC_RTP_END=str(base + 5999),
        CONFSVC_TRUNK_INBOUND="rooms",
    )
    return env


@pytest.fixture(scope="module")
def rooms_runtime(runtime: Runtime) -> Iterator[Runtime]:
    with started(Runtime(env=rooms_env()), "the trunk-inbound Asterisk") as rt:
        yield rt


async def test_trunk_inbound_rooms_setting_lets_the_trunk_in(
    rooms_runtime: Runtime, tmp_path: Path
) -> None:
    async with running_controller(
        rooms_runtime, tmp_path / "controller", CONFSVC_AUTO_CREATE_ROOMS="true"
    ) as ctl:
        port, trunk_port = int(rooms_runtime.s("SIP_PORT")), int(rooms_runtime.s("TRUNK_PORT"))
        # Still only from the trunk's address: From trunk elsewhere is nobody.
        result = await asyncio.to_thread(invite, port, ROOM, "trunk")
        assert_refused(result, "From trunk, not from the trunk's address")
        result = await asyncio.to_thread(invite, port, ROOM, "trunk", local_port=trunk_port)
        assert result.answered, result.statuses
        await ctl.wait_for("/v1/conferencecalls", lambda b: bool(b["result"]))
        rooms, _ = await room_state(ctl)
        assert ROOM in rooms, rooms  # auto-created by the trunk's call
