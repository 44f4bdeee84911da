"""The nodes' event streams and their life: one EventStream per node feeding the one
engine; after a node (re)connects, what it holds is adopted and the engine reconciles (once
every node has connected or been given up, so a start-up reconcile never mistakes a node
still connecting for an empty one). A node whose stream stays away longer than the grace
is `down`: nothing lives there any more, and the engine reconciles, which ends its calls
(leaved) and makes its rooms' bridges anew on live nodes. A node that comes back is used
again."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import structlog

from confsvc.ari import AriClient, Event, EventStream
from confsvc.nodes.ari import NodeAri
from confsvc.nodes.cluster import Cluster, Node, NodeSpec

log = structlog.get_logger(__name__)

Handler = Callable[[Event], Awaitable[None]]
Hook = Callable[[], Awaitable[None]]
POLL_S = 0.25


class Nodes:
    def __init__(
        self,
        specs: list[NodeSpec],
        *,
        user: str,
        password: str,
        app: str,
        down_after: float,
        is_room: Callable[[str], bool],
        related: Callable[[str], str | None],
        client: Callable[[NodeSpec], AriClient],
    ) -> None:
        nodes = {s.id: Node(s, client(s)) for s in specs}
        self.cluster = Cluster(nodes, is_room=is_room)
        self.ari = NodeAri(self.cluster, app, related)
        self._auth = (user, password, app)
        self.down_after = down_after
        self.streams: dict[str, EventStream] = {}
        self._settled = asyncio.Event()
        self._monitor: asyncio.Task[None] | None = None
        self._started = time.monotonic()

    @property
    def any_connected(self) -> bool:
        return any(s.connected for s in self.streams.values())

    async def start(self, handler: Handler, on_connect: Hook, on_lost: Hook) -> None:
        """Streams for every node; `on_lost` after a node is given up."""
        user, password, app = self._auth
        self._started = time.monotonic()
        for node in self.cluster.nodes.values():
            self.streams[node.id] = EventStream(
                node.spec.ari_ws_url,
                user,
                password,
                app,
                self._handler(node, handler),
                on_connect=self._connected(node, on_connect),
            )
        for stream in self.streams.values():
            await stream.start()
        self._monitor = asyncio.create_task(self._watch(on_lost), name="nodes-watch")

    async def stop(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
        for stream in self.streams.values():
            await stream.stop()

    def _handler(self, node: Node, handler: Handler) -> Handler:
        async def handle(event: Event) -> None:
            self.ari.observe(node, event)
            await handler(event)

        return handle

    def _connected(self, node: Node, on_connect: Hook) -> Hook:
        async def hook() -> None:
            if self.cluster.single is None:
                await self.ari.adopt(node)
            if node.down:
                log.warning("media node back", node=node.id)
            node.connected, node.lost_since, node.down = True, None, False
            self._settle()
            await self._settled.wait()
            await on_connect()
            node.serving = True

        return hook

    def _settle(self) -> None:
        if all(n.connected or n.down for n in self.cluster.nodes.values()):
            self._settled.set()

    async def _watch(self, on_lost: Hook) -> None:
        while True:
            await asyncio.sleep(POLL_S)
            now = time.monotonic()
            lost: list[Node] = []
            for node in self.cluster.nodes.values():
                if node.connected and not self.streams[node.id].connected:
                    node.connected, node.serving, node.lost_since = False, False, now
                    log.warning("media node lost its ARI connection", node=node.id)
                since = node.lost_since if node.lost_since is not None else self._started
                if not node.connected and not node.down and now - since > self.down_after:
                    node.down = True
                    self.cluster.forget_node(node.id)
                    log.warning("media node down: its rooms are placed anew", node=node.id)
                    lost.append(node)
            if lost:
                self._settle()
                if self.cluster.single is None and any(
                    n.connected for n in self.cluster.nodes.values()
                ):
                    try:
                        await on_lost()
                    except Exception:  # the next reconnect reconciles again
                        log.warning("reconcile after a node loss failed", exc_info=False)
