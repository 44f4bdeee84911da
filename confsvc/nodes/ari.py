"""One AriClient face over the nodes' clients: the engine keeps calling `core.ari` as it
always did, and every request goes to the node that holds what it names (a channel, a
bridge, a playback, a recording). Lists are the union over the connected nodes; a new
conference bridge is placed by the cluster; a new channel (dial-out, a transcription leg)
goes where the resource it belongs to lives (`related`)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

import aiohttp
import structlog

from confsvc.ari import AriClient, AriError, AriNotFound, AriUnavailable, Event
from confsvc.ari.encoding import Params
from confsvc.nodes.cluster import Cluster, Node

log = structlog.get_logger(__name__)

# The list requests answered by the union over nodes.
LISTS = {("GET", "/channels"), ("GET", "/bridges"), ("GET", "/recordings/stored")}
# A new resource whose id is a parameter: which parameter.
NEW_ID_PARAM = {"/channels": "channelId", "/channels/externalMedia": "channelId"}
# Requests that create a resource named by a parameter on the node they went to.
CREATES = {"snoop": "snoopId", "play": "playbackId", "record": "name"}


class NodeAri(AriClient):
    """`related(id)`: the id of what a new resource belongs to (a dial-out channel: its
    conference; a transcription leg: the caller's channel), or None."""

    def __init__(self, cluster: Cluster, app: str, related: Callable[[str], str | None]) -> None:
        self.cluster = cluster
        self.app = app
        self.related = related
        self.base_url = "nodes:"
        # As AriClient's: a recording download only needs data to keep arriving.
        self._timeout = aiohttp.ClientTimeout(total=10.0)
        self._download_timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=10)

    async def start(self) -> None:
        for node in self.cluster.nodes.values():
            await node.client.start()

    async def close(self) -> None:
        for node in self.cluster.nodes.values():
            await node.client.close()

    def observe(self, node: Node, event: Event) -> None:
        """What an event of `node` tells about where things live (before the engine sees
        it: its handling may make requests about them)."""
        cluster = self.cluster
        channel = getattr(event, "channel", None)
        if channel is not None:
            if event.type == "ChannelDestroyed":
                cluster.channels.pop(channel.id, None)
            else:
                cluster.channels[channel.id] = node.id
        bridge = getattr(event, "bridge", None)
        if bridge is not None and event.type == "BridgeDestroyed":
            if cluster.bridges.get(bridge.id) == node.id:
                del cluster.bridges[bridge.id]
        elif bridge is not None:
            cluster.bridges.setdefault(bridge.id, node.id)
        for attr in ("playback", "recording"):
            res = getattr(event, attr, None)
            key = getattr(res, "id", None) or getattr(res, "name", None)
            if isinstance(key, str):
                cluster.others[key] = node.id

    async def adopt(self, node: Node) -> None:
        """After `node` (re)connected: what it holds now is where those things live. A
        bridge of a room placed elsewhere meanwhile (the node was away) is destroyed."""
        bridges = json.loads((await node.client._request("GET", "/bridges"))[1])
        channels = json.loads((await node.client._request("GET", "/channels"))[1])
        cluster = self.cluster
        for bridge in bridges:
            if bridge.get("creator") != self.app:
                continue  # not ours (a ConfBridge, another application's)
            elsewhere = cluster.bridges.get(bridge["id"], node.id) != node.id
            if elsewhere and cluster.owner(bridge["id"]) is not None:
                log.info("stale bridge on a returning node", node=node.id, bridge=bridge["id"])
                with contextlib.suppress(AriError):
                    await node.client._request("DELETE", f"/bridges/{bridge['id']}")
            else:
                cluster.bridges[bridge["id"]] = node.id
        for channel in channels:
            cluster.channels[channel["id"]] = node.id

    # --- routing -----------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: Any = None,
        *,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> tuple[int, bytes]:
        if (only := self.cluster.single) is not None:
            return await only.client._request(method, path, params, body, timeout=timeout)
        if (method, path) in LISTS:
            return await self._union(path)
        segments = [unquote(s) for s in path.split("/")[1:]]
        if segments[0] == "applications":
            return await self._applications(method, path, params, body)
        targets = self._targets(method, path, segments, params or {})
        if not targets:
            raise AriUnavailable(0, method, path, "no media node is available")
        for node in targets:
            try:
                result = await node.client._request(method, path, params, body, timeout=timeout)
            except AriNotFound:
                if node is targets[-1]:
                    raise
                continue
            self._learn(node, method, path, segments, params or {})
            return result
        raise AssertionError("unreachable")

    def _targets(self, method: str, path: str, segments: list[str], params: Params) -> list[Node]:
        """The node to ask; or, for a resource no node is known to hold, every live one."""
        cluster = self.cluster
        if method == "POST" and path in NEW_ID_PARAM:
            new_id = str(params.get(NEW_ID_PARAM[path]) or "")
            node = self._of_related(new_id) or cluster.pick()
            return [node] if node else []
        # /recordings/{live|stored}/<name>[/...]; else /<kind>/<id>[/...]
        resource = segments[2] if segments[0] == "recordings" else segments[1]
        if segments[0] == "bridges" and method == "POST" and len(segments) == 2:
            if (node := cluster.owner(resource)) is not None:
                return [node]  # exists already: that node says so (409)
            if cluster.is_room(resource):
                room = params.get("name")
                node = cluster.node_for_new_bridge(
                    resource, room if isinstance(room, str) else None
                )
            else:
                node = self._of_related(resource) or cluster.pick()
                if node is not None:
                    cluster.bridges[resource] = node.id
            return [node] if node else []
        node = cluster.owner(resource) or self._of_related(resource)
        return [node] if node else [n for n in cluster.live() if n.connected]

    def _of_related(self, resource_id: str) -> Node | None:
        other = self.related(resource_id)
        return self.cluster.owner(other) if other else None

    def _learn(
        self, node: Node, method: str, path: str, segments: list[str], params: Params
    ) -> None:
        """A request that made a resource: it lives where the request went."""
        cluster = self.cluster
        if method == "POST" and path in NEW_ID_PARAM:
            cluster.channels[str(params.get(NEW_ID_PARAM[path]))] = node.id
        elif method == "POST" and len(segments) == 3 and (key := CREATES.get(segments[2])):
            made = params.get(key)
            if isinstance(made, str):
                table = cluster.channels if key == "snoopId" else cluster.others
                table[made] = node.id
        elif method == "DELETE" and segments[0] == "bridges" and len(segments) == 2:
            cluster.bridges.pop(segments[1], None)

    async def _union(self, path: str) -> tuple[int, bytes]:
        """One list over the connected nodes (a node that is away adds nothing: the
        cluster gives its rooms up once it stays away)."""
        merged: list[Any] = []
        for node in self.cluster.live():
            if not node.connected:
                continue
            try:
                _, content = await node.client._request("GET", path)
            except AriUnavailable as exc:
                log.info("node unavailable for a list", node=node.id, error=str(exc))
                continue
            items = json.loads(content or b"[]")
            if path == "/bridges":  # a stale copy on a node that came back: not ours
                items = [b for b in items if self.cluster.bridges.get(b["id"], node.id) == node.id]
            merged.extend(items)
        return 200, json.dumps(merged).encode()

    async def _applications(
        self, method: str, path: str, params: Params | None, body: Any
    ) -> tuple[int, bytes]:
        """Event filter: on every connected node. A subscription `bridge:<id>`: where
        that bridge lives."""
        source = str((params or {}).get("eventSource") or "")
        kind, _, resource = source.partition(":")
        owner = self.cluster.owner(resource) if kind == "bridge" else None
        nodes = [owner] if owner else [n for n in self.cluster.live() if n.connected]
        result: tuple[int, bytes] = (204, b"")
        for node in nodes:
            result = await node.client._request(method, path, params, body)
        return result
