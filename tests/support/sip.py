"""Raw SIP over UDP for hostile-input tests: an INVITE with an SDP from any From user and
source port, optionally answering a digest challenge with a given password. Debian has no
sipp, and a softphone would refuse to send the odd requests these tests need.

Only what the tests read is parsed: status lines, a few headers, the digest challenge."""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import socket
import time
from dataclasses import dataclass, field

FINAL = 200  # a status >= this ends an INVITE transaction


@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, str]  # lower-case name -> first value
    raw: str

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class InviteResult:
    """Every response seen, in order, across the first INVITE and an authenticated retry."""

    responses: list[Response] = field(default_factory=list)

    @property
    def statuses(self) -> list[int]:
        return [r.status for r in self.responses]

    @property
    def final(self) -> int:
        finals = [s for s in self.statuses if s >= FINAL]
        return finals[-1] if finals else 0

    @property
    def answered(self) -> bool:
        return any(200 <= s < 300 for s in self.statuses)

    @property
    def early_media(self) -> bool:
        return any(s in (180, 183) for s in self.statuses)


def parse(data: bytes) -> Response | None:
    text = data.decode("utf-8", "replace")
    head = text.split("\r\n\r\n", 1)[0].split("\r\n")
    m = re.match(r"SIP/2\.0 (\d{3}) ?(.*)", head[0])
    if m is None:
        return None  # a request (e.g. a BYE from the far end): not ours to read
    headers: dict[str, str] = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    return Response(int(m.group(1)), m.group(2), headers, text)


def digest_params(challenge: str) -> dict[str, str]:
    """`Digest realm="x",nonce="y",...` -> {"realm": "x", "nonce": "y", ...}."""
    body = challenge.split(" ", 1)[1] if " " in challenge else ""
    return {k.lower(): v for k, v in re.findall(r'(\w+)="?([^",]*)"?', body)}


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # SIP digest is MD5


def authorization(challenge: str, user: str, password: str, uri: str, method: str) -> str:
    """An RFC 2617 Authorization header value for `challenge` (MD5, qop=auth or none)."""
    p = digest_params(challenge)
    ha1 = md5(f"{user}:{p['realm']}:{password}")
    ha2 = md5(f"{method}:{uri}")
    parts = [
        f'username="{user}"',
        f'realm="{p["realm"]}"',
        f'nonce="{p["nonce"]}"',
        f'uri="{uri}"',
        "algorithm=MD5",
    ]
    if "auth" in p.get("qop", "").split(","):
        cnonce, nc = secrets.token_hex(8), "00000001"
        response = md5(f"{ha1}:{p['nonce']}:{nc}:{cnonce}:auth:{ha2}")
        parts += [f'cnonce="{cnonce}"', f"nc={nc}", "qop=auth"]
    else:
        response = md5(f"{ha1}:{p['nonce']}:{ha2}")
    parts.append(f'response="{response}"')
    if "opaque" in p:
        parts.append(f'opaque="{p["opaque"]}"')
    return "Digest " + ", ".join(parts)


@dataclass
class Dialog:
    """What every request of one call repeats."""

    uri: str
    from_user: str
    call_id: str
    from_tag: str
    to_tag: str = ""


class SipClient:
    """One UDP socket on 127.0.0.1 (port 0 = any) sending to a SIP server on loopback."""

    def __init__(self, server_port: int, *, local_port: int = 0, timeout: float = 5.0) -> None:
        self.server = ("127.0.0.1", server_port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", local_port))
        self.local_port: int = self.sock.getsockname()[1]
        self.timeout = timeout

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> SipClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _sdp(self) -> str:
        # PCMU on a port nobody listens on: enough for Asterisk to accept the offer.
        return (
            "v=0\r\n"
            f"o=- {int(time.time())} 1 IN IP4 127.0.0.1\r\n"
            "s=-\r\n"
            "c=IN IP4 127.0.0.1\r\n"
            "t=0 0\r\n"
            f"m=audio {self.local_port + 2} RTP/AVP 0 101\r\n"
            "a=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\n"
            "a=sendrecv\r\n"
        )

    def _request(
        self, method: str, d: Dialog, cseq: int, branch: str, *, auth: str = "", body: str = ""
    ) -> bytes:
        host = f"127.0.0.1:{self.local_port}"
        to = f"<{d.uri}>" + (f";tag={d.to_tag}" if d.to_tag else "")
        lines = [
            f"{method} {d.uri} SIP/2.0",
            f"Via: SIP/2.0/UDP {host};branch={branch};rport",
            "Max-Forwards: 70",
            f"From: <sip:{d.from_user}@127.0.0.1>;tag={d.from_tag}",
            f"To: {to}",
            f"Call-ID: {d.call_id}",
            f"CSeq: {cseq} {method}",
            f"Contact: <sip:{d.from_user}@{host}>",
            "User-Agent: confsvc-test-raw-sip",
        ]
        if auth:
            lines.append(f"Authorization: {auth}")
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body.encode())}")
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

    def _until_final(self, result: InviteResult) -> Response | None:
        """Collect responses until a final one (or the timeout): the last response."""
        deadline = time.monotonic() + self.timeout
        last = None
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                data, _ = self.sock.recvfrom(65535)
            except TimeoutError:
                break
            resp = parse(data)
            if resp is None or "INVITE" not in resp.header("cseq"):
                continue
            result.responses.append(resp)
            last = resp
            if resp.status >= FINAL:
                return resp
        return last

    def invite(self, room: str, from_user: str, *, password: str | None = None) -> InviteResult:
        """INVITE sip:<room>@server with an SDP. On a 401/407 challenge and a `password`,
        send it again with a digest for `from_user`. A call that gets answered (the defect
        these tests look for) is acknowledged and hung up at once."""
        d = Dialog(
            uri=f"sip:{room}@{self.server[0]}:{self.server[1]}",
            from_user=from_user,
            call_id=f"{secrets.token_hex(8)}@confsvc-test",
            from_tag=secrets.token_hex(4),
        )
        result = InviteResult()
        cseq, auth = 1, ""
        for _attempt in range(2):
            branch = "z9hG4bK" + secrets.token_hex(8)
            msg = self._request("INVITE", d, cseq, branch, auth=auth, body=self._sdp())
            self.sock.sendto(msg, self.server)
            final = self._until_final(result)
            if final is None or final.status < FINAL:
                return result  # no final answer in time: the caller's assertions decide
            d.to_tag = _tag(final.header("to"))
            if final.status < 300:
                self._hang_up(d, cseq)
                return result
            # A non-2xx final is ACKed in the same transaction (same branch).
            self.sock.sendto(self._request("ACK", d, cseq, branch), self.server)
            challenge = final.header("www-authenticate") or final.header("proxy-authenticate")
            if final.status not in (401, 407) or not challenge or password is None:
                return result
            auth = authorization(challenge, from_user, password, d.uri, "INVITE")
            cseq, d.to_tag = cseq + 1, ""
        return result

    def _hang_up(self, d: Dialog, cseq: int) -> None:
        for method, n in (("ACK", cseq), ("BYE", cseq + 1)):
            branch = "z9hG4bK" + secrets.token_hex(8)
            self.sock.sendto(self._request(method, d, n, branch), self.server)
        with contextlib.suppress(TimeoutError):  # the BYE's 200, not needed
            self.sock.settimeout(1)
            self.sock.recvfrom(65535)


def _tag(header: str) -> str:
    m = re.search(r";tag=([^;>\s]+)", header)
    return m.group(1) if m else ""
