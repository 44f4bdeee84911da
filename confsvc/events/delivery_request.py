"""One delivery as an HTTP request (pure): the URL as sent, the signed headers, how a
failure reads in the delivery log, and the retry delay after it."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qsl

from yarl import URL

from confsvc.events import plivo_signature
from confsvc.events.model import CALLBACK, Delivery
from confsvc.events.signing import sign
from confsvc.outbound import UrlNotAllowed

USER_AGENT = "confsvc-webhooks/1"
ERROR_MAX = 500  # characters of an error kept in the delivery log


def backoff(attempts: int, base: float, cap: float) -> float:
    """Delay before the next attempt after `attempts` failed ones (1, 2, ...)."""
    exponent = min(max(attempts - 1, 0), 62)
    return float(min(cap, base * (2**exponent)))


def failure(exc: Exception) -> tuple[str, bool]:
    """(last_error as the delivery log shows it, refused by the outbound URL policy)."""
    if isinstance(exc, UrlNotAllowed):
        return f"{exc.code}: {exc.message}"[:ERROR_MAX], True
    return f"{type(exc).__name__}: {exc}"[:ERROR_MAX], False


@lru_cache(maxsize=4096)  # a few receivers get most deliveries: parse each URL once
def _normalized(url: str) -> str:
    return str(URL(url))


def request_url(d: Delivery) -> str:
    """The URL as sent: the receiver's URL normalized (quoted), then for GET our query
    appended as is (it is what was signed)."""
    base = _normalized(d.url)
    if d.method != "GET" or not d.body:
        return base
    return base + ("&" if "?" in base else "?") + d.body


def signed_payload(d: Delivery, url: str) -> str:
    """What the signature covers: the POST body, or the whole query string of a GET as
    sent (the receiver's own query parameters included)."""
    return url.partition("?")[2] if d.method == "GET" else d.body


def request_headers(
    d: Delivery, secret: str, timestamp: int, url: str, plivo_token: str | None = None
) -> dict[str, str]:
    """plivo_token: the tenant's Plivo auth_token; a Plivo-style callback (kind callback)
    then also carries Plivo's V3 signature (plivo_signature.py)."""
    headers = {
        "User-Agent": USER_AGENT,
        "X-Confsvc-Event": d.event_type,
        "X-Confsvc-Event-Id": d.event_id,
        "X-Confsvc-Delivery": d.id,
        **sign(secret, d.id, timestamp, signed_payload(d, url)),
    }
    if d.method != "GET" and d.content_type:
        headers["Content-Type"] = d.content_type
    if d.kind == CALLBACK and plivo_token:
        fields = dict(parse_qsl(d.body, keep_blank_values=True))
        headers.update(plivo_signature.sign(plivo_token, d.method, _normalized(d.url), fields))
    return headers
