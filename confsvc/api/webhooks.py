"""/v1/webhooks: the tenant's webhook subscriptions and their delivery log, and
/v1/webhook_secret (rotate the signing secret). Everything is scoped to the token's tenant;
another tenant's webhook is a 404 like an unknown one."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from confsvc.api.auth import customer_of
from confsvc.api.bodies import json_body
from confsvc.api.errors import ApiError
from confsvc.api.openapi import PAGING_QUERY, Route
from confsvc.api.paging import PAGING_PARAMS, envelope, page, query_params
from confsvc.api.schemas import NoFields
from confsvc.config import Settings
from confsvc.domain import now as utcnow
from confsvc.domain.hooks import URL_MAX
from confsvc.engine import NotFound
from confsvc.events.derive import EVENT_TYPES
from confsvc.events.model import Webhook
from confsvc.events.signing import Secrets
from confsvc.events.webhooks import MAX_WEBHOOKS, new_webhook
from confsvc.outbound import OutboundPolicy
from confsvc.store.base import EventStore

BASE = "/v1/webhooks"
ITEM = BASE + "/{id}"
SECRET = "/v1/webhook_secret"
TAGS = ("webhooks",)


# --- request / response shapes (OpenAPI picks them up from the routes) --------------------


class WebhookCreate(BaseModel):
    """POST /v1/webhooks."""

    model_config = ConfigDict(strict=True, extra="forbid")

    url: str = Field(
        json_schema_extra={"maxLength": URL_MAX, "description": "http(s) URL events are POSTed to"}
    )
    event_types: list[str] = Field(
        default_factory=list,
        json_schema_extra={
            "items": {"enum": list(EVENT_TYPES)},
            "description": "Only these event types; empty = all.",
        },
    )


class WebhookOut(BaseModel):
    id: str
    customer_id: str
    url: str
    event_types: list[str]
    tm_create: str
    secret: str | None = Field(
        default=None,
        description="The tenant's signing secret, only in the answer that generated it.",
    )


class WebhookList(BaseModel):
    result: list[WebhookOut]
    next_page_token: str | None


class DeliveryOut(BaseModel):
    id: str
    webhook_id: str | None
    kind: str
    event_id: str
    event_seq: int = Field(description="The event's seq (the tenant's event number).")
    event_type: str
    url: str
    method: str
    status: str = Field(description="pending | delivered | failed (given up) | cancelled")
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: str | None
    tm_create: str
    tm_update: str | None


class DeliveryList(BaseModel):
    result: list[DeliveryOut]
    next_page_token: str | None


class WebhookSecret(BaseModel):
    customer_id: str
    secret: str = Field(description="The new signing secret; shown only here.")


# --- routes ------------------------------------------------------------------------------


class WebhookRoutes:
    def __init__(self, settings: Settings, store: EventStore, outbound: OutboundPolicy) -> None:
        self.store = store
        self.outbound = outbound
        self.secrets = Secrets(settings, store)

    def routes(self) -> list[Route]:
        return [
            Route("POST", BASE, self.create, "createWebhook",
                  "Subscribe a URL to the tenant's events (signed POSTs of the event JSON)",
                  WebhookOut, status=201, request=WebhookCreate, errors=(409,), tags=TAGS),
            Route("GET", BASE, self.list, "listWebhooks", "List webhooks, newest first",
                  WebhookList, query=PAGING_QUERY, errors=(422,), tags=TAGS),
            Route("GET", ITEM, self.get, "getWebhook", "Get a webhook", WebhookOut,
                  errors=(404,), tags=TAGS),
            Route("DELETE", ITEM, self.delete, "deleteWebhook",
                  "Delete a webhook (its pending deliveries are cancelled)", WebhookOut,
                  errors=(404,), tags=TAGS),
            Route("GET", ITEM + "/deliveries", self.deliveries, "listWebhookDeliveries",
                  "The webhook's delivery log, newest first", DeliveryList,
                  query=PAGING_QUERY, errors=(404, 422), tags=TAGS),
            Route("POST", SECRET, self.rotate, "rotateWebhookSecret",
                  "Generate a new signing secret for the tenant (shown once); 409 when it "
                  "is configured on the server (CONFSVC_WEBHOOK_SECRETS)", WebhookSecret,
                  request=NoFields, request_required=False, errors=(409,), tags=TAGS),
        ]  # fmt: skip

    async def _owned(self, request: web.Request) -> Webhook:
        hook_id = request.match_info["id"]
        hook = await self.store.get_webhook(hook_id, customer_of(request))
        if hook is None:
            raise NotFound("webhook", hook_id)
        return hook

    async def create(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        query_params(request)
        body = await json_body(request, WebhookCreate)
        hook = new_webhook(
            customer_id=customer, url=body.url, event_types=body.event_types, now=utcnow()
        )
        await self.outbound.check("url", hook.url)  # 422 url_not_allowed
        async with self.store.transaction():
            existing = await self.store.webhooks_of(customer)
            if len(existing) >= MAX_WEBHOOKS:
                raise ApiError(
                    409, "webhook_limit_reached", f"at most {MAX_WEBHOOKS} webhooks per tenant"
                )
            await self.store.create_webhook(hook)
        secret, generated = await self.secrets.ensure(customer)
        out = hook.to_json()
        if generated:
            out["secret"] = secret
        return web.json_response(out, status=201, headers={"Location": f"{BASE}/{hook.id}"})

    async def list(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        p = page(query_params(request, PAGING_PARAMS))
        hooks, token = await self.store.list_webhooks(
            customer, page_size=p.size, page_token=p.token
        )
        return web.json_response(envelope([h.to_json() for h in hooks], token))

    async def get(self, request: web.Request) -> web.Response:
        query_params(request)
        return web.json_response((await self._owned(request)).to_json())

    async def delete(self, request: web.Request) -> web.Response:
        query_params(request)
        hook = await self._owned(request)
        await self.store.delete_webhook(hook.id, utcnow())
        return web.json_response(hook.to_json())

    async def deliveries(self, request: web.Request) -> web.Response:
        p = page(query_params(request, PAGING_PARAMS))
        hook = await self._owned(request)
        items, token = await self.store.list_deliveries(
            hook.id, page_size=p.size, page_token=p.token
        )
        return web.json_response(envelope([d.to_json() for d in items], token))

    async def rotate(self, request: web.Request) -> web.Response:
        customer = customer_of(request)
        query_params(request)
        await json_body(request, NoFields, optional=True)
        if self.secrets.is_configured(customer):
            raise ApiError(
                409, "webhook_secret_configured", "this tenant's secret is set by the operator"
            )
        secret = await self.secrets.rotate(customer)
        return web.json_response({"customer_id": customer, "secret": secret})
