"""The speech pipeline's parts without Asterisk: RTP payloads, the VAD's utterances, the
bounded queue (oldest dropped, never stalls) and the OpenAI-compatible backend against a
local aiohttp server (the local model is proven in tests/e2e/test_transcribe.py)."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import pytest
from aiohttp import web

from confsvc.config import Settings
from confsvc.outbound import OutboundPolicy
from confsvc.transcribe import rtp
from confsvc.transcribe.backends import BackendError, HttpBackend, from_settings
from confsvc.transcribe.queue import Job, Transcriber
from confsvc.transcribe.vad import FRAME_BYTES, RATE, Segmenter, Utterance


def voiced(seconds: float) -> np.ndarray:
    """A vowel-like sound: harmonics of a wavering 120 Hz pitch, amplitude-modulated."""
    t = np.arange(int(seconds * RATE)) / RATE
    phase = 2 * np.pi * np.cumsum(120 + 10 * np.sin(2 * np.pi * 3 * t)) / RATE
    sig = sum((1 / k) * np.sin(k * phase) for k in range(1, 20))
    return np.asarray(sig * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)) * 6000)


def silence(seconds: float) -> np.ndarray:
    return np.random.default_rng(0).normal(0, 30, int(seconds * RATE))


def test_rtp_payload_and_byte_order() -> None:
    header = struct.pack("!BBHII", 0x80, 118, 1, 160, 0x1234)
    body = struct.pack(">hh", 1000, -2)
    assert rtp.payload(header + body) == body
    assert rtp.to_little_endian(body) == struct.pack("<hh", 1000, -2)
    # one CSRC and a one-word header extension are skipped; padding is cut
    ext = struct.pack("!BBHII", 0x91, 118, 1, 160, 1) + b"\0\0\0\1" + b"\xbe\xde\0\1" + b"x" * 4
    assert rtp.payload(ext + body) == body
    padded = struct.pack("!BBHII", 0xA0, 118, 1, 160, 1) + body + b"\0\0\0\4"
    assert rtp.payload(padded) == body
    assert rtp.payload(b"\x00" * 20) is None  # not RTP version 2


def test_vad_cuts_one_utterance_with_its_times() -> None:
    audio = np.concatenate([silence(1.0), voiced(2.0), silence(1.5)]).astype("<i2").tobytes()
    seg = Segmenter()
    got: list[Utterance] = []
    t0 = 1000.0
    for i in range(0, len(audio), FRAME_BYTES):  # one 20 ms packet at a time, as RTP comes
        got += seg.feed(audio[i : i + FRAME_BYTES], t0 + (i + FRAME_BYTES) / 2 / RATE)
    (utt,) = got
    assert abs(utt.start - t0 - 1.0) < 0.1 and abs(utt.end - t0 - 3.0) < 0.2
    assert seg.flush() is None
    # speech still going when the caller leaves: flushed
    seg.feed(voiced(1.0).astype("<i2").tobytes(), t0 + 10)
    last = seg.flush()
    assert last is not None and last.end <= t0 + 10


class Blocking:
    """A backend whose decoding waits until released."""

    name = "local"

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.decoded: list[bytes] = []

    async def languages(self) -> frozenset[str] | None:
        return None

    async def transcribe(self, pcm: bytes, language: str) -> str:
        await self.release.wait()
        self.decoded.append(pcm)
        if pcm == b"boom":
            raise RuntimeError("model crashed")
        return pcm.decode()

    async def close(self) -> None:
        return None


async def test_a_full_queue_drops_the_oldest_utterance() -> None:
    backend = Blocking()
    q = Transcriber(backend, consumers=1, size=2)
    texts: list[str] = []
    dropped: list[bytes] = []

    async def done(u: Utterance, text: str) -> None:
        texts.append(text)

    async def drop(u: Utterance) -> None:
        dropped.append(u.pcm)

    for word in (b"one", b"boom", b"two", b"three", b"four"):
        q.submit(Job(Utterance(word, 0, 1), "en", done, drop))
        await asyncio.sleep(0)  # the consumer takes "one" at once and blocks on it
    assert dropped == [b"boom", b"two"] and q.dropped == 2
    backend.release.set()
    for _ in range(50):
        if len(texts) == 3:
            break
        await asyncio.sleep(0.01)
    assert texts == ["one", "three", "four"]
    await q.close()


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []

    async def handle(request: web.Request) -> web.Response:
        form = await request.post()
        upload = form["file"]
        assert isinstance(upload, web.FileField)
        seen.append(
            {
                "auth": request.headers.get("Authorization"),
                "model": form["model"],
                "language": form["language"],
                "wav": upload.file.read()[:4],
            }
        )
        return web.json_response({"text": " hello world "})

    app = web.Application()
    app.router.add_post("/v1/audio/transcriptions", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/v1/audio/transcriptions", seen
    finally:
        await runner.cleanup()


async def test_openai_compatible_backend(server: tuple[str, list[dict[str, Any]]]) -> None:
    url, seen = server
    settings = Settings(transcribe_url=url, transcribe_api_key="k-1", outbound_allow="127.0.0.1/32")
    backend = from_settings(settings, OutboundPolicy.from_settings(settings))
    assert isinstance(backend, HttpBackend)
    assert await backend.languages() is None
    assert await backend.transcribe(b"\0\0" * 1600, "en") == "hello world"
    assert seen == [{"auth": "Bearer k-1", "model": "whisper-1", "language": "en", "wav": b"RIFF"}]
    await backend.close()
    # the outbound policy applies: loopback not allowed -> refused, never sent
    closed = Settings(transcribe_url=url)
    refused = from_settings(closed, OutboundPolicy.from_settings(closed))
    with pytest.raises(BackendError, match="refused"):
        await refused.transcribe(b"\0\0" * 1600, "en")
    await refused.close()
    assert len(seen) == 1
