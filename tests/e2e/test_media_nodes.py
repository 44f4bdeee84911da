"""Several Asterisk media nodes behind Kamailio, one API (issue 15): real Kamailio, two
real Asterisks, real baresip phones dialling the one SIP entry; audio proven by FFT."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.audio import ABSENT, HEARD, band_energy, read_wav
from tests.support.carrier import ANSWER_440, Carrier, carrier_env
from tests.support.cluster import OPERATOR_TOKEN, Cluster
from tests.support.controller import Controller, running_controller
from tests.support.phone import Phone
from tests.support.room import calls_of, create_room, wait_joined
from tests.support.runtime import started

TONES = {"alice": 440.0, "bob": 700.0, "carol": 1150.0, "dave": 1600.0, "erin": 2000.0}


@pytest.fixture
async def controller(cluster: Cluster, tmp_path: Path) -> AsyncIterator[Controller]:
    """One controller over both nodes (CONFSVC_NODES), answering Kamailio's placement."""
    settings = {**cluster.settings, "CONFSVC_DIALOUT_ALLOW": "tenant-a:+1555"}
    async with running_controller(cluster.node1, tmp_path / "ctl", **settings) as ctl:
        await ctl.wait_for(
            "/v1/nodes",
            lambda b: [n["status"] for n in b["result"]] == ["up", "up"],
            token=OPERATOR_TOKEN,
        )
        yield ctl


async def nodes(ctl: Controller) -> dict[str, dict[str, Any]]:
    body = await ctl.request("GET", "/v1/nodes", token=OPERATOR_TOKEN, expect=200)
    return {n["id"]: n for n in body["result"]}


async def placed_on(ctl: Controller, node: str, room: str) -> dict[str, Any]:
    """A new room on `node`: the other node drains while it is made."""
    other = "n2" if node == "n1" else "n1"
    await ctl.request("POST", f"/v1/nodes/{other}/drain", token=OPERATOR_TOKEN, expect=200)
    try:
        return await create_room(ctl, room)
    finally:
        await ctl.request("POST", f"/v1/nodes/{other}/undrain", token=OPERATOR_TOKEN, expect=200)


async def node_cli(ctl: Controller, *args: str) -> str:
    """`confsvc nodes ...` against ctl; its output."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "confsvc", "nodes", *args, "--url", ctl.base,
        env={**os.environ, "CONFSVC_METRICS_TOKEN": OPERATOR_TOKEN},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode()


def share(phone: Phone, freq: float, start: float = 0.5, end: float | None = None) -> float:
    data, rate = read_wav(phone.heard)
    seg = data[int(start * rate) : None if end is None else int(end * rate)]
    return band_energy(seg, rate, freq)


async def started_phones(cluster: Cluster, names: list[str], tag: str) -> list[Phone]:
    ps = [Phone(cluster.node1, n, TONES[n], tag=f"-{tag}") for n in names]
    for p in ps:
        await p.start()
    return ps


async def stop_all(ps: list[Phone]) -> None:
    await asyncio.gather(*(p.stop() for p in ps), return_exceptions=True)


async def established(ps: list[Phone]) -> None:
    for p in ps:
        await p.wait_event("CALL_ESTABLISHED", timeout=15)


def assert_hears_only(p: Phone, mates: list[Phone], others: list[Phone], **seg: float) -> None:
    for m in mates:
        assert share(p, m.tone_hz, **seg) > HEARD, f"{p.name} did not hear {m.name}"
    for o in [p, *others]:
        assert share(p, o.tone_hz, **seg) < ABSENT, f"{p.name} heard {o.name}"


async def test_two_rooms_on_two_nodes_hear_only_their_own(
    cluster: Cluster, controller: Controller
) -> None:
    east = await placed_on(controller, "n1", "east")
    west = await placed_on(controller, "n2", "west")
    ps = await started_phones(cluster, ["alice", "bob", "carol", "dave"], "2rooms")
    try:
        alice, bob, carol, dave = ps
        for p, room in ((alice, "east"), (bob, "east"), (carol, "west"), (dave, "west")):
            await p.dial(cluster.room_uri(room))
        await established(ps)
        await wait_joined(controller, east["id"], 2)
        await wait_joined(controller, west["id"], 2)
        shown1 = cluster.node1.cli("bridge show all")
        shown2 = cluster.node2.cli("bridge show all")
        assert "east" in shown1 and "west" not in shown1, shown1
        assert "west" in shown2 and "east" not in shown2, shown2
        placed = await nodes(controller)
        assert placed["n1"]["callers"] >= 2 and placed["n2"]["callers"] == 2, placed
        for conf, node in ((east, "n1"), (west, "n2")):
            got = await controller.request("GET", f"/v1/conferences/{conf['id']}")
            assert got["media_node"] == node, got
        await asyncio.sleep(3)
        for p in ps:
            await p.hangup()
        for p in ps:
            await p.wait_event("CALL_CLOSED", timeout=5)
        await asyncio.sleep(0.3)
        assert_hears_only(alice, [bob], [carol, dave])
        assert_hears_only(bob, [alice], [carol, dave])
        assert_hears_only(carol, [dave], [alice, bob])
        assert_hears_only(dave, [carol], [alice, bob])
    finally:
        await stop_all(ps)


async def test_a_draining_node_takes_no_new_room(cluster: Cluster, controller: Controller) -> None:
    before = await nodes(controller)
    drained = await controller.request(
        "POST", "/v1/nodes/n1/drain", token=OPERATOR_TOKEN, expect=200
    )
    assert drained["status"] == "draining"
    for room in ("d1", "d2"):
        await create_room(controller, room)
    placed = await nodes(controller)
    assert placed["n1"]["rooms"] == before["n1"]["rooms"], placed
    assert placed["n2"]["rooms"] == before["n2"]["rooms"] + 2, placed
    # The CLI does the same (operator token from CONFSVC_METRICS_TOKEN).
    assert await node_cli(controller, "undrain", "n1")
    listed = await node_cli(controller, "list")
    assert listed.split("\n")[1].split()[:2] == ["n1", "up"], listed
    assert (await nodes(controller))["n1"]["status"] == "up"
    status, body = await controller.raw("GET", "/v1/nodes")  # a tenant token: no
    assert status == 401 and body["error"] == "unauthorized"


async def test_race_of_two_first_callers_lands_in_one_bridge(
    cluster: Cluster, controller: Controller
) -> None:
    ps = await started_phones(cluster, ["alice", "bob"], "race")
    try:
        await asyncio.gather(*(p.dial(cluster.room_uri("racer")) for p in ps))
        await established(ps)
        body = await controller.wait_for(
            "/v1/conferences?page_size=100",
            lambda b: any(c["room"] == "racer" for c in b["result"]),
        )
        confs = [c for c in body["result"] if c["room"] == "racer" and c["status"] != "terminated"]
        assert len(confs) == 1, confs
        await wait_joined(controller, confs[0]["id"], 2)
        shown = [cluster.node1.cli("bridge show all"), cluster.node2.cli("bridge show all")]
        assert sum("racer" in s for s in shown) == 1, shown
    finally:
        await stop_all(ps)


async def test_node_loss_ends_its_calls_and_moves_its_rooms(
    cluster: Cluster, controller: Controller
) -> None:
    stay = await placed_on(controller, "n1", "stay")
    lost = await placed_on(controller, "n2", "lost")
    ps = await started_phones(cluster, ["alice", "bob", "carol", "dave"], "loss")
    later: list[Phone] = []
    try:
        alice, bob, carol, dave = ps
        for p, room in ((alice, "stay"), (bob, "stay"), (carol, "lost"), (dave, "lost")):
            await p.dial(cluster.room_uri(room))
        await established(ps)
        est_at = time.monotonic()  # about where the phones' heard.wav begin
        await wait_joined(controller, stay["id"], 2)
        await wait_joined(controller, lost["id"], 2)
        assert "lost" in cluster.node2.cli("bridge show all")
        await asyncio.sleep(1)
        killed = time.monotonic()
        cluster.node2.kill9()
        await controller.wait_for(
            f"/v1/conferencecalls?conference_id={lost['id']}",
            lambda b: all(c["status"] == "leaved" for c in b["result"]),
            timeout=10,
        )
        took = time.monotonic() - killed
        print(f"callers of the lost node leaved {took:.1f} s after the kill")
        assert took <= 10, took
        assert all(c["status"] == "joined" for c in await calls_of(controller, stay["id"]))
        placed = await nodes(controller)
        assert placed["n2"]["status"] == "down", placed
        # The lost room is usable again: its next callers land on n1 and hear each other.
        later = await started_phones(cluster, ["erin", "carol"], "moved")
        for p in later:
            await p.dial(cluster.room_uri("lost"))
        await established(later)
        await wait_joined(controller, lost["id"], 2)
        assert "lost" in cluster.node1.cli("bridge show all")
        await asyncio.sleep(3)
        for p in [alice, bob, *later]:
            await p.hangup()
        for p in [alice, bob, *later]:
            await p.wait_event("CALL_CLOSED", timeout=5)
        await asyncio.sleep(0.3)
        # The room on the surviving node kept its audio after the kill.
        seg = {"start": killed - est_at + 0.5, "end": killed - est_at + 3.0}
        assert_hears_only(alice, [bob], [carol, dave], **seg)
        erin, carol2 = later
        assert_hears_only(erin, [carol2], [alice, bob])
        # A node that comes back is used again.
        cluster.node2.start()
        await controller.wait_for(
            "/v1/nodes",
            lambda b: {n["id"]: n["status"] for n in b["result"]}["n2"] == "up",
            timeout=20,
            token=OPERATOR_TOKEN,
        )
        back = await placed_on(controller, "n2", "back")
        assert "back" in cluster.node2.cli("bridge show all"), back
    finally:
        await stop_all(ps + later)
        if not cluster.node2.ctl("status", check=False).startswith("running"):
            cluster.node2.start()  # for the tests after this one


@pytest.fixture(scope="module")
def carrier(cluster: Cluster) -> Iterator[Carrier]:
    """The test carrier both nodes' trunks point at (tests/support/carrier.py)."""
    with started(Carrier(env=carrier_env()), "the test carrier") as c:
        yield c


async def test_dial_out_leaves_from_the_rooms_node(
    cluster: Cluster, controller: Controller, carrier: Carrier
) -> None:
    conf = await placed_on(controller, "n2", "far")
    body = {"dest": [ANSWER_440], "timeout": 10}  # the trunk's own caller id
    placed = await controller.request(
        "POST", f"/v1/conferences/{conf['id']}/calls", json=body, expect=201
    )
    (txn,) = placed["txn_refs"]
    call = await controller.wait_for(
        f"/v1/calls/{txn}", lambda b: b["conferencecall_id"] is not None, timeout=15
    )
    assert call["status"] == "answered"
    await wait_joined(controller, conf["id"], 1)
    assert txn in cluster.node2.cli("core show channels concise")
    assert txn not in cluster.node1.cli("core show channels concise")
    await controller.request("DELETE", f"/v1/conferences/{conf['id']}", expect=200)


async def test_digest_auth_holds_through_kamailio(cluster: Cluster, controller: Controller) -> None:
    """Asterisk's challenge reaches the phone through Kamailio: a wrong password is
    refused by the node (never answered), the right one joins."""
    conf = await create_room(controller, "guarded")
    wrong = Phone(cluster.node1, "alice", 440.0, tag="-wrongpw", password="not-the-password")
    right = Phone(cluster.node1, "bob", 700.0, tag="-rightpw")
    try:
        await wrong.start()
        await wrong.dial(cluster.room_uri("guarded"))
        closed = await wrong.wait_event("CALL_CLOSED", timeout=15)
        assert not wrong.has_event("CALL_ESTABLISHED"), closed
        assert await calls_of(controller, conf["id"]) == []
        await right.start()
        await right.dial(cluster.room_uri("guarded"))
        await right.wait_event("CALL_ESTABLISHED", timeout=15)
        await wait_joined(controller, conf["id"], 1)
    finally:
        await stop_all([wrong, right])
