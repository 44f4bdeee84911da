"""Placement and routing over several media nodes (confsvc/nodes), with fake ARI clients."""

from __future__ import annotations

from typing import Any

import pytest

from confsvc.ari import AriClient, AriNotFound
from confsvc.nodes import Cluster, Node, NodeAri, NodeSpec, parse_nodes

DEFAULT = NodeSpec("dev", "127.0.0.1", 8088, 5060)


class FakeClient(AriClient):
    def __init__(self, has: set[str]) -> None:
        super().__init__("http://127.0.0.1:1/ari", "u", "p", "confsvc")
        self.has = has
        self.calls: list[tuple[str, str]] = []

    async def _request(
        self, method: str, path: str, params: Any = None, body: Any = None, *, timeout: Any = None
    ) -> tuple[int, bytes]:
        self.calls.append((method, path))
        if path.startswith("/channels/") and path.split("/")[2] not in self.has:
            raise AriNotFound(404, method, path, "Channel not found")
        return 204, b""


def cluster(*ids: str) -> Cluster:
    nodes = {
        i: Node(NodeSpec(i, "127.0.0.1", 9000 + n, 5000 + n), FakeClient(set()), connected=True)
        for n, i in enumerate(ids)
    }
    return Cluster(nodes, is_room=lambda b: not b.startswith("txleg-"))


def test_parse_nodes() -> None:
    assert parse_nodes("", DEFAULT) == [DEFAULT]
    got = parse_nodes("a=127.0.0.1:8101:5101, b=127.0.0.1:8102:5102", DEFAULT)
    assert [(s.id, s.ari_port, s.sip_uri) for s in got] == [
        ("a", 8101, "sip:127.0.0.1:5101"),
        ("b", 8102, "sip:127.0.0.1:5102"),
    ]
    for bad in ("a=127.0.0.1:8101", "a=h:x:5101", "a=h:1:2,a=h:3:4", "=h:1:2"):
        with pytest.raises(ValueError, match="CONFSVC_NODES entry"):
            parse_nodes(bad, DEFAULT)


def test_racing_first_callers_of_a_room_get_one_node_and_the_next_room_another() -> None:
    c = cluster("n1", "n2")
    first = c.place_room("new", None)
    assert first is not None and c.place_room("new", None) is first  # the racer
    other = c.place_room("other", None)
    assert other is not None and other is not first  # the reservation counts as load
    # The conference made for the room takes its reserved node; the reservation is used up.
    assert c.node_for_new_bridge("conf-1", "new") is first
    assert "new" not in c.reserved and c.bridges["conf-1"] == first.id
    assert c.place_room("new", "conf-1") is first


def test_draining_and_down_nodes_take_no_new_room() -> None:
    c = cluster("n1", "n2", "n3")
    c.nodes["n1"].draining = True
    c.nodes["n2"].down = True
    assert c.pick() is c.nodes["n3"]
    c.nodes["n3"].connected = False
    assert c.pick() is None and c.place_room("x", None) is None


def test_a_lost_node_forgets_what_lived_there() -> None:
    c = cluster("n1", "n2")
    c.bridges.update({"conf-1": "n1", "conf-2": "n2"})
    c.channels.update({"ch-1": "n1", "ch-2": "n2"})
    c.nodes["n2"].down = True
    c.forget_node("n2")
    assert c.bridges == {"conf-1": "n1"} and c.channels == {"ch-1": "n1"}
    assert c.owner("conf-2") is None
    assert [v["status"] for v in c.view()] == ["down", "down"]  # neither has reconciled yet


async def test_requests_go_to_the_node_that_holds_the_resource() -> None:
    c = cluster("n1", "n2")
    ari = NodeAri(c, "confsvc", related=lambda rid: {"dial-1": "conf-2"}.get(rid))
    n1, n2 = (c.nodes[i].client for i in ("n1", "n2"))
    assert isinstance(n1, FakeClient) and isinstance(n2, FakeClient)
    c.channels["ch-2"] = "n2"
    n2.has.add("ch-2")
    await ari.answer("ch-2")
    assert n2.calls == [("POST", "/channels/ch-2/answer")] and n1.calls == []
    # A dial-out channel is originated where its conference lives.
    c.bridges["conf-2"] = "n2"
    await ari._request("POST", "/channels", {"channelId": "dial-1", "endpoint": "PJSIP/1@trunk"})
    assert n2.calls[-1] == ("POST", "/channels") and c.channels["dial-1"] == "n2"
    # A channel no node is known to hold: asked of each until one has it.
    n1.has.add("ch-x")
    n2.calls.clear()
    await ari.hangup("ch-x")
    assert n1.calls[-1] == ("DELETE", "/channels/ch-x")
    with pytest.raises(AriNotFound):
        await ari.hangup("ch-nowhere")


async def test_a_recordings_file_is_fetched_from_the_node_that_recorded_it() -> None:
    c = cluster("n1", "n2")
    ari = NodeAri(c, "confsvc", related=lambda _rid: None)
    c.bridges["conf-2"] = "n2"
    # record_bridge's request: the recording lives where it was made.
    await ari._request("POST", "/bridges/conf-2/record", {"name": "rec-1", "format": "wav"})
    n2 = c.nodes["n2"].client
    assert isinstance(n2, FakeClient) and c.others["rec-1"] == "n2"
    await ari.stored_recording_file("rec-1")
    await ari.stop_live_recording("rec-1")
    assert n2.calls[-2:] == [
        ("GET", "/recordings/stored/rec-1/file"),
        ("POST", "/recordings/live/rec-1/stop"),
    ]
