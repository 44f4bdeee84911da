"""GET /metrics: the Prometheus text format, behind an operator token of its own
(CONFSVC_METRICS_TOKEN): the numbers cover every tenant, so no tenant's token opens them.
Without that setting the route answers 404 metrics_disabled."""

from __future__ import annotations

import hmac

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from confsvc.api.auth import token_from
from confsvc.api.errors import ApiError
from confsvc.api.openapi import Route
from confsvc.ops.metrics import Metrics

METRICS_PATH = "/metrics"


class MetricsRoute:
    def __init__(self, metrics: Metrics, token: str) -> None:
        self.metrics = metrics
        self.token = token

    async def get_metrics(self, request: web.Request) -> web.Response:
        if not self.token:
            raise ApiError(404, "metrics_disabled", "set CONFSVC_METRICS_TOKEN to serve /metrics")
        presented = token_from(request) or ""
        if not hmac.compare_digest(self.token.encode(), presented.encode("utf-8", "surrogatepass")):
            raise ApiError.unauthorized("/metrics needs the CONFSVC_METRICS_TOKEN bearer token")
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    def routes(self) -> list[Route]:
        return [
            Route(
                "GET",
                METRICS_PATH,
                self.get_metrics,
                "metrics",
                "Prometheus metrics (text format); Bearer CONFSVC_METRICS_TOKEN",
                None,
                errors=(401, 404),
                # Not a tenant route: the handler checks the operator token itself.
                public=True,
                media_types=("text/plain",),
                tags=("service",),
            )
        ]
