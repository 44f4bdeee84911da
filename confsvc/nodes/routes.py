"""The nodes' HTTP face. GET /internal/v1/placement: the SIP proxy asks, per INVITE, which
node a room's call goes to (loopback-only in practice: it checks a generated shared secret,
CONFSVC_PLACEMENT_SECRET; plain text answer, what Kamailio's http_client reads). GET
/v1/nodes and POST /v1/nodes/{id}/drain|undrain: the operator's view, behind the operator
token (CONFSVC_METRICS_TOKEN), never a tenant's."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from aiohttp import web

from confsvc.api.auth import token_from
from confsvc.api.errors import ApiError
from confsvc.api.openapi import Route
from confsvc.domain.room import is_valid_room
from confsvc.nodes.cluster import Cluster, Node

PLACEMENT_PATH = "/internal/v1/placement"


def _same(secret: str, presented: str | None) -> bool:
    return hmac.compare_digest(secret.encode(), (presented or "").encode("utf-8", "surrogatepass"))


class NodeRoutes:
    """`room_bridge(room)`: the bridge id (= conference id) of the one live conference
    with that room, or None. `reserve`: rooms are auto-created on first dial."""

    def __init__(
        self,
        cluster: Cluster,
        *,
        placement_secret: str,
        operator_token: str,
        room_bridge: Callable[[str], str | None],
        reserve: bool = True,
    ) -> None:
        self.cluster = cluster
        # False (no auto-create): a room without a conference is refused wherever the call
        # goes, so no node is reserved for it (a dialler of random names holds nothing).
        self.reserve = reserve
        self.placement_secret = placement_secret
        self.operator_token = operator_token
        self.room_bridge = room_bridge

    async def placement(self, request: web.Request) -> web.Response:
        if not self.placement_secret:
            raise ApiError(
                404, "placement_disabled", "set CONFSVC_PLACEMENT_SECRET to serve placement"
            )
        if not _same(self.placement_secret, request.query.get("key")):
            raise ApiError.unauthorized("placement needs the CONFSVC_PLACEMENT_SECRET key")
        room = request.query.get("room", "")
        if not is_valid_room(room):
            raise ApiError.bad_request("room: not a valid room name", field="room")
        bridge = self.room_bridge(room)
        if bridge is None and not self.reserve:
            node = self.cluster.pick()
        else:
            node = self.cluster.place_room(room, bridge)
        if node is None:
            raise ApiError(503, "no_media_node", "no media node is up and taking rooms")
        return web.Response(text=node.spec.sip_uri)

    def _operator(self, request: web.Request) -> None:
        if not self.operator_token:
            raise ApiError(404, "nodes_disabled", "set CONFSVC_METRICS_TOKEN to serve /v1/nodes")
        if not _same(self.operator_token, token_from(request)):
            raise ApiError.unauthorized(
                "/v1/nodes needs the operator (CONFSVC_METRICS_TOKEN) token"
            )

    def _node(self, request: web.Request) -> Node:
        node = self.cluster.nodes.get(request.match_info["node_id"])
        if node is None:
            raise ApiError(404, "not_found", "no media node with this id")
        return node

    async def list_nodes(self, request: web.Request) -> web.Response:
        self._operator(request)
        return web.json_response({"result": self.cluster.view()})

    async def drain(self, request: web.Request) -> web.Response:
        return self._set_draining(request, True)

    async def undrain(self, request: web.Request) -> web.Response:
        return self._set_draining(request, False)

    def _set_draining(self, request: web.Request, draining: bool) -> web.Response:
        self._operator(request)
        node = self._node(request)
        node.draining = draining
        # A room reserved there but not yet made goes to another node.
        for room in [r for r, (n, _) in self.cluster.reserved.items() if n == node.id]:
            del self.cluster.reserved[room]
        return web.json_response(next(v for v in self.cluster.view() if v["id"] == node.id))

    def routes(self) -> list[Route]:
        # public: not tenant routes; the handlers check their own key.
        tags = ("service",)
        return [
            Route(
                "GET", PLACEMENT_PATH, self.placement, "placement",
                "The media node (sip: URI, text) a call to ?room= goes to; for the SIP proxy",
                None, errors=(400, 401, 404, 503), media_types=("text/plain",),
                public=True, tags=tags,
            ),
            Route(
                "GET", "/v1/nodes", self.list_nodes, "nodes_list",
                "Media nodes: id, status (up/down/draining), rooms, callers; operator token",
                None, errors=(401, 404), public=True, tags=tags,
            ),
            Route(
                "POST", "/v1/nodes/{node_id}/drain", self.drain, "nodes_drain",
                "Place no new rooms on this node; its rooms finish there; operator token",
                None, errors=(401, 404), public=True, tags=tags,
            ),
            Route(
                "POST", "/v1/nodes/{node_id}/undrain", self.undrain, "nodes_undrain",
                "Take new rooms on this node again; operator token",
                None, errors=(401, 404), public=True, tags=tags,
            ),
        ]  # fmt: skip
