"""The service's one HTTP client for URLs it is given (webhooks, notify_url, callback_url):
every request passes the outbound policy at the moment it is made.

- A name is resolved by PolicyResolver, which applies the policy and hands aiohttp only
  the addresses it checked, so the connection goes to exactly those (no second lookup a
  DNS rebinding could answer differently). The Host header and TLS SNI stay the name.
- A literal address never reaches a resolver in aiohttp, so it is checked before the
  request (a literal cannot change between check and connect).
- Redirects are not followed; the answer's body is read up to RESPONSE_MAX bytes only.
- No proxy from the environment (trust_env off): the policy judges the real peer."""

from __future__ import annotations

import socket
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from confsvc.outbound.policy import OutboundPolicy, literal_address, parse_target

RESPONSE_MAX = 64 * 1024  # bytes of an answer read (we only need its status)
FIELD = "url"  # the field named in a refusal at fetch time


class PolicyResolver(AbstractResolver):
    """aiohttp resolver: the policy's lookup, refused when any address is not allowed
    (UrlNotAllowed propagates out of the request), else exactly those addresses."""

    def __init__(self, policy: OutboundPolicy) -> None:
        self.policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        addresses = await self.policy.checked_addresses(FIELD, host, port)
        out: list[ResolveResult] = []
        for ip in addresses:
            fam = socket.AF_INET if ip.version == 4 else socket.AF_INET6
            if family in (socket.AF_UNSPEC, fam):
                out.append(
                    ResolveResult(
                        hostname=host,
                        host=str(ip),
                        port=port,
                        family=fam,
                        proto=0,
                        flags=socket.AI_NUMERICHOST,
                    )
                )
        if not out:
            raise OSError(f"{host} has no address of family {family!r}")
        return out

    async def close(self) -> None:
        return None


class OutboundClient:
    """One aiohttp session behind the policy; close() when done."""

    def __init__(self, policy: OutboundPolicy, *, timeout: float) -> None:
        self.policy = policy
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(resolver=PolicyResolver(self.policy))
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                trust_env=False,
            )
        return self._session

    async def send(self, method: str, url: str, headers: dict[str, str], body: Any) -> int:
        """One request; returns the HTTP status. Raises UrlNotAllowed for a refused URL,
        aiohttp.ClientError / TimeoutError / OSError when it could not be made.
        url is sent as is (encoded): a signed query must go out byte for byte."""
        status, _ = await self.fetch(method, url, headers, body)
        return status

    async def fetch(
        self, method: str, url: str, headers: dict[str, str], body: Any, limit: int = RESPONSE_MAX
    ) -> tuple[int, bytes]:
        """As send, with the answer's body (at most `limit` bytes). body: bytes or an
        aiohttp payload (multipart: the speech backend, confsvc/transcribe)."""
        target = parse_target(FIELD, url)
        if literal_address(target.host) is not None:
            await self.policy.checked_addresses(FIELD, target.host, target.port)
        kwargs: dict[str, Any] = {"headers": headers, "allow_redirects": False}
        if method != "GET":
            kwargs["data"] = body
        async with self._get_session().request(method, URL(url, encoded=True), **kwargs) as resp:
            content = await resp.content.read(limit)  # bounded: the rest is dropped
            return resp.status, content

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
