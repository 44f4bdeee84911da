"""Recording files: read the WAV Asterisk made, turn it into what we store (a WAV with a
correct header, or an MP3 made with LAME through `lameenc`), write it atomically.

Blocking work (encoding, disk): callers run these in a thread (asyncio.to_thread).

Asterisk writes the WAV header's sizes when it closes the file; a recording cut short by
an Asterisk crash keeps the sizes it started with (0). So the data chunk is taken as
"the rest of the file" when its declared size is 0 or larger than what is there."""

from __future__ import annotations

import contextlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import lameenc

MP3_QUALITY = 5  # LAME's 0 (best, slowest) .. 9; 5 is plenty for speech
ENCODE_CHUNK_SECONDS = 10  # encode in slices: the GIL is released between them


class BadAudio(ValueError):
    """Not a PCM WAV file we can read."""


@dataclass(frozen=True, slots=True)
class Pcm:
    rate: int
    channels: int
    sample_width: int  # bytes per sample
    data: bytes

    @property
    def frames(self) -> int:
        return len(self.data) // (self.channels * self.sample_width)

    @property
    def duration_ms(self) -> int:
        return self.frames * 1000 // self.rate if self.rate else 0


def parse_wav(raw: bytes) -> Pcm:
    """The PCM of a RIFF/WAVE file (format 1, any rate, 16-bit expected from Asterisk)."""
    if len(raw) < 12 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise BadAudio("not a RIFF/WAVE file")
    pos = 12
    fmt: tuple[int, int, int, int] | None = None
    while pos + 8 <= len(raw):
        chunk_id = raw[pos : pos + 4]
        (size,) = struct.unpack_from("<I", raw, pos + 4)
        body = pos + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + 16 > len(raw):
                raise BadAudio("short fmt chunk")
            tag, channels, rate, _, _, bits = struct.unpack_from("<HHIIHH", raw, body)
            fmt = (tag, channels, rate, bits)
        elif chunk_id == b"data":
            if fmt is None:
                raise BadAudio("data chunk before fmt chunk")
            tag, channels, rate, bits = fmt
            if tag != 1 or bits not in (8, 16, 24, 32) or channels < 1 or rate < 1:
                raise BadAudio(f"unsupported WAV format (tag {tag}, {bits} bits)")
            available = len(raw) - body
            length = available if size == 0 or size > available else size
            width = bits // 8
            length -= length % (width * channels)  # a torn last frame
            return Pcm(rate, channels, width, raw[body : body + length])
        pos = body + size + (size & 1)  # chunks are word-aligned
    raise BadAudio("no data chunk")


def build_wav(pcm: Pcm) -> bytes:
    """A canonical 44-byte-header WAV around the PCM."""
    block = pcm.channels * pcm.sample_width
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(pcm.data),
        b"WAVE",
        b"fmt ",
        16,
        1,
        pcm.channels,
        pcm.rate,
        pcm.rate * block,
        block,
        pcm.sample_width * 8,
        b"data",
        len(pcm.data),
    )
    return header + pcm.data


def mp3_bitrate(rate: int, channels: int) -> int:
    """kbps: 32 for 8 kHz mono speech (what Asterisk records), more for wider audio."""
    per_channel = 32 if rate <= 16000 else 64
    return per_channel * min(channels, 2)


def encode_mp3(pcm: Pcm) -> bytes:
    """MP3 (LAME, CBR) of 16-bit PCM."""
    if pcm.sample_width != 2:
        raise BadAudio("mp3 encoding needs 16-bit PCM")
    if pcm.channels > 2:
        raise BadAudio("mp3 encoding needs mono or stereo PCM")
    enc = lameenc.Encoder()
    enc.set_in_sample_rate(pcm.rate)
    enc.set_channels(pcm.channels)
    enc.set_bit_rate(mp3_bitrate(pcm.rate, pcm.channels))
    enc.set_quality(MP3_QUALITY)
    step = pcm.rate * pcm.channels * 2 * ENCODE_CHUNK_SECONDS
    out = bytearray()
    try:
        # At least one encode call: LAME refuses to flush an encoder that never
        # encoded, and an empty room's recording has no samples at all.
        for start in range(0, max(len(pcm.data), 1), step):
            out += enc.encode(pcm.data[start : start + step])
        out += enc.flush()
    except RuntimeError as exc:
        raise BadAudio(f"mp3 encoding failed: {exc}") from exc
    return bytes(out)


def truncate(pcm: Pcm, max_ms: int) -> Pcm:
    """At most max_ms of audio (0: all of it)."""
    if max_ms <= 0 or pcm.duration_ms <= max_ms:
        return pcm
    frames = pcm.rate * max_ms // 1000
    keep = frames * pcm.channels * pcm.sample_width
    return Pcm(pcm.rate, pcm.channels, pcm.sample_width, pcm.data[:keep])


def convert(raw_wav: bytes, fmt: str, max_ms: int = 0) -> tuple[bytes, int]:
    """(file bytes in `fmt`, duration in ms) from the WAV Asterisk recorded, cut to at
    most max_ms (0: no limit)."""
    pcm = truncate(parse_wav(raw_wav), max_ms)
    if fmt == "mp3":
        return encode_mp3(pcm), pcm.duration_ms
    if fmt == "wav":
        return build_wav(pcm), pcm.duration_ms
    raise ValueError(f"unknown recording format {fmt!r}")


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, fsync, rename: never a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
