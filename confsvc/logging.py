"""structlog set-up: console output for people, JSON lines for machines; the standard
library's loggers (aiohttp, websockets, asyncio) go through the same renderer."""

from __future__ import annotations

import logging
import sys

import structlog
from aiohttp.http_exceptions import HttpProcessingError


class MalformedRequests(logging.Filter):
    """aiohttp answers a request it cannot parse (bad bytes in a header, a broken request
    line) with 400 itself and logs it as an error with a traceback; it is the client's
    mistake, not ours, so it becomes one line at INFO."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError) and 400 <= exc.code < 500:
            first = exc.message.strip().splitlines()[0] if exc.message.strip() else ""
            record.msg = f"{record.getMessage()}: malformed request refused ({exc.code} {first})"
            record.args = ()
            record.exc_info = record.exc_text = None
            record.levelno, record.levelname = logging.INFO, "INFO"
            return logging.getLogger(record.name).isEnabledFor(logging.INFO)
        return True


def configure(level: str = "INFO", fmt: str = "console") -> None:
    """structlog's own lines and the standard library's (aiohttp, websockets, asyncio,
    warnings) leave through one renderer: with fmt="json" every line is one JSON object."""
    lvl = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    # JSON lines carry the traceback as text in "exception" (without format_exc_info the
    # renderer writes only `"exc_info": true` and the traceback is lost). The console prints a
    # plain traceback whether or not `rich` happens to be installed (rich would add locals).
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    exc: list[structlog.types.Processor] = (
        [structlog.processors.format_exc_info] if fmt == "json" else []
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso"),
    ]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *exc,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(lvl)
    logging.captureWarnings(True)  # warnings become log lines too, not bare stderr text
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, MalformedRequests) for f in server_log.filters):
        server_log.addFilter(MalformedRequests())
    structlog.configure(
        processors=[*shared, *exc, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(lvl),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
