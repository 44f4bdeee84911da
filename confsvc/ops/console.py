"""GET /console: the operator's live page (confsvc/console/: plain HTML, CSS and a small
script; no build step, nothing fetched from elsewhere). The files hold no data, so they
are served without a token; the page asks for the tenant's token and uses the API and
the WebSocket with it, as any client would."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from confsvc.api.errors import ApiError
from confsvc.api.openapi import Route

CONSOLE_PATH = "/console"
FILES = {
    "console.js": "text/javascript",
    "console.css": "text/css",
}
# Only this controller: scripts, styles, fetch and the WebSocket; recordings play from blobs.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; media-src 'self' blob:;"
    " frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}


class Console:
    def __init__(self) -> None:
        folder = resources.files("confsvc") / "console"
        # Read once: a handful of small files.
        self.page = (folder / "index.html").read_bytes()
        self.assets = {name: (folder / name).read_bytes() for name in FILES}

    async def get_page(self, _: web.Request) -> web.Response:
        return web.Response(body=self.page, content_type="text/html", headers=HEADERS)

    async def get_asset(self, request: web.Request) -> web.Response:
        name = request.match_info["file"]
        if name not in self.assets:
            raise ApiError(404, "not_found", f"no console file {name!r}")
        return web.Response(body=self.assets[name], content_type=FILES[name], headers=HEADERS)

    def routes(self) -> list[Route]:
        common = {"public": True, "tags": ("service",), "errors": (404,)}
        return [
            Route("GET", CONSOLE_PATH, self.get_page, "console", "The operator console page",
                  None, media_types=("text/html",), **common),  # type: ignore[arg-type]
            Route("GET", CONSOLE_PATH + "/{file}", self.get_asset, "consoleAsset",
                  "The console's script and style", None,
                  media_types=("text/javascript", "text/css"), **common),  # type: ignore[arg-type]
        ]  # fmt: skip
