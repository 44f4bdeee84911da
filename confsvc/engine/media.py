"""Media values (domain/options.py) -> ARI media URIs.

    beep:1 / beep:2   sound:beep once / twice
    http(s)://...     sound:<url> (Asterisk fetches it with res_http_media_cache)
    <sound name>      sound:<name>

Asterisk 22 sizes the buffer for the cached file's local path from the length of the
URL (main/file.c), so a URL shorter than the cache path fails with "File ... does not
exist in any format" (seen on this project's runtime). A fragment is never sent to the
server, so short URLs get one as padding.

A URL passes the outbound policy (confsvc/outbound) right before it is handed to
Asterisk: check_media. Asterisk's curl resolves the name again when it fetches (residual
risk, README "Outbound URL policy")."""

from __future__ import annotations

from confsvc.domain.options import BEEPS, is_url
from confsvc.outbound import OutboundPolicy

URL_PAD_TO = 256


def padded_url(url: str) -> str:
    if len(url) >= URL_PAD_TO:
        return url
    sep = "" if "#" in url else "#"
    return url + sep + "_" * (URL_PAD_TO - len(url) - len(sep))


def media_uris(value: str) -> list[str]:
    """ARI media URIs for a validated, non-empty media value."""
    if value in BEEPS:
        return ["sound:beep"] * BEEPS[value]
    if is_url(value):
        return ["sound:" + padded_url(value)]
    return ["sound:" + value]


async def check_media(policy: OutboundPolicy, field: str, value: str) -> None:
    """Raises UrlNotAllowed for a media URL the policy refuses (sound names pass)."""
    if is_url(value):
        await policy.check(field, value)
