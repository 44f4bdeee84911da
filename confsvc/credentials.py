"""`id:secret:customer_id` triples, comma separated: how CONFSVC_PLIVO_ACCOUNTS and
CONFSVC_HOIIO_APPS name the credentials of older APIs' clients, each for one tenant. Pure."""

from __future__ import annotations

import re


def parse_triples(
    text: str, id_rule: re.Pattern[str], names: str, rule: str
) -> list[tuple[str, str, str]]:
    """[(id, secret, customer_id)] in order. ValueError naming the bad entry (serve refuses
    to start): an id not matching id_rule (`rule` says what it must be), a missing part
    (`names` is the expected `id:secret:customer_id` spelling), an id listed twice."""
    out: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for entry in filter(None, (p.strip() for p in text.split(","))):
        ident, _, rest = entry.partition(":")
        secret, _, customer = rest.partition(":")
        if not id_rule.fullmatch(ident):
            raise ValueError(f"{ident[:8]!r}...: {rule}")
        if not secret or not customer:
            raise ValueError(f"{ident}: expected {names}")
        if ident in seen:
            raise ValueError(f"{ident}: listed twice")
        seen.add(ident)
        out.append((ident, secret, customer))
    return out
