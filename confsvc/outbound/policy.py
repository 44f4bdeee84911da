"""The outbound URL policy: which URLs the service (webhooks, notify_url, callback_url)
and Asterisk (media URLs) may fetch. One policy, checked when a URL comes in (422
`url_not_allowed`) and again when it is fetched (DNS may have changed meanwhile).

A URL passes when:
- its scheme is http or https and it carries no user:password@;
- its host is resolved (a literal address, also the legacy numeric IPv4 forms
  0x7f000001 / 2130706433 / 0177.0.0.1 / 127.1 that curl and glibc accept, or a name
  through DNS) and EVERY address it resolves to is public: not unspecified, loopback,
  link-local, multicast, private (RFC 1918, fc00::/7), shared (100.64/10), reserved,
  broadcast or site-local. An IPv4-mapped IPv6 address is judged as its IPv4 address, a
  6to4 address by its embedded IPv4 address too;
- or the address is inside an allow-list network (settings.outbound_allow, CIDRs);
- and never the ARI endpoint or the controller's own HTTP port: those ports are refused
  on every non-public address and on Asterisk's / the controller's own address, whatever
  the allow-list says (a URL could otherwise drive ARI: ?api_key= needs no userinfo)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from yarl import URL

from confsvc.config import Settings
from confsvc.domain.errors import ValidationFailed

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
# (host, port) -> every address the name resolves to; raises OSError when it does not.
Resolve = Callable[[str, int], Awaitable[list[IPAddress]]]

RESOLVE_TIMEOUT = 5.0  # seconds for one DNS lookup
SCHEMES = {"http": 80, "https": 443}
SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 (carrier-grade NAT)
BROADCAST = ipaddress.ip_address("255.255.255.255")
SETTING = "CONFSVC_OUTBOUND_ALLOW"


class UrlNotAllowed(ValidationFailed):
    """A URL the outbound policy refuses (422 at the API; a failed delivery later)."""

    code = "url_not_allowed"


class UrlUnresolvable(UrlNotAllowed):
    """A URL whose host does not resolve now (Hoiio: error_unable_to_resolve_notify_url)."""


@dataclass(frozen=True)
class Target:
    """Where a URL points: the host as written (a name or a literal) and the port."""

    scheme: str
    host: str
    port: int


@dataclass(frozen=True)
class Protected:
    """An HTTP endpoint no URL may reach: ARI, the controller itself."""

    name: str
    host: str
    port: int


def parse_allow(text: str) -> tuple[IPNetwork, ...]:
    """The allow-list setting: comma separated networks (CIDR) or single addresses."""
    out: list[IPNetwork] = []
    for item in filter(None, (p.strip() for p in text.split(","))):
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"{SETTING}: {item!r} is not a network ({exc})") from None
    return tuple(out)


def literal_address(host: str) -> IPAddress | None:
    """The address a host names without DNS: an IP literal or a numeric IPv4 form (via
    inet_aton, the parser curl and getaddrinfo use); None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def unmapped(ip: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as the IPv4 address it is."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def address_kind(ip: IPAddress) -> str | None:
    """Why an address is not public (a word for the message), or None when it is."""
    ip = unmapped(ip)
    if isinstance(ip, ipaddress.IPv6Address) and ip.sixtofour is not None:
        inner = address_kind(ip.sixtofour)
        if inner is not None:
            return f"6to4 (of a {inner})"
    checks: tuple[tuple[bool, str], ...] = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip == BROADCAST, "broadcast"),
        (ip in SHARED, "shared (carrier-grade NAT)"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "site-local"),
        (not ip.is_global, "non-public"),
    )
    return next((kind for hit, kind in checks if hit), None)


async def system_resolve(host: str, port: int) -> list[IPAddress]:
    """getaddrinfo, every address once (raises socket.gaierror for an unknown name)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[IPAddress, None] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        seen[ipaddress.ip_address(sockaddr[0])] = None
    return list(seen)


def parse_target(field: str, url: str) -> Target:
    """The URL's scheme, host and port; refuses other schemes and userinfo. Parsed by
    yarl (what aiohttp sends) and by urllib; a URL they read differently is refused,
    so no parser in the path can be steered to another host than the one checked."""
    try:
        parsed = URL(url)
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlNotAllowed(field, "is not a valid URL") from None
    scheme = (parsed.scheme or "").lower()
    host = parsed.raw_host or ""
    if scheme not in SCHEMES or not host:
        raise UrlNotAllowed(field, "must be an http:// or https:// URL with a host")
    if parsed.raw_user is not None or parsed.raw_password is not None or parts.username:
        raise UrlNotAllowed(field, "must not carry a user name or password (user:pass@)")
    if not _same_host(host, parts.hostname or "") or (port or SCHEMES[scheme]) != parsed.port:
        raise UrlNotAllowed(field, "is ambiguous (its host reads differently to URL parsers)")
    return Target(scheme, host, parsed.port or SCHEMES[scheme])


def _same_host(a: str, b: str) -> bool:
    ip_a, ip_b = literal_address(a), literal_address(b)
    if ip_a is not None or ip_b is not None:
        return ip_a == ip_b
    return a.lower() == b.lower()


class OutboundPolicy:
    def __init__(
        self,
        allow: Iterable[IPNetwork] = (),
        protected: Iterable[Protected] = (),
        *,
        resolve: Resolve = system_resolve,
        resolve_timeout: float = RESOLVE_TIMEOUT,
    ) -> None:
        self.allow = tuple(allow)
        self.protected = tuple(protected)
        self._resolve = resolve
        self._timeout = resolve_timeout

    @classmethod
    def from_settings(
        cls, settings: Settings, *, resolve: Resolve = system_resolve
    ) -> OutboundPolicy:
        protected = (
            Protected("the ARI endpoint", settings.asterisk_host, settings.ari_port),
            Protected("the controller's own HTTP port", settings.http_host, settings.http_port),
        )
        return cls(parse_allow(settings.outbound_allow), protected, resolve=resolve)

    # --- addresses -----------------------------------------------------------------------

    async def resolve(self, host: str) -> list[IPAddress]:
        """The addresses a host stands for: its literal, else DNS (bounded in time).
        Raises OSError (socket.gaierror, TimeoutError) when it cannot be resolved."""
        ip = literal_address(host)
        if ip is not None:
            return [ip]
        async with asyncio.timeout(self._timeout):
            found = await self._resolve(host, 0)
        if not found:
            raise socket.gaierror(f"{host} has no address")
        return found

    async def refusal(self, ip: IPAddress, port: int) -> str | None:
        """Why `ip`:`port` may not be fetched, as the end of a sentence about the
        address ("is a loopback address: ..."), or None when it may."""
        ip = unmapped(ip)
        kind = address_kind(ip)
        for p in self.protected:
            if port == p.port and (kind is not None or ip in await self._own(p)):
                return f"port {port} is {p.name}: never allowed"
        if kind is None or any(ip in net for net in self.allow):
            return None
        return f"is a {kind} address: not allowed (see {SETTING})"

    async def _own(self, p: Protected) -> set[IPAddress]:
        try:
            return {unmapped(ip) for ip in await self.resolve(p.host)}
        except OSError:
            return set()  # a name that does not resolve now: only non-public ones count

    async def checked_addresses(self, field: str, host: str, port: int) -> list[IPAddress]:
        """The host's addresses when every one of them is allowed on `port`; raises
        UrlNotAllowed otherwise, OSError when the host cannot be resolved."""
        addresses = await self.resolve(host)
        for ip in addresses:
            why = await self.refusal(ip, port)
            if why is not None:
                what = str(ip) if host == str(ip) else f"{host} ({ip})"
                raise UrlNotAllowed(field, f"{what} {why}")
        return addresses

    # --- URLs ----------------------------------------------------------------------------

    async def check(self, field: str, url: str) -> Target:
        """The input check: the URL's form, then every address of its host. Raises
        UrlNotAllowed (a host that does not resolve cannot be checked: refused too)."""
        target = parse_target(field, url)
        try:
            await self.checked_addresses(field, target.host, target.port)
        except OSError:  # TimeoutError included
            raise UrlUnresolvable(field, f"host {target.host} does not resolve") from None
        return target

    async def check_all(self, fields: Mapping[str, str | None]) -> None:
        """check() every value that is an http(s) URL (media fields also hold sound
        names; empty = none)."""
        for field, value in fields.items():
            if value and value.lower().startswith(tuple(f"{s}://" for s in SCHEMES)):
                await self.check(field, value)
