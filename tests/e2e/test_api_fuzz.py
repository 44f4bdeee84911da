"""Schemathesis over the whole OpenAPI document, against the real stack (issue 11).

A controller (own SQLite) on the session's Asterisk, with two softphones kept in a tenant-A
room, so the participant and Plivo member routes reach the engine and ARI, not only 404s.
The `st` CLI runs as a subprocess with tests/support/fuzz/schemathesis.toml (bounds, seed,
the one relaxed check and why) and tests/support/fuzz/hooks.py (URLs kept on loopback, the
tenant-B replay check). Cases go as tenant A; tenant B's token is replayed on A's objects.
The run must report no failure: no 5xx, every response as documented, B never reaches A's
objects. The controller's output passes the traceback gate like every e2e test's.
No schemathesis: the test fails, it never skips.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from tests.support.controller import TOKENS, Controller, running_controller
from tests.support.events import Receiver
from tests.support.phone import Phone
from tests.support.room import phones
from tests.support.runtime import Runtime

FUZZ = Path(__file__).resolve().parents[1] / "support" / "fuzz"
RUN_LIMIT = 110.0  # s: the config's max-time (75) plus loading and the last requests
TENANT_A, TENANT_B = "tenant-a", "tenant-b"
ROOM = {"type": "conference", "name": "fuzz", "room": "fuzzroom"}
TONES = [440.0, 660.0]
KEEP_EVERY = 2.0  # s between checks that the callers are still in the room
SETTINGS = {"CONFSVC_DIALOUT_ALLOW": f"{TENANT_A}:+1"}  # dial-out reaches the engine too
SHOWN = 12_000  # characters of schemathesis's report in the failure message


def wfc_auth() -> dict[str, Any]:
    """The two tenants as a Web Fuzzing Commons auth document (schemathesis --auth-wfc)."""
    return {
        "auth": [
            {"name": tenant, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {t}"}]}
            for t, tenant in TOKENS.items()
        ]
    }


def token_of(tenant: str) -> str:
    return next(t for t, c in TOKENS.items() if c == tenant)


def in_call(phone: Phone) -> bool:
    ends = [e["type"] for e in phone.events if e.get("type") in ("CALL_ESTABLISHED", "CALL_CLOSED")]
    return bool(ends) and ends[-1] == "CALL_ESTABLISHED"


async def keep_callers(ctl: Controller, ps: list[Phone]) -> None:
    """Keep the phones in the room: the fuzz kicks them and ends the room, so redial (and
    create the room again) whenever one is out."""
    while True:
        for p in ps:
            if in_call(p):
                continue
            await ctl.request("POST", "/v1/conferences", json=ROOM)  # 201, or 4xx while live
            seen = len(p.events)
            await p.dial(ROOM["room"])
            for _ in range(50):  # until this dial is answered or refused
                new = [e.get("type") for e in p.events[seen:]]
                if "CALL_ESTABLISHED" in new or "CALL_CLOSED" in new:
                    break
                await asyncio.sleep(0.1)
        await asyncio.sleep(KEEP_EVERY)


async def run_schemathesis(
    ctl: Controller, sink: Receiver, workdir: Path
) -> tuple[int, str, dict[str, Any]]:
    """(exit code, the text report, the JSON summary)."""
    st = Path(sys.executable).with_name("st")
    assert st.exists(), f"schemathesis is not installed ({st}): .venv/bin/pip install -e '.[dev]'"
    workdir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 (tiny local files)
    auth = workdir / "auth.json"
    auth.write_text(json.dumps(wfc_auth()))
    env = {
        **os.environ,
        "FUZZ_HOOKS": str(FUZZ / "hooks.py"),
        "FUZZ_AUTH": str(auth),
        "FUZZ_SINK_URL": f"{sink.url}/fuzz",
        "FUZZ_TENANT_A": TENANT_A,
        "FUZZ_TENANT_B": TENANT_B,
        "FUZZ_TOKEN_B": token_of(TENANT_B),
    }
    report, summary = workdir / "schemathesis.txt", workdir / "summary.json"
    with report.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            str(st),
            "--config-file",
            str(FUZZ / "schemathesis.toml"),
            "run",
            f"{ctl.base}/v1/openapi.json",
            "--report",
            "json",
            "--report-json-path",
            str(summary),
            cwd=workdir,  # its cache and reports stay in the test's directory
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=out,
            stderr=out,
        )
    try:
        rc = await asyncio.wait_for(proc.wait(), RUN_LIMIT)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(
            f"schemathesis ran past {RUN_LIMIT} s ({report}):\n{report.read_text()[-SHOWN:]}"
        ) from None
    return rc, report.read_text(), json.loads(summary.read_text()) if summary.exists() else {}


def findings(output: str) -> str:
    """The ERRORS/FAILURES part of the report (with reproductions), else its tail."""
    starts = [i for i in (output.find("=== ERRORS ==="), output.find("=== FAILURES ===")) if i >= 0]
    return output[min(starts) :][:SHOWN] if starts else output[-SHOWN:]


async def test_schemathesis_finds_no_server_error_schema_violation_or_tenant_leak(
    runtime: Runtime, tmp_path: Path
) -> None:
    sink = Receiver()  # every URL the fuzz hands the service points here (hooks.py)
    await sink.start()
    try:
        async with (
            running_controller(runtime, tmp_path / "controller", **SETTINGS) as ctl,
            phones(runtime, TONES, "fuzz") as ps,
        ):
            doc = await ctl.request("GET", "/v1/openapi.json")
            operations = sum(len(methods) for methods in doc["paths"].values())
            keeper = asyncio.create_task(keep_callers(ctl, ps))
            try:
                rc, output, summary = await run_schemathesis(ctl, sink, tmp_path / "schemathesis")
            finally:
                keeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await keeper  # an error in it fails the test
    finally:
        await sink.stop()
    assert rc == 0, f"schemathesis found problems (exit {rc}):\n{findings(output)}"
    # The whole document was tested (schemathesis leaves out the URL it loaded it from).
    counted = summary["operations"]
    assert counted["tested"] == counted["selected"] == counted["total"], counted
    assert counted["total"] >= operations - 1, (counted, operations)
