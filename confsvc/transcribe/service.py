"""One Transcription per engine: the backend, the queue in front of it and the legs.

Made with the engine (nothing heavy: a local model's worker processes start on first use).
`check_language` is what transcribe_start asks (422 for a language the model cannot do)."""

from __future__ import annotations

from confsvc.ari import AriClient
from confsvc.config import Settings
from confsvc.domain import DomainError, ValidationFailed
from confsvc.domain.transcribe import primary_language, validate_language
from confsvc.outbound import OutboundPolicy
from confsvc.transcribe import backends
from confsvc.transcribe.legs import Legs
from confsvc.transcribe.queue import Transcriber

HTTP_CONSUMERS = 4  # utterances in flight to a transcription server at once


class Transcription:
    def __init__(
        self,
        settings: Settings,
        ari: AriClient,
        policy: OutboundPolicy,
        backend: backends.Backend | None = None,
    ) -> None:
        """backend: replaces the one the settings choose (tests)."""
        self.backend = backend or backends.from_settings(settings, policy)
        consumers = settings.transcribe_workers if self.backend.name == "local" else HTTP_CONSUMERS
        self.transcriber = Transcriber(
            self.backend, consumers=consumers, size=settings.transcribe_queue
        )
        self.legs = Legs(ari, self.transcriber)

    async def check_language(self, tag: str, field: str = "language") -> str:
        """The model's name for the language of `tag` ("en-US" -> "en"); 422 when the
        loaded model cannot do it (503 when the model cannot be loaded at all)."""
        lang = primary_language(validate_language(tag, field))
        try:
            known = await self.backend.languages()
        except backends.BackendError as exc:
            raise SpeechUnavailable(str(exc)) from exc
        if known is not None and lang not in known:
            some = ", ".join(sorted(known)[:10])
            raise ValidationFailed(field, f"the speech model cannot do {tag!r} (it does: {some})")
        return lang

    async def close(self) -> None:
        await self.legs.close()
        await self.transcriber.close()


class SpeechUnavailable(DomainError):
    """The speech model could not be loaded: nothing was started (503)."""

    code = "transcription_unavailable"
    http_status = 503
