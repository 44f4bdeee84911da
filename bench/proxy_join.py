"""Join latency through Kamailio vs straight to Asterisk (issue 15; figures, not
assertions): `python -m bench.proxy_join [--rounds N]`.

One test Asterisk + a second node + Kamailio + the controller, as the multi-node tests
start them (tests/support/cluster.py, on CONFSVC_TEST_PORT_BASE). Each round one baresip
phone dials a room straight to node 1, then one dials the same room through Kamailio;
timed from the dial command to the phone's CALL_ESTABLISHED (INVITE, digest challenge,
re-INVITE, placement, Stasis, answer) and to the API showing the caller joined. Sequential
calls: this is the path's latency, not a load test. Writes bench/results/<date>-nodes.md."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tests.support.cluster import Cluster, Kamailio, Node, base, node_env
from tests.support.controller import Controller, running_controller
from tests.support.phone import Phone
from tests.support.room import create_room
from tests.support.runtime import Runtime, started, test_env

RESULTS = Path(__file__).resolve().parent / "results"


async def one_call(phone: Phone, uri: str, ctl: Controller, conf_id: str) -> tuple[float, float]:
    await phone.start()
    try:
        t0 = time.monotonic()
        await phone.dial(uri)
        await phone.wait_event("CALL_ESTABLISHED", timeout=15)
        established = time.monotonic() - t0
        calls = f"/v1/conferencecalls?conference_id={conf_id}"
        await ctl.wait_for(calls, lambda b: any(c["status"] == "joined" for c in b["result"]))
        joined = time.monotonic() - t0
        await phone.hangup()
        await phone.wait_event("CALL_CLOSED", timeout=5)
        await ctl.wait_for(calls, lambda b: all(c["status"] == "leaved" for c in b["result"]))
        return established, joined
    finally:
        await phone.stop()


async def measure(cluster: Cluster, rounds: int) -> dict[str, list[tuple[float, float]]]:
    out: dict[str, list[tuple[float, float]]] = {"direct": [], "kamailio": []}
    with tempfile.TemporaryDirectory() as tmp:
        async with running_controller(cluster.node1, Path(tmp), **cluster.settings) as ctl:
            await asyncio.sleep(1)  # every node connected and reconciled
            conf = await create_room(ctl, "benchroom")
            direct = f"sip:benchroom@127.0.0.1:{cluster.node1.s('SIP_PORT')}"
            via = cluster.room_uri("benchroom")
            node = (await ctl.request("GET", f"/v1/conferences/{conf['id']}"))["media_node"]
            if node != "n1":  # straight dialling must reach the room's node
                raise SystemExit(f"the bench room landed on {node}, not n1")
            for _ in range(rounds):
                for path, uri in (("direct", direct), ("kamailio", via)):
                    phone = Phone(cluster.node1, "alice", 440.0, tag="-bench")
                    out[path].append(await one_call(phone, uri, ctl, conf["id"]))
    return out


def report(results: dict[str, list[tuple[float, float]]]) -> str:
    at = datetime.now(UTC).isoformat(timespec="seconds")
    lines = [
        f"# Join latency through Kamailio vs direct ({at})",
        "",
        "Sequential calls, one phone at a time; joined is polled every 0.1 s.",
        "",
        "| path | calls | established median ms | p90 ms | joined (API) median ms | p90 ms |",
        "|---|---|---|---|---|---|",
    ]
    for path, rows in results.items():
        est = sorted(r[0] * 1000 for r in rows)
        joined = sorted(r[1] * 1000 for r in rows)

        def p90(xs: list[float]) -> float:
            return xs[min(len(xs) - 1, int(0.9 * len(xs)))]

        lines.append(
            f"| {path} | {len(rows)} | {statistics.median(est):.0f} | {p90(est):.0f} "
            f"| {statistics.median(joined):.0f} | {p90(joined):.0f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    node1 = Runtime(env=test_env())
    with started(node1, "node 1") as n1:
        node2 = Node(env=node_env(n1, 2))
        kam = Kamailio(base() + 250, f"http://127.0.0.1:{n1.s('HTTP_PORT')}")
        with started(node2, "node 2"), started(kam, "Kamailio"):
            results = asyncio.run(measure(Cluster(n1, node2, kam), args.rounds))
    text = report(results)
    RESULTS.mkdir(exist_ok=True)
    dest = RESULTS / f"{datetime.now(UTC).strftime('%Y-%m-%dT%H%M')}-nodes.md"
    dest.write_text(text)
    print(text)
    print(f"written to {dest}")


if __name__ == "__main__":
    main()
