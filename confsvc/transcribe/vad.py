"""Utterances from a caller's audio: WebRTC's voice activity detector (webrtcvad-wheels).

Audio comes in as 20 ms frames of 16 kHz 16-bit mono PCM with the wall-clock time each
arrived. An utterance starts when most of the last START_FRAMES frames are voiced (the
frames just before are kept as lead-in), and ends after END_FRAMES frames of mostly
silence, or at MAX_SECONDS (cut: a monologue still becomes segments). Its start / end are
the arrival times of its first and last voiced frames (epoch seconds)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import webrtcvad

RATE = 16000
FRAME_MS = 20
FRAME_BYTES = RATE * FRAME_MS // 1000 * 2  # 640
START_FRAMES = 10  # 200 ms window to decide speech started
START_VOICED = 0.6
END_FRAMES = 35  # 700 ms window to decide it ended (espeak's pauses between words are shorter)
END_UNVOICED = 0.9
MAX_SECONDS = 15.0
MIN_VOICED_FRAMES = 10  # shorter blips (a click, a cough) are no utterance


@dataclass(frozen=True)
class Utterance:
    pcm: bytes  # 16 kHz 16-bit mono little-endian
    start: float  # epoch seconds of its first voiced frame
    end: float  # epoch seconds of its last voiced frame


class Segmenter:
    def __init__(self, aggressiveness: int = 2) -> None:
        self._vad = webrtcvad.Vad(aggressiveness)
        self._buf = bytearray()
        self._ring: deque[tuple[bytes, float, bool]] = deque(maxlen=END_FRAMES)
        self._frames: list[bytes] = []
        self._voiced = 0
        self._start = 0.0
        self._last_voiced = 0.0
        self._active = False

    def feed(self, pcm: bytes, at: float) -> list[Utterance]:
        """Add audio that arrived at `at` (epoch seconds); the utterances it finished."""
        self._buf += pcm
        out: list[Utterance] = []
        n = len(self._buf) // FRAME_BYTES
        for i in range(n):
            frame = bytes(self._buf[i * FRAME_BYTES : (i + 1) * FRAME_BYTES])
            # Frames of one packet share its arrival; spread them back over its length.
            t = at - (n - 1 - i) * FRAME_MS / 1000
            done = self._frame(frame, t)
            if done is not None:
                out.append(done)
        del self._buf[: n * FRAME_BYTES]
        return out

    def flush(self) -> Utterance | None:
        """The caller left or transcription stopped: what was being said, if anything."""
        utt = self._finish() if self._active else None
        self._ring.clear()
        return utt

    def _frame(self, frame: bytes, t: float) -> Utterance | None:
        voiced = self._vad.is_speech(frame, RATE)
        self._ring.append((frame, t, voiced))
        if not self._active:
            recent = list(self._ring)[-START_FRAMES:]
            if len(recent) == START_FRAMES and sum(v for _, _, v in recent) >= (
                START_VOICED * START_FRAMES
            ):
                self._active = True
                self._frames = [f for f, _, _ in recent]
                first = next((ts for _, ts, v in recent if v), t)
                self._start = first - FRAME_MS / 1000
                self._voiced = sum(v for _, _, v in recent)
                self._last_voiced = t
                self._ring.clear()
            return None
        self._frames.append(frame)
        if voiced:
            self._voiced += 1
            self._last_voiced = t
        unvoiced = sum(not v for _, _, v in self._ring)
        ended = len(self._ring) == END_FRAMES and unvoiced >= END_UNVOICED * END_FRAMES
        if ended or len(self._frames) * FRAME_MS / 1000 >= MAX_SECONDS:
            return self._finish()
        return None

    def _finish(self) -> Utterance | None:
        frames, voiced = self._frames, self._voiced
        self._active = False
        self._frames = []
        self._voiced = 0
        self._ring.clear()
        if voiced < MIN_VOICED_FRAMES:
            return None
        return Utterance(b"".join(frames), self._start, self._last_voiced)
