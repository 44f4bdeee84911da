"""The engine facade the server and the API use."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any, TypeVar

import structlog

from confsvc.ari import AriClient, AriError, Event
from confsvc.config import Settings
from confsvc.domain import Conference, Conferencecall, Recording
from confsvc.domain.record_block import RecordBlockRequest
from confsvc.domain.transcribe import Transcribe
from confsvc.engine import (
    commands,
    dialout,
    effects,
    health,
    kick,
    member,
    moderation,
    pin,
    reconcile,
    record,
    record_block,
    router,
    terminate,
    transcribe,
)
from confsvc.engine.core import EngineCore, Wiring
from confsvc.events.bus import Bus
from confsvc.outbound import OutboundPolicy
from confsvc.store.base import Store

log = structlog.get_logger(__name__)

T = TypeVar("T")


# Where the shared parts call back into: the effect interpreter and the timers' work.
WIRING = Wiring(
    apply=effects.apply,
    conference_timeout=terminate.timed_out,
    recording_timer=record.timer_expired,
    pin_timeout=pin.timed_out,
    time_limit=moderation.time_limit_reached,
    wait_sound_retry=moderation.retry_wait_sound,
)


class Engine(EngineCore):
    _health_task: asyncio.Task[None] | None = None

    def __init__(
        self,
        settings: Settings,
        store: Store,
        ari: AriClient,
        *,
        bus: Bus,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        super().__init__(settings, store, ari, wiring=WIRING, bus=bus, outbound=outbound)

    async def handle_event(self, event: Event) -> None:
        """EventStream handler: called once per ARI event, in arrival order."""
        await router.route(self, event)

    async def on_connect(self) -> None:
        """EventStream hook after every (re)connect, before that connection's events."""
        try:
            await self.ari.filter_events(router.HANDLED_EVENTS)
        except AriError as exc:  # only costs CPU: every event type keeps coming
            log.warning("ARI event filter not set", error=str(exc))
        await dialout.reconcile(self)  # first: dial-out channels waiting in Stasis
        await reconcile.reconcile(self)
        await dialout.tidy_rooms(self)  # dial-out rooms nobody uses any more

    def start_health_checks(self) -> None:
        interval = self.settings.health_interval
        self._health_task = asyncio.create_task(health.run(self, interval))

    async def _committed(self, command: Awaitable[T]) -> T:
        """An HTTP command answers once its change (and anything before it) is committed."""
        result = await command
        await self.writer.flush()
        return result

    async def close(self) -> None:
        if self._health_task is not None:
            self._health_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._health_task
        self.timers.close()
        self.recording_timers.close()
        self.members.close()
        for task in list(self.background):
            task.cancel()
        await asyncio.gather(*self.background, return_exceptions=True)
        await self.transcription.close()  # legs hung up, decoding workers ended
        await self.lanes.close()
        await self.writer.close()  # state changes and emitted events not stored yet

    # --- commands (the API) --------------------------------------------------------

    async def create_conference(self, customer_id: str, **fields: Any) -> Conference:
        if fields.get("transcribe") and isinstance(fields.get("transcribe_language"), str):
            # 422 now for a language the model cannot do, not at the first join.
            lang = fields["transcribe_language"]
            await self.transcription.check_language(lang, "transcribe_language")
        return await self._committed(commands.open_conference(self, customer_id, **fields))

    async def update_conference(
        self, customer_id: str, conference_id: str, **changes: Any
    ) -> Conference:
        return await self._committed(
            commands.update_conference(self, customer_id, conference_id, **changes)
        )

    async def delete_conference(self, customer_id: str, conference_id: str) -> Conference:
        return await self._committed(commands.delete_conference(self, customer_id, conference_id))

    async def kick(self, customer_id: str, conferencecall_id: str) -> Conferencecall:
        return await self._committed(kick.kick(self, customer_id, conferencecall_id))

    async def start_recording(
        self,
        customer_id: str,
        conference_id: str,
        *,
        format: str = "wav",
        max_duration: int = 0,
        beep: bool = False,
    ) -> Conference:
        return await self._committed(
            record.start(
                self,
                customer_id,
                conference_id,
                format=format,
                max_duration=max_duration,
                beep=beep,
            )
        )

    async def stop_recording(self, customer_id: str, conference_id: str) -> Conference:
        return await self._committed(record.stop(self, customer_id, conference_id))

    async def delete_recording(self, customer_id: str, recording_id: str) -> Recording:
        return await self._committed(record.delete(self, customer_id, recording_id))

    # --- transcription (engine/transcribe.py) ---------------------------------------

    async def start_transcribe(
        self, customer_id: str, conference_id: str, language: str
    ) -> Conference:
        return await self._committed(transcribe.start(self, customer_id, conference_id, language))

    async def stop_transcribe(self, customer_id: str, conference_id: str) -> Conference:
        return await self._committed(transcribe.stop(self, customer_id, conference_id))

    async def delete_transcribe(self, customer_id: str, transcribe_id: str) -> Transcribe:
        return await self._committed(transcribe.delete(self, customer_id, transcribe_id))

    # --- participant control (engine/member.py) ------------------------------------

    async def set_muted(self, customer_id: str, call_id: str, muted: bool) -> Conferencecall:
        return await self._committed(member.set_muted(self, customer_id, call_id, muted))

    async def set_deaf(self, customer_id: str, call_id: str, deaf: bool) -> Conferencecall:
        return await self._committed(member.set_deaf(self, customer_id, call_id, deaf))

    async def set_member_options(
        self, customer_id: str, call_id: str, changes: dict[str, Any]
    ) -> Conferencecall:
        return await self._committed(member.set_member_options(self, customer_id, call_id, changes))

    async def play(self, customer_id: str, call_id: str, media: object) -> Conferencecall:
        return await self._committed(member.play(self, customer_id, call_id, media))

    async def stop_play(self, customer_id: str, call_id: str) -> Conferencecall:
        return await self._committed(member.stop_play(self, customer_id, call_id))

    async def record_block(
        self, customer_id: str, call_id: str, req: RecordBlockRequest, media: list[str]
    ) -> dict[str, Any]:
        """The Hoiio Record block on a conferencecall (engine/record_block.py)."""
        return await self._committed(record_block.start(self, customer_id, call_id, req, media))

    # --- dial-out (engine/dialout.py) ------------------------------------------------

    async def place_calls(
        self, customer_id: str, body: dict[str, Any], conference_id: str | None = None
    ) -> dict[str, Any]:
        return await self._committed(
            dialout.place(self, customer_id, body, conference_id=conference_id)
        )
