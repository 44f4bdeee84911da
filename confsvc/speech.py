"""Text to speech for playing to callers: espeak-ng makes the words, sox makes them an
8 kHz mono WAV (what Asterisk's format_wav plays), and the file goes into a directory
under Asterisk's sounds directory, so the result is a plain sound name
(`confsvc-speech/<hash>`) that any feature can hand to `Engine.play`.

Files are cached by (text, language, voice): the same words are made once. espeak-ng and
sox run where Asterisk's files are: inside the runtime root (`chroot`) when Asterisk runs
there (CONFSVC_RUNTIME_ROOT, set by `asterisk/ctl env`), else on this host. The text goes
to espeak-ng on stdin, never through a shell or argv."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

SUBDIR = "confsvc-speech"
TEXT_MAX = 1000  # characters
RATE = 8000
VOICES = {"WOMAN": "+f3", "MAN": "+m3"}  # Plivo's voice names -> espeak-ng variants
LANGUAGE_RE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})?")
TIMEOUT = 30.0
# Exit codes of chroot / a shell meaning "not run": no such root, program missing.
NOT_RUN = frozenset((125, 126, 127))


class SpeechError(Exception):
    """field + message: a bad value (422) or speech that could not be made (503)."""

    def __init__(self, field: str, message: str, *, unavailable: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.unavailable = unavailable


@dataclass(frozen=True)
class SpeechConfig:
    """sounds_dir: Asterisk's sounds directory as Asterisk sees it; runtime_root: the
    root Asterisk runs in ("" = this host's /)."""

    sounds_dir: str
    runtime_root: str = ""


def check(text: object, language: object, voice: object) -> tuple[str, str, str]:
    """The validated (text, language, voice); SpeechError for a bad one."""
    if not isinstance(text, str) or not text.strip():
        raise SpeechError("text", "must be a non-empty string")
    if len(text) > TEXT_MAX:
        raise SpeechError("text", f"must be at most {TEXT_MAX} characters")
    if not isinstance(language, str) or not LANGUAGE_RE.fullmatch(language):
        raise SpeechError("language", "must be a language code such as en-US")
    if not isinstance(voice, str) or voice.upper() not in VOICES:
        raise SpeechError("voice", "must be WOMAN or MAN")
    return text, language.lower(), voice.upper()


def cache_key(text: str, language: str, voice: str) -> str:
    return hashlib.sha256(f"{language}\0{voice}\0{text}".encode()).hexdigest()[:40]


class Speech:
    def __init__(self, config: SpeechConfig) -> None:
        self.config = config
        self._locks: dict[str, asyncio.Lock] = {}

    def _inside(self, name: str) -> str:
        return f"{self.config.sounds_dir.rstrip('/')}/{SUBDIR}/{name}"

    def _host(self, inside: str) -> Path:
        return Path(self.config.runtime_root + inside if self.config.runtime_root else inside)

    def file_of(self, text: str, language: str, voice: str) -> Path:
        """Where these words' WAV is kept, on this host (made or not)."""
        return self._host(self._inside(cache_key(text, language, voice) + ".wav"))

    async def sound(self, text: str, language: str, voice: str) -> str:
        """The sound name of these words (made now unless cached). Arguments as `check`
        returns them."""
        key = cache_key(text, language, voice)
        final = self._inside(key + ".wav")
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if not self._host(final).exists():
                await self._make(text, language, voice, key, final)
        self._locks.pop(key, None)
        return f"{SUBDIR}/{key}"

    async def _make(self, text: str, language: str, voice: str, key: str, final: str) -> None:
        self._host(final).parent.mkdir(parents=True, exist_ok=True)
        # Own temporary names: another controller may share these sounds (one runtime).
        unique = f"{key}.{os.getpid()}.{secrets.token_hex(4)}"
        raw, tmp = self._inside(f".{unique}.raw.wav"), self._inside(f".{unique}.tmp.wav")
        try:
            for variant in dict.fromkeys((language, language.split("-")[0])):
                code = await self._run(
                    ["espeak-ng", "-v", variant + VOICES[voice], "-w", raw], text
                )
                if code == 0:
                    break
                if code in NOT_RUN:
                    raise SpeechError("text", "espeak-ng cannot run here", unavailable=True)
            else:  # espeak-ng ran and knows neither spelling
                raise SpeechError("language", f"no espeak-ng voice for {language!r}")
            args = ["sox", raw, "-r", str(RATE), "-c", "1", "-b", "16", tmp]
            if await self._run(args, "") != 0:
                raise SpeechError("text", "could not convert the speech", unavailable=True)
            os.replace(self._host(tmp), self._host(final))  # whole files only
        finally:
            for leftover in (raw, tmp):
                self._host(leftover).unlink(missing_ok=True)

    async def _run(self, args: list[str], stdin: str) -> int:
        """The exit code (NOT_RUN: the program could not be started)."""
        root = self.config.runtime_root
        argv = ["chroot", root, *args] if root else args
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
            )
        except OSError as exc:  # no such program on this host
            raise SpeechError("text", f"{args[0]} cannot run: {exc}", unavailable=True) from exc
        try:
            await asyncio.wait_for(proc.communicate(stdin.encode()), TIMEOUT)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise SpeechError("text", f"{args[0]} took too long", unavailable=True) from None
        return proc.returncode if proc.returncode is not None else -1
