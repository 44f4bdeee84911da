"""The media nodes and what lives on each: conference bridges (one room = one node),
channels, playbacks and recordings. Placement picks the least-loaded live node that is not
draining; a room name asked for by the SIP proxy before its conference exists is reserved
on one node, so racing first callers all get the same answer (one event loop: the check
and the reservation happen with no await between them).

Asterisk is the truth for what lives where: after a (re)connect a node's bridges and
channels are read back (`adopt`), so nothing here needs storing."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import structlog

from confsvc.ari import AriClient

log = structlog.get_logger(__name__)

# A room reserved for its first caller but not yet made into a conference is freed after
# this long (the caller hung up on the challenge, or the room was refused).
RESERVATION_S = 30.0


class NodeStatus(StrEnum):
    UP = "up"
    DOWN = "down"
    DRAINING = "draining"


@dataclass(frozen=True)
class NodeSpec:
    """One media node: its ARI (REST + events) and the SIP address the proxy sends to."""

    id: str
    host: str
    ari_port: int
    sip_port: int

    @property
    def ari_url(self) -> str:
        return f"http://{self.host}:{self.ari_port}/ari"

    @property
    def ari_ws_url(self) -> str:
        return f"ws://{self.host}:{self.ari_port}/ari/events"

    @property
    def sip_uri(self) -> str:
        return f"sip:{self.host}:{self.sip_port}"


def parse_nodes(text: str, default: NodeSpec) -> list[NodeSpec]:
    """CONFSVC_NODES: "id=host:ari_port:sip_port,..."; empty: the one default node."""
    specs: list[NodeSpec] = []
    for n, entry in enumerate(filter(None, (e.strip() for e in text.split(","))), 1):
        node_id, _, addr = entry.partition("=")
        parts = addr.split(":")
        if (
            not node_id
            or len(parts) != 3
            or not all(parts)
            or not all(p.isdigit() for p in parts[1:])
        ):
            raise ValueError(f"CONFSVC_NODES entry {n} {entry!r} is not id=host:ari_port:sip_port")
        if any(s.id == node_id for s in specs):
            raise ValueError(f"CONFSVC_NODES entry {n} repeats the node id {node_id!r}")
        specs.append(NodeSpec(node_id, parts[0], int(parts[1]), int(parts[2])))
    return specs or [default]


@dataclass
class Node:
    spec: NodeSpec
    client: AriClient
    connected: bool = False  # its event WebSocket is open (and reconciled)
    lost_since: float | None = None  # monotonic time the WebSocket went away
    down: bool = False  # lost for longer than the grace: its rooms were given up
    serving: bool = False  # connected and reconciled: what GET /v1/nodes calls up
    draining: bool = False

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def status(self) -> NodeStatus:
        if self.down or not self.serving:
            return NodeStatus.DOWN
        return NodeStatus.DRAINING if self.draining else NodeStatus.UP


@dataclass
class Cluster:
    nodes: dict[str, Node]
    # Is this bridge id a conference (a room), not e.g. a transcription leg's bridge?
    is_room: Callable[[str], bool] = lambda _bridge_id: True
    bridges: dict[str, str] = field(default_factory=dict)  # bridge id -> node id
    channels: dict[str, str] = field(default_factory=dict)  # channel id -> node id
    others: dict[str, str] = field(default_factory=dict)  # playback / recording -> node
    reserved: dict[str, tuple[str, float]] = field(default_factory=dict)  # room -> node, until

    @property
    def single(self) -> Node | None:
        """The only node when there is one: every request goes there, as before."""
        return next(iter(self.nodes.values())) if len(self.nodes) == 1 else None

    def live(self) -> list[Node]:
        return [n for n in self.nodes.values() if not n.down]

    def rooms_on(self, node_id: str) -> list[str]:
        return [b for b, n in self.bridges.items() if n == node_id and self.is_room(b)]

    def callers_on(self, node_id: str) -> int:
        return sum(1 for n in self.channels.values() if n == node_id)

    # --- placement ---------------------------------------------------------------------

    def pick(self) -> Node | None:
        """The least-loaded node that is up and not draining (callers, then rooms)."""
        self._expire()
        held = [n for n, _ in self.reserved.values()]
        candidates = [n for n in self.live() if n.connected and not n.draining]
        if not candidates:
            return None

        def load(node: Node) -> tuple[int, int, str]:
            rooms = len(self.rooms_on(node.id)) + held.count(node.id)
            return (self.callers_on(node.id), rooms, node.id)

        return min(candidates, key=load)

    def place_room(self, room: str, bridge_id: str | None) -> Node | None:
        """The node a call to `room` goes to: its conference's, a reservation, or a new
        reservation on the least-loaded node. None: no node can take it."""
        if bridge_id is not None and (node := self._node(self.bridges.get(bridge_id))):
            return node
        self._expire()
        if (held := self.reserved.get(room)) and (node := self._node(held[0])):
            return node
        node = self.pick()
        if node is not None:
            self.reserved[room] = (node.id, time.monotonic() + RESERVATION_S)
            log.info("room placed", room=room, node=node.id)
        return node

    def node_for_new_bridge(self, bridge_id: str, room: str | None) -> Node | None:
        """Where a conference bridge is made: the room's reservation, else the least
        loaded node; remembered at once (events about it may beat the reply)."""
        held = self.reserved.pop(room, None) if room else None
        node = self._node(held[0] if held else None) or self.pick()
        if node is not None:
            self.bridges[bridge_id] = node.id
        return node

    def node_of_bridge(self, bridge_id: str) -> str | None:
        """The node id a bridge (a conference's: its id) is on, or None."""
        node = self._node(self.bridges.get(bridge_id))
        return node.id if node is not None else None

    def _node(self, node_id: str | None) -> Node | None:
        node = self.nodes.get(node_id) if node_id else None
        return node if node is not None and not node.down else None

    def _expire(self) -> None:
        now = time.monotonic()
        for room in [r for r, (_, until) in self.reserved.items() if until < now]:
            del self.reserved[room]

    # --- what lives where --------------------------------------------------------------

    def owner(self, resource_id: str) -> Node | None:
        node_id = (
            self.channels.get(resource_id)
            or self.bridges.get(resource_id)
            or self.others.get(resource_id)
        )
        return self._node(node_id)

    def forget_node(self, node_id: str) -> None:
        """The node is gone: nothing lives there any more (its rooms get placed anew)."""
        for table in (self.bridges, self.channels, self.others):
            for key in [k for k, n in table.items() if n == node_id]:
                del table[key]
        for room in [r for r, (n, _) in self.reserved.items() if n == node_id]:
            del self.reserved[room]

    def view(self) -> list[dict[str, object]]:
        """GET /v1/nodes."""
        return [
            {
                "id": n.id,
                "status": n.status.value,
                "sip_uri": n.spec.sip_uri,
                "rooms": len(self.rooms_on(n.id)),
                "callers": self.callers_on(n.id),
            }
            for n in self.nodes.values()
        ]
