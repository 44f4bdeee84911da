"""The traceback gate: the unhandled exceptions a controller's output shows.

A test whose controller prints one fails (tests/support/controller.py `running_controller`),
so "no unhandled exceptions" holds for every e2e run, not only when someone reads the logs."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

# Python's traceback header (stdlib logging: asyncio, aiohttp's "Error handling request") and
# asyncio's loop exception handler reports; structlog's JSON lines carry a logged exception
# under "exception" (format_exc_info in confsvc/logging.py) or, without it, "exc_info".
PLAIN_MARKERS = ("Traceback (most recent call last)", "exception was never retrieved")
BLOCK_STARTS = ("exception was never retrieved", "Exception in callback")
EXC_KEYS = ("exception", "exc_info")
BLOCK_MAX_LINES = 60
SHOWN = 5


def _record(line: str) -> dict[str, Any] | None:
    if not line.startswith("{"):
        return None
    with contextlib.suppress(ValueError):
        record = json.loads(line)
        return record if isinstance(record, dict) else None
    return None


def unhandled_errors(output: str) -> list[str]:
    """Every unhandled exception in the output, each as the lines that show it."""
    lines = output.splitlines()
    found: list[str] = []
    i = 0
    while i < len(lines):
        record = _record(lines[i])
        if record is not None:
            if any(k in record for k in EXC_KEYS):
                exc = record.get("exception", record.get("exc_info"))
                rest = {k: v for k, v in record.items() if k not in EXC_KEYS}
                found.append(f"{json.dumps(rest)}\n{exc}")
            i += 1
            continue
        if not any(m in lines[i] for m in (*PLAIN_MARKERS, *BLOCK_STARTS)):
            i += 1
            continue
        # A plain-text block: up to the next JSON log line or the next asyncio report.
        end = i + 1
        while (
            end < len(lines)
            and end - i < BLOCK_MAX_LINES
            and _record(lines[end]) is None
            and not any(m in lines[end] for m in BLOCK_STARTS)
        ):
            end += 1
        found.append("\n".join(lines[i:end]))
        i = end
    return found


def gate_report(log: Path) -> str:
    """'' when the log is clean; else which test it was and the offending lines."""
    found = unhandled_errors(log.read_text(errors="replace")) if log.exists() else []
    if not found:
        return ""
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").rsplit(" ", 1)[0]
    more = f"\n... and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
    return (
        f"controller output has {len(found)} unhandled exception(s) during {test} "
        f"(full log: {log}):\n" + "\n---\n".join(found[:SHOWN]) + more
    )
