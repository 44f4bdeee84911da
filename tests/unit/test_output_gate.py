"""The traceback gate (tests/support/output_gate.py): it finds every way the controller's
output shows an unhandled exception, on output a real process wrote with confsvc's logging."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from tests.support.output_gate import unhandled_errors

# One process, configured as the controller is in the tests (JSON lines), that logs a
# handled error without a traceback and then each kind of unhandled exception.
SCRIPT = textwrap.dedent(
    """
    import asyncio, gc, structlog
    from confsvc.logging import configure

    configure("INFO", "json")
    log = structlog.get_logger()
    log.info("ready", n=1)
    log.warning("ari call failed", error="404: Channel not found")  # handled: no traceback
    try:
        1 / 0
    except ZeroDivisionError as exc:
        log.exception("structlog exception")
        log.error("lane work failed", exc_info=exc)

    async def boom() -> None:
        raise RuntimeError("never retrieved")

    async def main() -> None:
        asyncio.get_running_loop().call_soon(lambda: 1 / 0)  # "Exception in callback"
        task = asyncio.create_task(boom())
        await asyncio.sleep(0.05)
        del task
        gc.collect()

    asyncio.run(main())
    log.info("done")
    """
)


def output_of(script: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    return proc.stdout + proc.stderr


def test_every_kind_of_unhandled_exception_is_found() -> None:
    found = unhandled_errors(output_of(SCRIPT))
    assert len(found) == 4, found
    structlog_exc, lane, callback, task = found
    assert "structlog exception" in structlog_exc and "ZeroDivisionError" in structlog_exc
    # JSON lines carry the traceback itself (confsvc/logging.py), not just `"exc_info": true`.
    assert "Traceback (most recent call last)" in structlog_exc
    assert "lane work failed" in lane and "ZeroDivisionError" in lane
    # asyncio's own reports are JSON lines too now (one log stream, confsvc/logging.py).
    assert "Exception in callback" in callback and "ZeroDivisionError" in callback
    assert "Task exception was never retrieved" in task
    assert "RuntimeError: never retrieved" in task


def test_clean_output_passes() -> None:
    clean = SCRIPT.split("try:")[0] + 'log.info("done")\n'
    out = output_of(clean)
    assert '"ari call failed"' in out
    assert unhandled_errors(out) == []
