"""How values travel to ARI.

Encoding rules, taken from Asterisk's HTTP/ARI code rather than guessed:
- Query parameters marked allowMultiple in the swagger (media, channel, ...) are
  sent ONCE, comma-joined: Asterisk splits a single value on ',' and a repeated
  parameter simply overwrites the previous one.
- Booleans are sent as "true"/"false".
- Path ids are percent-encoded as one segment (quote(safe="")): ARI splits the path
  on '/' before decoding each segment, so a recording name "a/b" travels as a%2Fb.
- Asterisk decodes '+' in query values as a space; yarl encodes a literal '+' as %2B.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from urllib.parse import quote

import msgspec

from confsvc.ari.codec import decode_any

ParamValue = str | int | float | bool | Sequence[str] | None
Params = Mapping[str, ParamValue]


def encode_params(params: Params | None) -> dict[str, str]:
    """ARI query parameters: drop None, bool -> "true"/"false", lists -> "a,b"."""
    out: dict[str, str] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, str):
            out[key] = value
        elif isinstance(value, int | float):
            out[key] = str(value)
        else:
            out[key] = ",".join(value)
    return out


def _seg(value: str) -> str:
    return quote(value, safe="")


def _join(value: str | Sequence[str]) -> str:
    return value if isinstance(value, str) else ",".join(value)


def _error_message(body: bytes, reason: str | None) -> str:
    """ARI error bodies are {"message": "..."}; be lenient about anything else."""
    try:
        data = decode_any(body)
    except msgspec.DecodeError:
        text = body.decode("utf-8", "replace").strip()
        return text[:300] or (reason or "")
    if isinstance(data, dict):
        msg = data.get("message") or data.get("error")
        if msg:
            return str(msg)
    return reason or ""
