"""Spoken sentences as a phone's microphone: espeak-ng (inside the runtime) makes the
speech, sox resamples it to 8 kHz, and the WAV is laid out with silences so a test knows
when, from the start of the call's audio, each sentence is spoken."""

from __future__ import annotations

import re
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.support.audio import RATE, read_wav
from tests.support.runtime import Runtime

THRESHOLD = 300.0  # |sample| above this counts as speech (espeak pads with true silence)


@dataclass(frozen=True)
class Spoken:
    text: str
    start: float  # seconds from the start of the file to the first spoken sample
    end: float  # ... to the last


def espeak(runtime: Runtime, text: str, dest: Path, speed: int = 140) -> np.ndarray:
    """The sentence as 8 kHz 16-bit mono samples (also left in dest)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    raw = dest.with_suffix(".raw.wav")
    inside_raw, inside = runtime.inside(raw), runtime.inside(dest)
    for argv in (
        ("espeak-ng", "-v", "en-us", "-s", str(speed), "-w", inside_raw, text),
        ("sox", inside_raw, "-r", str(RATE), "-c", "1", "-b", "16", inside),
    ):
        subprocess.run(runtime.command(*argv), check=True, capture_output=True, timeout=30)
    samples, rate = read_wav(dest)
    assert rate == RATE
    return samples


def microphone(
    runtime: Runtime, dest: Path, parts: list[float | str], tail: float = 40.0
) -> list[Spoken]:
    """Write dest: each float a silence of that many seconds, each str a sentence; then
    `tail` seconds of silence. Returns where each sentence is spoken."""
    out: list[np.ndarray] = []
    spoken: list[Spoken] = []
    pos = 0
    for i, part in enumerate(parts):
        if isinstance(part, str):
            samples = espeak(runtime, part, dest.parent / f"sentence{i}.wav")
            loud = np.flatnonzero(np.abs(samples) > THRESHOLD)
            spoken.append(Spoken(part, (pos + loud[0]) / RATE, (pos + loud[-1]) / RATE))
        else:
            samples = np.zeros(int(part * RATE))
        out.append(samples)
        pos += samples.size
    out.append(np.zeros(int(tail * RATE)))
    data = np.concatenate(out).clip(-32768, 32767).astype("<i2")
    with wave.open(str(dest), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data.tobytes())
    return spoken


_NUMBERS = {"10": "ten", "3": "three", "2": "two", "1": "one"}


def words(text: str) -> list[str]:
    found = re.findall(r"[a-z0-9']+", text.lower())
    return [_NUMBERS.get(w, w) for w in found]


def word_share(expected: str, heard: str) -> float:
    """The share of the expected words that were heard (each heard word counts once)."""
    pool = words(heard)
    hits = 0
    for w in words(expected):
        if w in pool:
            pool.remove(w)
            hits += 1
    return hits / max(len(words(expected)), 1)
