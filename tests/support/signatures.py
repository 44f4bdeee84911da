"""Checking our request signatures the way receivers do: with the `standardwebhooks`
library (Standard Webhooks) as the reference, never with confsvc's own code."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

SECRET_PREFIX = "whsec_"


def receiver(secret: str) -> Webhook:
    """The library's verifier for a tenant secret: a `whsec_…` secret as the library reads
    it, any other configured secret as its raw bytes (README "Verifying webhooks")."""
    return Webhook(secret if secret.startswith(SECRET_PREFIX) else secret.encode())


def verifies(secret: str, headers: Mapping[str, str], payload: str | bytes) -> bool:
    """The library's verify (the timestamp must be within its 5 minutes of now)."""
    try:
        receiver(secret).verify(payload, dict(headers), json_parse=False)
    except WebhookVerificationError:
        return False
    return True


def signed_at_its_timestamp(secret: str, headers: Mapping[str, str], payload: str | bytes) -> bool:
    """For fake clocks: the library's own signature at the request's timestamp equals the
    one sent (the library's verify would refuse an old timestamp)."""
    lower = {k.lower(): v for k, v in headers.items()}
    data = payload if isinstance(payload, str) else payload.decode()
    at = datetime.fromtimestamp(int(lower["webhook-timestamp"]), tz=UTC)
    expected = receiver(secret).sign(lower["webhook-id"], at, data)
    return expected in lower["webhook-signature"].split(" ")
