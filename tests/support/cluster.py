"""Several media nodes behind Kamailio for tests (README "Running several media nodes"):
the session's Asterisk is node 1, a second Asterisk from the same runtime (its own
instance, ports and RTP range, the same ARI and phone passwords) is node 2, and Kamailio
(scripts/kamailio, the script `make run-cluster` uses) is the one SIP entry.

Ports from the test port base: Kamailio SIP base+250; node 2 SIP base+262, ARI base+268,
RTP base+400..599. Everything is started and stopped by pid; one that cannot start FAILS."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.runtime import Runtime

PROJECT = Path(__file__).resolve().parents[2]
KAMAILIO = PROJECT / "scripts" / "kamailio"
OPERATOR_TOKEN = "operator-" + secrets.token_hex(8)


def base() -> int:
    return int(os.environ.get("CONFSVC_TEST_PORT_BASE", "25000"))


def node_env(main: Runtime, n: int) -> dict[str, str]:
    """Node n (2, 3) beside the session's Asterisk: the same passwords, its own ports."""
    b = base()
    env = dict(main.env)
    env.update(
        CONFSVC_INSTANCE=f"node{n}-{b}",
        CONFSVC_SIP_PORT=str(b + 242 + 10 * n),
        CONFSVC_ARI_PORT=str(b + 248 + 10 * n),
        CONFSVC_RTP_START=str(b + 200 * n),
        CONFSVC_RTP_END=str(b + 200 * n + 199),
    )
    return env


class Node(Runtime):
    def kill9(self) -> None:
        """The node dies at once (no BYEs, its ARI WebSocket just drops)."""
        pid = int((self.instance_dir / "asterisk.pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)


@dataclass
class Kamailio:
    port: int
    placement_url: str
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONFSVC_KAMAILIO")}
        return {
            **env,
            "CONFSVC_KAMAILIO_PORT": str(self.port),
            "CONFSVC_PLACEMENT_URL": self.placement_url,
            "CONFSVC_PLACEMENT_SECRET": self.secret,
        }

    def _run(self, command: str) -> str:
        proc = subprocess.run(
            [str(KAMAILIO), command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,  # a first run may install the package
            stdin=subprocess.DEVNULL,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"scripts/kamailio {command} failed:\n{proc.stdout}{proc.stderr}")
        return proc.stdout.strip()

    def start(self) -> None:
        self._run("start")

    def stop(self) -> None:
        self._run("stop")


@dataclass
class Cluster:
    """node 1 (the session's Asterisk), node 2, Kamailio; `settings` for the controller."""

    node1: Runtime
    node2: Node
    kamailio: Kamailio

    def room_uri(self, room: str) -> str:
        return f"sip:{room}@127.0.0.1:{self.kamailio.port}"

    @property
    def settings(self) -> dict[str, str]:
        n1, n2 = self.node1, self.node2
        return {
            "CONFSVC_NODES": (
                f"n1=127.0.0.1:{n1.s('ARI_PORT')}:{n1.s('SIP_PORT')},"
                f"n2=127.0.0.1:{n2.s('ARI_PORT')}:{n2.s('SIP_PORT')}"
            ),
            "CONFSVC_PLACEMENT_SECRET": self.kamailio.secret,
            "CONFSVC_METRICS_TOKEN": OPERATOR_TOKEN,
            "CONFSVC_AUTO_CREATE_ROOMS": "true",
            "CONFSVC_NODE_DOWN_AFTER": "2",
        }
