"""`confsvc` / `python -m confsvc`: run the controller, or talk to a running one."""

from __future__ import annotations

import argparse
import asyncio
import sys

from pydantic import ValidationError

from confsvc import __version__
from confsvc.client_cli import add_commands, run
from confsvc.config import Settings
from confsvc.events.signing import configured_secrets
from confsvc.hoiio_apps import parse_apps
from confsvc.logging import configure
from confsvc.plivo_accounts import parse_accounts
from confsvc.server import serve


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="confsvc", description="Conference service on Asterisk ARI")
    p.add_argument("--version", action="version", version=f"confsvc {__version__}")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the controller (ARI events + HTTP API)")
    add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:  # a bad CONFSVC_* value: say which, no traceback
        for err in exc.errors():
            field = "CONFSVC_" + "_".join(str(p) for p in err["loc"]).upper()
            msg = err["msg"].removeprefix("Value error, ")
            print(f"confsvc: invalid setting {field}: {msg}", file=sys.stderr)
        return 2
    configure(settings.log_level, settings.log_format)
    if args.command == "serve":
        if problem := settings.missing_secret() or settings.db_problem():
            print(f"confsvc: {problem}", file=sys.stderr)
            return 2
        try:
            configured_secrets(settings)
        except ValueError as exc:
            print(f"confsvc: CONFSVC_WEBHOOK_SECRETS: {exc}", file=sys.stderr)
            return 2
        try:
            parse_accounts(settings.plivo_accounts)
        except ValueError as exc:
            print(f"confsvc: CONFSVC_PLIVO_ACCOUNTS: {exc}", file=sys.stderr)
            return 2
        try:
            parse_apps(settings.hoiio_apps)
        except ValueError as exc:
            print(f"confsvc: CONFSVC_HOIIO_APPS: {exc}", file=sys.stderr)
            return 2

        try:
            asyncio.run(serve(settings))
        except KeyboardInterrupt:
            pass
        return 0
    return run(args)
