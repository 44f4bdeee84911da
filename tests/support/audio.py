"""Known tones in, FFT band energy out: how the tests prove who heard whom."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 8000


def write_tone(path: Path, freq: float, seconds: float, amplitude: float = 0.4) -> None:
    """An 8 kHz mono 16-bit sine WAV (baresip's aufile source plays it as the microphone)."""
    t = np.arange(int(RATE * seconds)) / RATE
    samples = (amplitude * 32767 * np.sin(2 * np.pi * freq * t)).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(samples.tobytes())


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        rate = w.getframerate()
        channels = w.getnchannels()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1)
    return data, rate


def band_energy(samples: np.ndarray, rate: int, freq: float, width: float = 25.0) -> float:
    """Share of the signal's spectral energy within freq ± width Hz (0..1)."""
    if samples.size == 0:
        return 0.0
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size))) ** 2
    freqs = np.fft.rfftfreq(samples.size, 1 / rate)
    total = spectrum.sum()
    if total <= 0:
        return 0.0
    return float(spectrum[(freqs >= freq - width) & (freqs <= freq + width)].sum() / total)


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


def tone_share(path: Path, freq: float, skip_seconds: float = 0.5) -> float:
    """Band energy of freq in a recorded WAV, ignoring the first moments of the call."""
    data, rate = read_wav(path)
    return band_energy(data[int(skip_seconds * rate) :], rate, freq)


# Thresholds from the probe: the other's tone held ~0.55 of the spectrum, one's own ~0.004.
HEARD = 0.05
ABSENT = 0.02
