"""Where an utterance becomes text.

- LocalBackend (default): faster-whisper in a pool of worker processes (worker.py), each
  loading the model once; the event loop only awaits their answers.
- HttpBackend: an OpenAI-compatible `POST {url}` (`/v1/audio/transcriptions`: multipart
  `file` = a WAV, `model`, `language`; answer `{"text": ...}`), which self-hosted servers
  and hosted services speak. Through the outbound URL policy like every URL we call.

Both: `languages()` (None: not known, any tag is taken), `transcribe(pcm, language)`,
`close()`. pcm is 16 kHz 16-bit mono little-endian."""

from __future__ import annotations

import asyncio
import io
import json
import multiprocessing
import wave
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Protocol

import aiohttp

from confsvc.config import Settings
from confsvc.outbound import OutboundClient, OutboundPolicy, UrlNotAllowed
from confsvc.transcribe import worker

HTTP_TIMEOUT = 600.0  # a whole recording may take minutes
TEXT_LIMIT = 4 * 1024 * 1024  # bytes of a transcription server's answer read


class BackendError(Exception):
    """The utterance could not be transcribed (logged; the call goes on)."""


class Backend(Protocol):
    name: str

    async def languages(self) -> frozenset[str] | None: ...

    async def transcribe(self, pcm: bytes, language: str) -> str: ...

    async def transcribe_file(self, path: Path, language: str) -> str: ...

    async def close(self) -> None: ...


def wav_bytes(pcm: bytes, rate: int = worker.SAMPLE_RATE) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return buf.getvalue()


class LocalBackend:
    name = "local"

    def __init__(self, model_dir: str, workers: int, threads: int) -> None:
        self.model_dir = model_dir
        self.workers = workers
        self.threads = threads
        self._pool: ProcessPoolExecutor | None = None
        self._languages: frozenset[str] | None = None
        self._loading: asyncio.Lock = asyncio.Lock()

    async def _ready(self) -> ProcessPoolExecutor:
        """The pool, started on first use (a controller that never transcribes loads no
        model); its first answer waits for the model to load (about a second)."""
        async with self._loading:
            if self._pool is None:
                if self.model_dir and not (Path(self.model_dir) / "model.bin").is_file():
                    raise BackendError(f"no CTranslate2 model in {self.model_dir}")
                # spawn: the controller runs threads (aiosqlite); forking those is unsafe.
                self._pool = ProcessPoolExecutor(
                    self.workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=worker.load,
                    initargs=(self.model_dir, self.threads),
                )
                loop = asyncio.get_running_loop()
                try:
                    langs = await loop.run_in_executor(self._pool, worker.languages)
                except Exception as exc:
                    pool, self._pool = self._pool, None
                    pool.shutdown(wait=False, cancel_futures=True)
                    raise BackendError(f"speech model not loaded: {exc}") from exc
                self._languages = frozenset(langs)
            return self._pool

    async def languages(self) -> frozenset[str] | None:
        await self._ready()
        return self._languages

    async def transcribe(self, pcm: bytes, language: str) -> str:
        return await self._run(worker.decode, pcm, language)

    async def transcribe_file(self, path: Path, language: str) -> str:
        return await self._run(worker.decode_file, str(path), language)

    async def _run(self, fn: Callable[..., str], *args: object) -> str:
        pool = await self._ready()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(pool, fn, *args)
        except BrokenProcessPool as exc:  # a worker died (OOM, killed): a new pool next time
            async with self._loading:
                if self._pool is pool:
                    self._pool = None
                    pool.shutdown(wait=False, cancel_futures=True)
            raise BackendError(f"decoding worker died: {exc}") from exc
        except Exception as exc:
            raise BackendError(str(exc) or type(exc).__name__) from exc

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, True, cancel_futures=True)


class HttpBackend:
    name = "openai"

    def __init__(self, url: str, model: str, api_key: str, policy: OutboundPolicy) -> None:
        self.url = url
        self.model = model
        self.api_key = api_key
        self.client = OutboundClient(policy, timeout=HTTP_TIMEOUT)

    async def languages(self) -> frozenset[str] | None:
        return None  # the server decides; any well-formed tag is passed on

    async def transcribe(self, pcm: bytes, language: str) -> str:
        return await self._post(wav_bytes(pcm), "utterance.wav", "audio/wav", language)

    async def transcribe_file(self, path: Path, language: str) -> str:
        data = await asyncio.to_thread(path.read_bytes)
        ctype = "audio/mpeg" if path.suffix == ".mp3" else "audio/wav"
        return await self._post(data, path.name, ctype, language)

    async def _post(self, data: bytes, filename: str, ctype: str, language: str) -> str:
        form = aiohttp.FormData()
        form.add_field("file", data, filename=filename, content_type=ctype)
        form.add_field("model", self.model)
        form.add_field("language", language)
        form.add_field("response_format", "json")
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            status, body = await self.client.fetch("POST", self.url, headers, form, TEXT_LIMIT)
        except UrlNotAllowed as exc:  # CONFSVC_OUTBOUND_ALLOW must name a private server
            raise BackendError(f"transcription URL refused: {exc.message}") from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise BackendError(f"transcription request failed: {exc}") from exc
        if status != 200:
            raise BackendError(f"transcription server answered {status}")
        try:
            text = json.loads(body)["text"]
        except (ValueError, KeyError, TypeError) as exc:
            raise BackendError("transcription server sent no text") from exc
        return str(text).strip()

    async def close(self) -> None:
        await self.client.close()


def from_settings(settings: Settings, policy: OutboundPolicy) -> Backend:
    if settings.transcribe_url:
        return HttpBackend(
            settings.transcribe_url,
            settings.transcribe_remote_model,
            settings.transcribe_api_key,
            policy,
        )
    return LocalBackend(
        settings.transcribe_model, settings.transcribe_workers, settings.transcribe_threads
    )
