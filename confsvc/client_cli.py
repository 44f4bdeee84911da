"""The operator commands of `confsvc` that talk to a running controller's HTTP API:
conferences, calls, record, recordings, webhooks, events. A readable table by default,
--json for scripts; lists follow every page. Exit status 1 when the API refuses."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from confsvc import client_output as out
from confsvc.client_http import ApiClient, ApiFailed
from confsvc.config import Settings

DEV_TOKEN = Path(".runtime/dev-token")
OPERATOR_TOKEN = Path(".runtime/metrics-token")  # make run's; /v1/nodes wants it
Action = Callable[[ApiClient, argparse.Namespace], Awaitable[Any]]
# resource -> the columns its lists are shown with
LISTS: dict[str, out.Columns] = {
    "conferences": out.CONFERENCE,
    "calls": out.CALL,
    "recordings": out.RECORDING,
    "webhooks": out.WEBHOOK,
    "events": out.EVENT,
    "nodes": out.NODE,
}


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--url", help="controller base URL (default http://127.0.0.1:<port>)")
    p.add_argument("--token", help="API token (default $CONFSVC_TOKEN or make run's)")
    p.add_argument("--json", action="store_true", help="print the API's JSON")
    return p


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    common = _common()

    def group(name: str, help: str) -> argparse._SubParsersAction[argparse.ArgumentParser]:
        return sub.add_parser(name, help=help).add_subparsers(dest="action", required=True)

    def cmd(parent: Any, name: str, action: Action, help: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = parent.add_parser(name, help=help, parents=[common])
        p.set_defaults(run=action)
        return p

    conf = group("conferences", "rooms: list, get, create, delete")
    ls = cmd(conf, "list", _conf_list, "list conferences (every page)")
    ls.add_argument("--status", help="starting|progressing|terminating|terminated")
    ls.add_argument("--limit", type=int, help="at most this many")
    ls.add_argument("--page-size", type=int, help="items per request (1-100)")
    cmd(conf, "get", _conf_get, "one conference").add_argument("id")
    mk = cmd(conf, "create", _conf_create, "create a conference")
    mk.add_argument("--room")
    mk.add_argument("--name", default="")
    mk.add_argument("--type", default="conference", choices=["conference", "connect"])
    mk.add_argument("--record", action="store_true", help="record from the first join")
    cmd(conf, "delete", _conf_delete, "end a conference (callers are kicked)").add_argument("id")

    calls = group("calls", "participants: list, kick, mute, unmute, deaf, undeaf")
    ls = cmd(calls, "list", _calls_list, "list conferencecalls (every page)")
    ls.add_argument("--conference", help="only this conference's")
    ls.add_argument("--status", help="joining|joined|leaving|leaved")
    ls.add_argument("--limit", type=int, help="at most this many")
    for name, method, suffix, help in (
        ("kick", "DELETE", "", "kick (hang up) a participant"),
        ("mute", "POST", "/mute", "mute: the others stop hearing it"),
        ("unmute", "DELETE", "/mute", "unmute"),
        ("deaf", "POST", "/deaf", "deafen: it hears nothing"),
        ("undeaf", "DELETE", "/deaf", "undeafen"),
    ):
        cmd(calls, name, _call_control(method, suffix), help).add_argument("id")
    # `confsvc kick <id>`: kept from the first CLI.
    cmd(sub, "kick", _call_control("DELETE", ""), "kick a participant").add_argument("id")

    rec = group("record", "recording of a conference: start, stop")
    start = cmd(rec, "start", _record("recording_start"), "start recording a conference")
    start.add_argument("conference_id")
    start.add_argument("--format", choices=["wav", "mp3"])
    start.add_argument("--max-duration", type=int, help="seconds (0: no limit)")
    cmd(rec, "stop", _record("recording_stop"), "stop it").add_argument("conference_id")

    recs = group("recordings", "finished recordings: list, download")
    ls = cmd(recs, "list", _recs_list, "list recordings (every page)")
    ls.add_argument("--conference", help="only this conference's")
    ls.add_argument("--limit", type=int, help="at most this many")
    dl = cmd(recs, "download", _rec_download, "download a recording's file")
    dl.add_argument("id")
    dl.add_argument("-o", "--output", help="file to write (default <id>.<format>)")

    hooks = group("webhooks", "event subscriptions: list, add, remove")
    cmd(hooks, "list", _hooks_list, "list webhooks")
    add = cmd(hooks, "add", _hook_add, "subscribe a URL")
    add.add_argument("hook_url", metavar="URL", help="where events are POSTed")
    add.add_argument("--event-type", action="append", default=[], help="repeatable; none: all")
    cmd(hooks, "remove", _hook_remove, "delete a webhook").add_argument("id")

    nodes = group("nodes", "media nodes (operator token): list, drain, undrain")
    cmd(nodes, "list", _nodes_list, "media nodes: status, rooms, callers")
    for name, help in (
        ("drain", "place no new rooms on a node; its rooms finish there"),
        ("undrain", "take new rooms on a node again"),
    ):
        cmd(nodes, name, _node_action(name), help).add_argument("id")

    ev = sub.add_parser("events", help="stored events, or --follow them live", parents=[common])
    ev.add_argument("--conference", help="only this conference's")
    ev.add_argument("--since", help="after this seq or event id")
    ev.add_argument("-f", "--follow", action="store_true", help="keep printing new events")
    ev.set_defaults(run=_events, action="list")


# --- actions: each returns what is printed (a list of items, one item, or None) -------


def _query(**params: Any) -> dict[str, str]:
    return {k: str(v) for k, v in params.items() if v is not None}


async def _conf_list(api: ApiClient, a: argparse.Namespace) -> Any:
    params = _query(status=a.status, page_size=a.page_size)
    return await api.pages("/v1/conferences", params, a.limit)


async def _conf_get(api: ApiClient, a: argparse.Namespace) -> Any:
    return await api.call("GET", f"/v1/conferences/{a.id}")


async def _conf_create(api: ApiClient, a: argparse.Namespace) -> Any:
    body: dict[str, Any] = {"type": a.type, "name": a.name}
    if a.room:
        body["room"] = a.room
    if a.record:
        body["record"] = True
    return await api.call("POST", "/v1/conferences", body)


async def _conf_delete(api: ApiClient, a: argparse.Namespace) -> Any:
    return await api.call("DELETE", f"/v1/conferences/{a.id}")


async def _calls_list(api: ApiClient, a: argparse.Namespace) -> Any:
    params = _query(conference_id=a.conference, status=a.status)
    return await api.pages("/v1/conferencecalls", params, a.limit)


def _call_control(method: str, suffix: str) -> Action:
    async def control(api: ApiClient, a: argparse.Namespace) -> Any:
        return await api.call(method, f"/v1/conferencecalls/{a.id}{suffix}")

    return control


def _record(what: str) -> Action:
    async def record(api: ApiClient, a: argparse.Namespace) -> Any:
        body: dict[str, Any] = {}
        if getattr(a, "format", None):
            body["format"] = a.format
        if getattr(a, "max_duration", None) is not None:
            body["max_duration"] = a.max_duration
        return await api.call("POST", f"/v1/conferences/{a.conference_id}/{what}", body)

    return record


async def _recs_list(api: ApiClient, a: argparse.Namespace) -> Any:
    return await api.pages("/v1/recordings", _query(conference_id=a.conference), a.limit)


async def _rec_download(api: ApiClient, a: argparse.Namespace) -> Any:
    rec = await api.call("GET", f"/v1/recordings/{a.id}")
    dest = Path(a.output or f"{rec['id']}.{rec['format']}")
    size = await api.download(f"/v1/recordings/{a.id}/file", dest)
    return {"id": rec["id"], "file": str(dest), "size_bytes": size}


async def _hooks_list(api: ApiClient, a: argparse.Namespace) -> Any:
    return await api.pages("/v1/webhooks", {})


async def _hook_add(api: ApiClient, a: argparse.Namespace) -> Any:
    return await api.call("POST", "/v1/webhooks", {"url": a.hook_url, "event_types": a.event_type})


async def _hook_remove(api: ApiClient, a: argparse.Namespace) -> Any:
    return await api.call("DELETE", f"/v1/webhooks/{a.id}")


async def _nodes_list(api: ApiClient, a: argparse.Namespace) -> Any:
    return (await api.call("GET", "/v1/nodes"))["result"]


def _node_action(action: str) -> Action:
    async def act(api: ApiClient, a: argparse.Namespace) -> Any:
        return await api.call("POST", f"/v1/nodes/{a.id}/{action}")

    return act


async def _events(api: ApiClient, a: argparse.Namespace) -> Any:
    if not a.follow:
        return await api.events(_query(conference_id=a.conference, since=a.since))
    topic = f"conference:{a.conference or '*'}"

    def refused(msg: dict[str, Any]) -> None:
        print(f"confsvc: {msg.get('error')}: {msg.get('message')}", file=sys.stderr)

    async for event in api.follow(topic, a.since, refused):
        print(out.as_json(event) if a.json else out.table([event], out.EVENT).splitlines()[1])
        sys.stdout.flush()
    return None


# --- running ---------------------------------------------------------------------------


def _token(args: argparse.Namespace) -> str:
    operator = args.command == "nodes"
    env, saved = (
        ("CONFSVC_METRICS_TOKEN", OPERATOR_TOKEN) if operator else ("CONFSVC_TOKEN", DEV_TOKEN)
    )
    token = args.token or os.environ.get(env)
    if not token and saved.exists():
        token = saved.read_text().strip()
    if not token:
        sys.exit(f"confsvc: no token (use --token or {env})")
    return token


def _show(args: argparse.Namespace, result: Any) -> None:
    if result is None:
        return
    listing = isinstance(result, list)
    if args.json:
        print(out.as_json({"result": result} if listing else result))
    elif listing:
        print(out.table(result, LISTS[args.command]))
    elif result:
        print(out.record(result))


async def _run(args: argparse.Namespace) -> int:
    settings = Settings()
    base = args.url or f"http://{settings.http_host}:{settings.http_port}"
    try:
        async with aiohttp.ClientSession() as http:
            _show(args, await args.run(ApiClient(http, base, _token(args)), args))
    except ApiFailed as exc:
        if args.json:
            print(out.as_json(exc.body))
        body = exc.body if isinstance(exc.body, dict) else {}
        print(f"confsvc: {exc.status} {body.get('error')}: {body.get('message')}", file=sys.stderr)
        return 1
    except aiohttp.ClientError as exc:
        print(f"confsvc: cannot reach {base}: {exc}", file=sys.stderr)
        return 1
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_run(args))
    except KeyboardInterrupt:  # events --follow ends with Ctrl-C
        return 0
