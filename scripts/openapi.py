"""Print the OpenAPI document (`make lint` validates it with openapi-spec-validator): the
app is built as `serve` builds it, over a throwaway database, and never started (no
Asterisk, no port)."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

from confsvc.api import create_app
from confsvc.api.app import OPENAPI_PATH
from confsvc.ari.client import AriClient
from confsvc.config import Settings
from confsvc.engine import Engine
from confsvc.events import wiring
from confsvc.outbound import OutboundPolicy
from confsvc.store.sqlite import SqliteStore


async def document(workdir: Path) -> dict[str, object]:
    settings = Settings(ari_password="unused", db_path=str(workdir / "doc.sqlite3"))
    async with SqliteStore(settings.db_path) as store:
        ari = AriClient(
            settings.ari_url, settings.ari_user, settings.ari_password, settings.ari_app
        )
        outbound = OutboundPolicy.from_settings(settings)
        engine = Engine(
            settings, store, ari, bus=wiring.connect(store, settings), outbound=outbound
        )
        app = create_app(settings, store, engine)
        route = next(
            r for r in app.router.routes() if r.resource and r.resource.canonical == OPENAPI_PATH
        )
        resp = await route.handler(None)  # type: ignore[arg-type]
        return json.loads(resp.text)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        doc = asyncio.run(document(Path(tmp)))
    json.dump(doc, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
