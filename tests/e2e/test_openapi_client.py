"""A Python client generated from the served OpenAPI document by a mainstream generator
(openapi-python-client, pinned), unedited, drives the running service: create a room,
list rooms, a real phone dials in, list its calls, kick it; an unknown id is the
documented Error model."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.controller import Controller
from tests.support.room import phones, wait_joined
from tests.support.runtime import Runtime

BIN = Path(sys.executable).parent
PACKAGE = "confsvc_generated_client"


@pytest.fixture
def importable(tmp_path: Path) -> Iterator[Path]:
    """tmp_path on sys.path for the generated package, taken off afterwards."""
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[name]


async def generate(controller: Controller, where: Path) -> None:
    doc = await controller.request("GET", "/v1/openapi.json")
    (where / "openapi.json").write_text(json.dumps(doc))
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "openapi-python-client"),
        "generate",
        "--path",
        str(where / "openapi.json"),
        "--meta",
        "none",
        "--output-path",
        str(where / PACKAGE),
        env={**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, out.decode()


def module(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


async def test_a_generated_client_creates_lists_and_kicks(
    runtime: Runtime, controller: Controller, importable: Path
) -> None:
    await generate(controller, importable)
    models = module("models")
    client = module("client").AuthenticatedClient(base_url=controller.base, token="tenant-a-token")
    create = module("api.conferences.create_conference")
    listing = module("api.conferences.list_conferences")
    get = module("api.conferences.get_conference")
    calls = module("api.conferencecalls.list_conferencecalls")
    kick = module("api.conferencecalls.kick_conferencecall")

    body = models.ConferenceCreate.from_dict({"type": "conference", "room": "genroom"})
    conf = await create.asyncio(client=client, body=body)
    assert isinstance(conf, models.Conference) and conf.room == "genroom"
    listed = await listing.asyncio(client=client)
    assert [c.id for c in listed.result] == [conf.id]
    missing = await get.asyncio("no-such-id", client=client)
    assert isinstance(missing, models.Error) and missing.error == "conference_not_found"

    async with phones(runtime, [440.0], "genclient") as (phone,):
        await phone.dial("genroom")
        await phone.wait_event("CALL_ESTABLISHED")
        await wait_joined(controller, conf.id, 1)
        page = await calls.asyncio(client=client, conference_id=conf.id)
        (member,) = page.result
        kicked = await kick.asyncio(member.id, client=client)
        assert isinstance(kicked, models.Conferencecall) and kicked.id == member.id
        await phone.wait_event("CALL_CLOSED", timeout=5)
    await controller.wait_for(f"/v1/conferencecalls/{member.id}", lambda c: c["status"] == "leaved")
