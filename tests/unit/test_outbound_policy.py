"""The outbound URL policy (confsvc/outbound/policy.py), pure: every address form,
refused and allowed, with and without the allow-list; the ARI and controller ports;
names through a fake resolver (tests/support/outbound.py: no DNS here)."""

from __future__ import annotations

import asyncio
import ipaddress

import pytest

from confsvc.config import Settings
from confsvc.outbound import OutboundPolicy, UrlNotAllowed
from confsvc.outbound.policy import (
    IPAddress,
    address_kind,
    literal_address,
    parse_allow,
    parse_target,
)
from tests.support.outbound import fake_resolve, offline_policy

ARI_PORT = 8088
HTTP_PORT = 8080


def policy(allow: str = "", **settings: object) -> OutboundPolicy:
    return offline_policy(Settings(outbound_allow=allow, **settings))  # type: ignore[arg-type]


async def refusal(p: OutboundPolicy, url: str) -> str | None:
    """The refusal message, or None when the URL passes."""
    try:
        await p.check("notify_url", url)
    except UrlNotAllowed as exc:
        assert exc.code == "url_not_allowed" and exc.field == "notify_url"
        assert exc.message.startswith("notify_url: ")
        return exc.message
    return None


# (url, a word of the refusal) without any allow-list.
REFUSED = [
    ("http://127.0.0.1/", "loopback"),
    ("http://127.255.0.9:9/", "loopback"),
    ("http://127.1/", "loopback"),
    ("http://0x7f000001/", "loopback"),
    ("http://0x7F.0.0.1/", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://0177.0.0.1/", "loopback"),
    ("http://017700000001/", "loopback"),
    ("http://[::1]/", "loopback"),
    ("http://[0:0:0:0:0:0:0:1]/", "loopback"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://[::ffff:7f00:1]/", "loopback"),
    ("http://localhost/", "loopback"),
    ("http://LocalHost./", "loopback"),
    ("http://0.0.0.0/", "unspecified"),
    ("http://0/", "unspecified"),
    ("http://[::]/", "unspecified"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://metadata.test/", "link-local"),
    ("http://[fe80::1]/", "link-local"),
    ("http://[::ffff:169.254.169.254]/", "link-local"),
    ("http://10.0.0.1/", "private"),
    ("http://172.16.5.4/", "private"),
    ("http://172.31.255.255/", "private"),
    ("http://192.168.1.1/", "private"),
    ("http://db.internal/", "private"),
    ("http://[fc00::1]/", "private"),
    ("http://[fd12:3456::1]/", "private"),
    ("http://[::ffff:10.0.0.1]/", "private"),
    ("http://100.64.0.1/", "carrier-grade NAT"),
    ("http://100.127.255.254/", "carrier-grade NAT"),
    ("http://224.0.0.1/", "multicast"),
    ("http://239.255.255.250/", "multicast"),
    ("http://[ff02::1]/", "multicast"),
    ("http://255.255.255.255/", "broadcast"),
    ("http://240.0.0.1/", "reserved"),
    ("http://[fec0::1]/", "site-local"),
    ("http://[2002:7f00:1::]/", "6to4 (of a loopback)"),
    ("http://[64:ff9b::a00:1]/", "reserved"),  # NAT64 of 10.0.0.1
    ("http://192.0.2.1/", "private"),  # documentation (TEST-NET-1)
]
ALLOWED = [
    "http://93.184.215.14/",
    "https://93.184.215.14:8443/hook?x=1",
    "http://[2606:4700::1111]/",
    "http://[::ffff:8.8.8.8]/",
    "http://8.8.8.8:80/",
    "http://hooks.test/in",
    "HTTPS://Hooks.Test/in#frag",
]


@pytest.mark.parametrize(("url", "kind"), REFUSED)
async def test_non_public_addresses_are_refused(url: str, kind: str) -> None:
    message = await refusal(policy(), url)
    assert message is not None and kind in message, message
    assert "CONFSVC_OUTBOUND_ALLOW" in message


@pytest.mark.parametrize("url", ALLOWED)
async def test_public_addresses_pass(url: str) -> None:
    assert await refusal(policy(), url) is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://user:pass@93.184.215.14/", "user name or password"),
        ("http://user@hooks.test/", "user name or password"),
        ("http://:@hooks.test/", "user name or password"),
        ("http://confsvc:x@127.0.0.1:8088/ari/channels", "user name or password"),
        ("ftp://hooks.test/", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("gopher://hooks.test:70/", "http:// or https://"),
        ("http:///path-only", "http:// or https://"),
        ("http://evil.test\\@127.0.0.1/", "not a valid URL"),
        ("http://hooks.test:99999/", "not a valid URL"),
        ("http://unresolvable.test/", "does not resolve"),
    ],
)
async def test_form_userinfo_and_unresolvable_hosts_are_refused(url: str, words: str) -> None:
    message = await refusal(policy("0.0.0.0/0,::/0"), url)  # even with everything allowed
    assert message is not None and words in message, message


@pytest.mark.parametrize(
    ("allow", "url", "allowed"),
    [
        ("127.0.0.1/32", "http://127.0.0.1:9000/", True),
        ("127.0.0.1", "http://127.1:9000/", True),
        ("127.0.0.1/32", "http://0x7f000001:9000/", True),
        ("127.0.0.1/32", "http://2130706433:9000/", True),
        ("127.0.0.1/32", "http://[::ffff:127.0.0.1]:9000/", True),
        ("127.0.0.1/32", "http://loopback.test:9000/", True),
        ("127.0.0.1/32", "http://127.0.0.2:9000/", False),
        ("127.0.0.1/32", "http://[::1]:9000/", False),
        # localhost is 127.0.0.1 AND ::1 here: every address must be allowed
        ("127.0.0.1/32", "http://localhost:9000/", False),
        ("127.0.0.1/32, ::1/128", "http://localhost:9000/", True),
        ("10.0.0.0/8", "http://db.internal/", True),
        ("10.0.0.0/8", "http://192.168.1.1/", False),
        ("169.254.169.254/32", "http://169.254.169.254/", True),
        ("fd00::/8", "http://[fd12:3456::1]/", True),
    ],
)
async def test_the_allow_list_opens_what_it_names(allow: str, url: str, allowed: bool) -> None:
    assert (await refusal(policy(allow), url) is None) is allowed


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8088/ari/channels?endpoint=PJSIP/%2B1900@trunk&app=confsvc",
        "http://127.0.0.1:8088/ari/asterisk/variable?api_key=confsvc:secret",
        "http://0x7f000001:8088/ari/channels",
        "http://127.1:8088/ari/channels",
        "http://[::ffff:127.0.0.1]:8088/ari",
        "http://loopback.test:8088/ari",
        "http://127.0.0.2:8088/ari",
        "http://10.0.0.7:8088/ari",  # any non-public address: ARI may listen on all
        "http://127.0.0.1:8080/v1/conferences",  # the controller itself
        "http://0.0.0.0:8080/v1/conferences",
    ],
)
async def test_ari_and_controller_ports_are_refused_whatever_the_allow_list(url: str) -> None:
    p = policy("0.0.0.0/0,::/0", ari_port=ARI_PORT, http_port=HTTP_PORT)
    message = await refusal(p, url)
    assert message is not None and "never allowed" in message, message
    assert ("ARI endpoint" in message) is (":8088" in url)


async def test_the_protected_ports_of_a_public_asterisk() -> None:
    p = policy(asterisk_host="93.184.215.14", ari_port=ARI_PORT)
    assert "ARI endpoint" in (await refusal(p, "http://93.184.215.14:8088/ari") or "")
    assert "ARI endpoint" in (await refusal(p, "http://hooks.test:8088/ari") or "")
    assert await refusal(p, "http://8.8.8.8:8088/") is None  # someone else's 8088
    assert await refusal(p, "http://93.184.215.14:80/") is None


def test_parse_allow() -> None:
    assert parse_allow("") == ()
    assert parse_allow(" 127.0.0.1/32 , 10.0.0.0/8,::1,") == (
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    with pytest.raises(ValueError, match="CONFSVC_OUTBOUND_ALLOW: 'nope'"):
        parse_allow("127.0.0.1/32,nope")
    assert Settings().outbound_allow == ""  # the default allows nothing extra


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("::1", "::1"),
        ("hooks.test", None),
        ("1.2.3.4.5", None),
    ],
)
def test_literal_address(host: str, address: str | None) -> None:
    want: IPAddress | None = ipaddress.ip_address(address) if address else None
    assert literal_address(host) == want


def test_address_kind_of_public_ones_is_none() -> None:
    for a in ("8.8.8.8", "2606:4700::1111", "::ffff:1.1.1.1", "2002:808:808::"):
        assert address_kind(ipaddress.ip_address(a)) is None, a


def test_parse_target_ports_and_hosts() -> None:
    t = parse_target("f", "HTTPS://Hooks.Test/a")
    assert (t.scheme, t.host, t.port) == ("https", "hooks.test", 443)
    assert parse_target("f", "http://[::1]:81/").port == 81
    assert parse_target("f", "http://h/").port == 80


async def test_check_all_checks_urls_only() -> None:
    p = policy()
    await p.check_all({"wait_sound": "default", "enter_sound": "beep:1", "x": "", "y": None})
    await p.check_all({"notify_url": "http://hooks.test/"})
    with pytest.raises(UrlNotAllowed) as err:
        await p.check_all({"notify_url": "http://hooks.test/", "wait_sound": "HTTP://[::1]/a"})
    assert err.value.field == "wait_sound"


async def test_a_slow_resolver_is_bounded() -> None:
    async def slow(host: str, port: int) -> list[IPAddress]:
        await asyncio.sleep(10)
        return await fake_resolve(host, port)

    p = OutboundPolicy(resolve=slow, resolve_timeout=0.05)
    message = await refusal(p, "http://slow.test/")
    assert message is not None and "does not resolve" in message
