"""A caller's audio from Asterisk: RTP (externalMedia, format slin16) on a UDP port of the
controller on 127.0.0.1, one port per transcribed call.

slin16 travels in network byte order (big-endian 16-bit); it is handed on little-endian,
as the VAD and the model read it, with the wall-clock time it arrived. Packets from any
other address than the one the first packet came from are ignored (nothing but our
Asterisk talks to this port; a stray sender cannot inject audio after the first packet)."""

from __future__ import annotations

import asyncio
import struct
import sys
import time
from collections.abc import Callable

HEADER = 12


def payload(packet: bytes) -> bytes | None:
    """The RTP payload of a packet (CSRCs, extension and padding skipped), or None."""
    if len(packet) < HEADER or packet[0] >> 6 != 2:
        return None
    csrc = packet[0] & 0x0F
    start = HEADER + 4 * csrc
    if packet[0] & 0x10:  # header extension
        if len(packet) < start + 4:
            return None
        (words,) = struct.unpack_from("!H", packet, start + 2)
        start += 4 + 4 * words
    end = len(packet)
    if packet[0] & 0x20 and end > start:  # padding
        end -= packet[-1]
    return packet[start:end] if end > start else None


def to_little_endian(pcm_be: bytes) -> bytes:
    if len(pcm_be) % 2:
        pcm_be = pcm_be[:-1]
    if sys.byteorder == "little":
        swapped = bytearray(pcm_be)
        swapped[0::2], swapped[1::2] = pcm_be[1::2], pcm_be[0::2]
        return bytes(swapped)
    return pcm_be


class RtpReceiver(asyncio.DatagramProtocol):
    def __init__(self, on_audio: Callable[[bytes, float], None]) -> None:
        self.on_audio = on_audio
        self.transport: asyncio.DatagramTransport | None = None
        self.peer: tuple[str, int] | None = None
        self.packets = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if self.peer is None:
            self.peer = addr
        elif addr != self.peer:
            return
        body = payload(data)
        if body:
            self.packets += 1
            self.on_audio(to_little_endian(body), time.time())

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def listen(on_audio: Callable[[bytes, float], None]) -> RtpReceiver:
    """A receiver on a free UDP port of 127.0.0.1."""
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_datagram_endpoint(
        lambda: RtpReceiver(on_audio), local_addr=("127.0.0.1", 0)
    )
    return proto
