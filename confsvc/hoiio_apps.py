"""Hoiio-style applications: the (app_id, access_token) pairs Hoiio clients send with
every request (query or form fields, seed 000 / 002), each naming one tenant. Configured
in CONFSVC_HOIIO_APPS as `app_id:access_token:customer_id` triples, comma separated;
`make run` generates the dev tenant's once per install (.runtime/dev-hoiio) and prints it.

Also the tenant's own numbers a `caller_id` may show (CONFSVC_CALLER_IDS, the seed's
"your registered number, your Hoiio Number") and the per-tenant request rate limit of
the Hoiio-shaped routes. Pure, except RateLimiter's clock."""

from __future__ import annotations

import hmac
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from confsvc.credentials import parse_triples

APP_ID = re.compile(r"[A-Za-z0-9_.-]{4,64}")
TOKEN_BYTES = 24


@dataclass(frozen=True)
class HoiioApp:
    app_id: str
    access_token: str
    customer_id: str


def parse_apps(text: str) -> dict[str, HoiioApp]:
    """app_id -> app. ValueError naming the bad entry (serve refuses to start)."""
    triples = parse_triples(
        text, APP_ID, "app_id:access_token:customer_id", "app_id: 4-64 of A-Z a-z 0-9 _ . -"
    )
    return {app_id: HoiioApp(app_id, token, customer) for app_id, token, customer in triples}


def new_app(customer_id: str) -> HoiioApp:
    """A fresh pair (scripts/run prints it)."""
    return HoiioApp("app-" + secrets.token_hex(8), secrets.token_urlsafe(TOKEN_BYTES), customer_id)


class BadAppId(Exception):
    pass


class BadAccessToken(Exception):
    pass


def authenticate(apps: Mapping[str, HoiioApp], app_id: str, access_token: str) -> HoiioApp:
    """The app when both are right. BadAppId for an unknown app id, BadAccessToken for a
    wrong token (compared in constant time), as the seed's two codes tell them apart."""
    app = apps.get(app_id)
    if app is None:
        raise BadAppId(app_id)
    presented = access_token.encode("utf-8", "surrogatepass")
    if not hmac.compare_digest(app.access_token.encode(), presented):
        raise BadAccessToken(app_id)
    return app


def parse_caller_ids(text: str) -> dict[str, frozenset[str]]:
    """CONFSVC_CALLER_IDS: "tenant-a:+6560000000|+6560000001,tenant-b:+4420..." ->
    {tenant: numbers}."""
    out: dict[str, frozenset[str]] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        tenant, _, numbers = pair.partition(":")
        found = frozenset(n.strip() for n in numbers.split("|") if n.strip())
        if tenant.strip() and found:
            out[tenant.strip()] = out.get(tenant.strip(), frozenset()) | found
    return out


@dataclass
class RateLimiter:
    """A token bucket per tenant: `per_minute` requests a minute, bursts of as many.
    0 = no limit. In memory (one controller process)."""

    per_minute: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def allow(self, customer_id: str) -> bool:
        if self.per_minute <= 0:
            return True
        now = self.clock()
        tokens, since = self._buckets.get(customer_id, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - since) * self.per_minute / 60.0)
        if tokens < 1.0:
            self._buckets[customer_id] = (tokens, now)
            return False
        self._buckets[customer_id] = (tokens - 1.0, now)
        return True
