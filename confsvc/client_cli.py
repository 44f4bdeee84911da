"""The operator commands of `confsvc` that talk to a running controller's HTTP API."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import aiohttp

from confsvc.config import Settings

DEV_TOKEN = Path(".runtime/dev-token")


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--url", help="controller base URL (default http://127.0.0.1:<port>)")
        p.add_argument("--token", help="API token (default $CONFSVC_TOKEN or make run's)")

    conf = sub.add_parser("conferences", help="list or create conferences")
    conf_sub = conf.add_subparsers(dest="action", required=True)
    ls = conf_sub.add_parser("list", help="list conferences")
    ls.add_argument("--status", help="starting|progressing|terminating|terminated")
    common(ls)
    mk = conf_sub.add_parser("create", help="create a conference")
    mk.add_argument("--room")
    mk.add_argument("--name", default="")
    mk.add_argument("--type", default="conference", choices=["conference", "connect"])
    common(mk)
    kick = sub.add_parser("kick", help="kick a conferencecall (participant) by id")
    kick.add_argument("conferencecall_id")
    common(kick)


def _token(args: argparse.Namespace) -> str:
    token = args.token or os.environ.get("CONFSVC_TOKEN")
    if not token and DEV_TOKEN.exists():
        token = DEV_TOKEN.read_text().strip()
    if not token:
        sys.exit("confsvc: no token (use --token or CONFSVC_TOKEN)")
    return token


async def _call(args: argparse.Namespace, method: str, path: str, body: Any = None) -> int:
    settings = Settings()
    base = args.url or f"http://{settings.http_host}:{settings.http_port}"
    headers = {"Authorization": f"Bearer {_token(args)}"}
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.request(method, f"{base}{path}", json=body, headers=headers) as r,
        ):
            data = await r.json(content_type=None)
            status = r.status
    except aiohttp.ClientError as exc:
        print(f"confsvc: cannot reach {base}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(data, indent=2))
    return 0 if status < 400 else 1


def run(args: argparse.Namespace) -> int:
    if args.command == "kick":
        return asyncio.run(_call(args, "DELETE", f"/v1/conferencecalls/{args.conferencecall_id}"))
    if args.action == "list":
        query = f"?status={args.status}" if args.status else ""
        return asyncio.run(_call(args, "GET", f"/v1/conferences{query}"))
    body: dict[str, Any] = {"type": args.type, "name": args.name}
    if args.room:
        body["room"] = args.room
    return asyncio.run(_call(args, "POST", "/v1/conferences", body))
