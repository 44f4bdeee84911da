"""The engine's shared state and the two things every transition does: persist the new
state in one transaction, then carry out the domain's effects against ARI."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from typing import TYPE_CHECKING, Any

import structlog

from confsvc.ari import AriClient, AriError, AriNotFound
from confsvc.config import Settings
from confsvc.domain import (
    ArmTimeout,
    Conference,
    Conferencecall,
    DestroyBridge,
    Effect,
    EjectChannel,
    KickCall,
    StopRecording,
)
from confsvc.domain import now as utcnow
from confsvc.engine.dialout_state import DialoutState
from confsvc.engine.dispatcher import Dispatcher
from confsvc.engine.member_state import MemberState
from confsvc.engine.timers import Timers
from confsvc.events import journal as events_journal
from confsvc.store.base import Store

if TYPE_CHECKING:
    from datetime import datetime

log = structlog.get_logger(__name__)


class EngineCore:
    """Dependencies and maps shared by the transition modules (join, leave, commands...)."""

    def __init__(self, settings: Settings, store: Store, ari: AriClient) -> None:
        self.settings = settings
        self.store = store
        self.ari = ari
        self.lanes = Dispatcher()
        self.timers = Timers(self._timer_expired)
        # max_duration of recordings, keyed by recording id (Asterisk's own limit only
        # checks whole seconds, so it can overrun by up to a second; this one is on time).
        self.recording_timers = Timers(self._recording_timer_expired)
        self.recording_conference: dict[str, str] = {}  # recording id -> its lane
        # recording id -> finish deadlines passed since Asterisk was asked to stop it
        # (engine/record_end.py); its timer is then the finish deadline.
        self.recording_stops: dict[str, int] = {}
        # channel id -> conferencecall id, for events that name only the channel.
        self.channels: dict[str, str] = {}
        # conferencecall id -> conference id (the lane of a call's events).
        self.call_conference: dict[str, str] = {}
        self.background: set[asyncio.Task[None]] = set()
        # channel id -> conference id while its admission waits in the lane.
        self.admitting: dict[str, str] = {}
        # playback id -> future resolved by PlaybackFinished (prompts we wait for).
        self.playbacks: dict[str, asyncio.Future[None]] = {}
        # recording id -> future resolved once it is finalized (recording_stop waits).
        self.recording_waiters: dict[str, asyncio.Future[None]] = {}
        # Participant control in memory: PIN entries, digits, time limits, wait sounds.
        self.members = MemberState(self)
        # Dial-out calls in memory: their lanes, hangup causes (engine/dialout.py).
        self.dialouts = DialoutState()
        # Every save now stores its events in the same transaction (confsvc/events).
        self.journal = events_journal.attach(store, settings)

    def now(self) -> datetime:
        return utcnow()

    def expect_playback(self, playback_id: str) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.playbacks[playback_id] = fut
        fut.add_done_callback(lambda _: self.playbacks.pop(playback_id, None))
        return fut

    def playback_finished(self, playback_id: str) -> None:
        fut = self.playbacks.get(playback_id)
        if fut is not None and not fut.done():
            fut.set_result(None)

    def expect_recording(self, recording_id: str) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.recording_waiters[recording_id] = fut
        fut.add_done_callback(lambda _: self.recording_waiters.pop(recording_id, None))
        return fut

    def recording_done(self, recording_id: str) -> None:
        fut = self.recording_waiters.get(recording_id)
        if fut is not None and not fut.done():
            fut.set_result(None)

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Work outside any lane (prompts before a hangup), kept so close() can end it."""
        task = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def lane_of_channel(self, channel_id: str) -> str | None:
        call_id = self.channels.get(channel_id)
        if call_id is not None and call_id in self.call_conference:
            return self.call_conference[call_id]
        return self.admitting.get(channel_id)

    def track(self, call: Conferencecall) -> None:
        self.channels[call.reference_id] = call.id
        self.call_conference[call.id] = call.conference_id

    def untrack(self, call: Conferencecall) -> None:
        self.channels.pop(call.reference_id, None)
        self.call_conference.pop(call.id, None)

    async def save(self, conf: Conference | None = None, *calls: Conferencecall) -> None:
        """One transaction: a conference and/or calls change together or not at all."""
        async with self.store.transaction() as tx:
            if conf is not None:
                await tx.save_conference(conf)
            for call in calls:
                await tx.save_conferencecall(call)

    async def apply(self, effects: Iterable[Effect]) -> None:
        """Carry out effects inside the current lane (never re-submit: that would wait on
        itself). ARI refusals for things already gone are expected races, not errors."""
        for effect in effects:
            match effect:
                case ArmTimeout(conference_id=cid, deadline=deadline):
                    self.timers.arm(cid, deadline)
                case KickCall(conferencecall_id=call_id):
                    await self.kick_inside_lane(call_id, strict=False)
                case EjectChannel(channel_id=channel_id):
                    await self.hangup(channel_id)
                case DestroyBridge(conference_id=cid):
                    self.timers.cancel(cid)
                    # The state change is already stored; a bridge Asterisk could not
                    # destroy now is removed by the next reconcile (stale bridges).
                    try:
                        await self.ari.destroy_bridge(cid)
                    except AriNotFound:
                        pass
                    except AriError as exc:
                        log.warning("bridge not destroyed", conference=cid, error=str(exc))
                case StopRecording(conference_id=cid, recording_id=rec_id):
                    from confsvc.engine import record

                    await record.stop_inside_lane(self, cid, rec_id, strict=False)
                case _:
                    log.warning("unknown effect", effect=effect)

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        try:
            await self.ari.hangup(channel_id, reason=reason)
        except AriNotFound:
            pass
        except AriError as exc:
            log.warning("hangup failed", channel=channel_id, error=str(exc))

    async def kick_inside_lane(self, call_id: str, *, strict: bool) -> Conferencecall | None:
        """leaving + eject. strict: the API's kick (refusals raise); effects skip quietly."""
        call = await self.store.get_conferencecall(call_id)
        if call is None:
            return None
        if not strict and not call.is_kickable:
            return call
        call, effects = call.leaving(self.now())
        await self.save(None, call)
        await self.apply(effects)
        return call

    def arm_recording_timer(
        self, recording_id: str, conference_id: str, deadline: datetime | None
    ) -> None:
        if deadline is None:
            self.cancel_recording_timer(recording_id)
            return
        self.recording_conference[recording_id] = conference_id
        self.recording_timers.arm(recording_id, deadline)

    def cancel_recording_timer(self, recording_id: str) -> None:
        self.recording_timers.cancel(recording_id)
        self.recording_conference.pop(recording_id, None)

    def _recording_timer_expired(self, recording_id: str) -> None:
        from confsvc.engine.record import timer_expired

        conference_id = self.recording_conference.pop(recording_id, None)
        if conference_id is None:
            return
        self.lanes.fire(conference_id, lambda: timer_expired(self, recording_id), "recording timer")

    def _timer_expired(self, conference_id: str) -> None:
        from confsvc.engine.commands import terminate_by_timeout

        self.lanes.fire(conference_id, lambda: terminate_by_timeout(self, conference_id), "timeout")
