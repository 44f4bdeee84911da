"""One log stream: with CONFSVC_LOG_FORMAT=json the standard library's loggers (aiohttp,
websockets, asyncio, warnings) come out as JSON lines too, with the bound context."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import logging, warnings, structlog
from confsvc.logging import configure
configure("INFO", "json")
structlog.contextvars.bind_contextvars(request_id="r-1")
logging.getLogger("aiohttp.server").error("server says %s", "hi")
logging.getLogger("websockets.client").info("ws line")
structlog.get_logger("confsvc.x").info("ours", a=1)
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("asyncio").exception("Task exception was never retrieved")
warnings.warn("careful")
"""


def test_every_line_is_json_with_context() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=30
    )
    lines = proc.stderr.splitlines()
    records = [json.loads(line) for line in lines]  # raises on a plain-text line
    assert len(records) == 5, lines
    assert all(r["request_id"] == "r-1" and "timestamp" in r for r in records)
    by_event = {r["event"].split(":")[0]: r for r in records}
    assert by_event["server says hi"]["logger"] == "aiohttp.server"
    assert by_event["server says hi"]["level"] == "error"
    assert by_event["ws line"]["logger"] == "websockets.client"
    assert by_event["ours"]["a"] == 1
    crash = by_event["Task exception was never retrieved"]
    assert "ZeroDivisionError" in crash["exception"]  # the traceback kept, as text
    assert any(r.get("logger") == "py.warnings" for r in records)
