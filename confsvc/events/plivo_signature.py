"""Plivo's V3 request signature, so Plivo apps check our Plivo-style callbacks with
`plivo.utils.validate_v3_signature` as they check Plivo's (the algorithm is the Plivo
SDKs' signature_v3):

    X-Plivo-Signature-V3-Nonce: <random>
    X-Plivo-Signature-V3: base64(HMAC-SHA256(auth_token, "<signed url>.<nonce>"))

signed url, GET: scheme://host/path?k=v&k=v (every parameter, the URL's own included,
decoded, sorted by name); POST: scheme://host/path?<the URL's own query as for GET>[.]
followed by each form field as name+value, sorted by name. The key is the auth_token of
the tenant's Plivo account (plivo_accounts.py). Pure."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit, urlunsplit

SIGNATURE_HEADER = "X-Plivo-Signature-V3"
NONCE_HEADER = "X-Plivo-Signature-V3-Nonce"


def _sorted_query(params: Mapping[str, list[str]]) -> str:
    return "&".join(
        "&".join(f"{key}={value}" for value in sorted(params[key])) for key in sorted(params)
    )


def signed_url(method: str, url: str, params: Mapping[str, str]) -> str:
    """What is signed. url: as sent, without our GET parameters; params: ours (the form
    fields of a POST, the added query of a GET)."""
    parts = urlsplit(url)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    own = parse_qs(parts.query, keep_blank_values=True)
    if method.upper() == "GET":
        merged = {key: [value] for key, value in params.items()}
        merged.update(own)  # as the SDK merges them: the URL's own win
        query = _sorted_query(merged)
        return base + ("?" + query if query else "")
    query = _sorted_query(own)
    out = base
    if query or params:
        out += "?" + query
    if query and params:
        out += "."
    return out + "".join(f"{key}{params[key]}" for key in sorted(params))


def sign(auth_token: str, method: str, url: str, params: Mapping[str, str]) -> dict[str, str]:
    """The two headers for one request."""
    nonce = str(secrets.randbits(64))
    message = f"{signed_url(method, url, params)}.{nonce}".encode()
    mac = hmac.new(auth_token.encode(), message, hashlib.sha256).digest()
    return {SIGNATURE_HEADER: base64.b64encode(mac).decode(), NONCE_HEADER: nonce}
