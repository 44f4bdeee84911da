"""The engine's shared state and the two things every transition does: persist the new
state in one transaction, then carry out the domain's effects against ARI."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from confsvc.ari import AriClient, AriError, AriNotFound
from confsvc.config import Settings
from confsvc.domain import Conference, Conferencecall, Effect
from confsvc.domain import now as utcnow
from confsvc.engine.dialout_state import DialoutState
from confsvc.engine.dispatcher import Dispatcher
from confsvc.engine.member_state import MemberState
from confsvc.engine.rooms import Rooms
from confsvc.engine.timers import Timers
from confsvc.events.bus import Bus
from confsvc.outbound import OutboundPolicy
from confsvc.speech import Speech, SpeechConfig
from confsvc.store.base import UNKNOWN, Store
from confsvc.transcribe.service import Transcription

if TYPE_CHECKING:
    from datetime import datetime

log = structlog.get_logger(__name__)


Transition = Callable[["EngineCore", str], Awaitable[None]]
T = TypeVar("T")


@dataclass(frozen=True)
class Wiring:
    """What the shared parts call back into, given from the top (engine.py): the effect
    interpreter and what each timer runs in its lane. So core.py imports no transition
    module, and the transition modules import no interpreter."""

    apply: Callable[[EngineCore, Iterable[Effect]], Awaitable[None]]
    conference_timeout: Transition  # conference id
    recording_timer: Transition  # recording id
    pin_timeout: Transition  # conferencecall id
    time_limit: Transition  # conferencecall id
    wait_sound_retry: Transition  # conference id


class EngineCore:
    """Dependencies and maps shared by the transition modules (join, leave, commands...)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        ari: AriClient,
        *,
        wiring: Wiring,
        bus: Bus,
        outbound: OutboundPolicy | None = None,
    ) -> None:
        self.wiring = wiring
        # Events that are not state changes (DTMF, a failing wait sound); state changes
        # are journalled by the store itself (events/wiring.py).
        self.bus = bus
        self.settings = settings
        self.store = store
        self.ari = ari
        # Every URL a request brings (notify/callback URLs, media Asterisk fetches).
        self.outbound = outbound or OutboundPolicy.from_settings(settings)
        self.lanes = Dispatcher()
        self.timers = Timers(self._timer_expired)
        # max_duration of recordings, keyed by recording id (Asterisk's own limit only
        # checks whole seconds, so it can overrun by up to a second; this one is on time).
        self.recording_timers = Timers(self._recording_timer_expired)
        self.recording_conference: dict[str, str] = {}  # recording id -> its lane
        # The live conferences and calls, in memory (written by save() only).
        self.rooms = Rooms()
        # The one group-commit writer, shared with the bus: state changes and emitted
        # events commit in the order they happened.
        self.writer = bus.writer
        # recording id -> finish deadlines passed since Asterisk was asked to stop it
        # (engine/record_end.py); its timer is then the finish deadline.
        self.recording_stops: dict[str, int] = {}
        self.background: set[asyncio.Task[Any]] = set()
        # channel id -> its early answer (engine/admission.py): sent as the caller's
        # StasisStart arrives, while its room is looked up or brought up; taken by answer().
        self.answers: dict[str, asyncio.Task[AriError | None]] = {}
        # channel id -> conference id while its admission waits in the lane.
        self.admitting: dict[str, str] = {}
        # playback id -> future resolved by PlaybackFinished with its state (prompts we
        # wait for).
        self.playbacks: dict[str, asyncio.Future[str]] = {}
        # Speech for talk actions (engine/actions.py); the same cache as Plivo Speak's.
        self.speech = Speech(SpeechConfig(settings.asterisk_sounds_dir, settings.runtime_root))
        # conferencecall id -> the digits of a digits_receive action being waited for.
        self.action_digits: dict[str, asyncio.Queue[str]] = {}
        # recording id -> future resolved once it is finalized (recording_stop waits).
        self.recording_waiters: dict[str, asyncio.Future[None]] = {}
        # Participant control in memory: PIN entries, digits, time limits, wait sounds.
        self.members = MemberState(
            pin_timeout=lambda call_id: self._call_timer(call_id, wiring.pin_timeout, "pin"),
            time_limit=lambda call_id: self._call_timer(call_id, wiring.time_limit, "limit"),
            wait_retry=lambda cid: self.lanes.fire(
                cid, lambda: wiring.wait_sound_retry(self, cid), "wait retry"
            ),
        )
        # conferencecall id -> its running Hoiio Record block's id (engine/record_block.py).
        self.record_blocks: dict[str, str] = {}
        # Dial-out calls in memory: their lanes, hangup causes (engine/dialout.py).
        self.dialouts = DialoutState()
        # Live transcription: speech backend, decoding queue, per-call legs (issue 13).
        self.transcription = Transcription(settings, ari, self.outbound)

    def now(self) -> datetime:
        return utcnow()

    def expect_playback(self, playback_id: str) -> asyncio.Future[str]:
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.playbacks[playback_id] = fut
        fut.add_done_callback(lambda _: self.playbacks.pop(playback_id, None))
        return fut

    def playback_finished(self, playback_id: str, state: str = "done") -> None:
        fut = self.playbacks.get(playback_id)
        if fut is not None and not fut.done():
            fut.set_result(state)

    def expect_recording(self, recording_id: str) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.recording_waiters[recording_id] = fut
        fut.add_done_callback(lambda _: self.recording_waiters.pop(recording_id, None))
        return fut

    def recording_done(self, recording_id: str) -> None:
        fut = self.recording_waiters.get(recording_id)
        if fut is not None and not fut.done():
            fut.set_result(None)

    async def settle(self) -> None:
        """Every lane idle and every write committed (tests, shutdown)."""
        await self.lanes.drain()
        await self.writer.flush()

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Work outside any lane (prompts before a hangup), kept so close() can end it."""
        task = asyncio.get_running_loop().create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        return task

    def answer_early(self, channel_id: str) -> None:
        """Answer a dialled caller now; its admission takes the outcome (answer())."""
        self.answers[channel_id] = self.spawn(self._answer(channel_id))

    async def answer(self, channel_id: str) -> None:
        """Answer a caller: the early answer's outcome when one was sent, else now."""
        early = self.answers.pop(channel_id, None)
        error = await early if early is not None else await self._answer(channel_id)
        if error is not None:
            raise error

    async def _answer(self, channel_id: str) -> AriError | None:
        # The error is returned, not raised: an early answer nobody takes (the caller was
        # refused meanwhile) must not leave an exception unretrieved.
        try:
            await self.ari.answer(channel_id)
        except AriError as exc:
            return exc
        return None

    @property
    def channels(self) -> dict[str, str]:
        """channel id -> conferencecall id of every live call."""
        return self.rooms.channels

    @property
    def call_conference(self) -> dict[str, str]:
        """conferencecall id -> conference id of every live call (derived; tests)."""
        return {c.id: c.conference_id for c in self.rooms.calls.values()}

    def lane_of_channel(self, channel_id: str) -> str | None:
        lane = self.rooms.lane_of_call(self.rooms.channels.get(channel_id, ""))
        return lane if lane is not None else self.admitting.get(channel_id)

    async def conference(self, id: str, customer_id: str | None = None) -> Conference | None:
        """A live conference from memory; an ended one from the store."""
        found = self.rooms.conference(id, customer_id)
        if found is not None:
            return found
        await self.writer.flush()  # it may have ended a moment ago
        return await self.store.get_conference(id, customer_id)

    async def conferencecall(
        self, id: str, customer_id: str | None = None
    ) -> Conferencecall | None:
        """A live conferencecall from memory; a leaved one from the store."""
        found = self.rooms.call(id, customer_id)
        if found is not None:
            return found
        await self.writer.flush()
        return await self.store.get_conferencecall(id, customer_id)

    def save(
        self, conf: Conference | None = None, *calls: Conferencecall, fresh: bool = False
    ) -> asyncio.Future[None]:
        """A conference and/or calls change together: memory now, the store in the next
        group commit (one transaction, so all or nothing). The versions they replace come
        from memory (the events are derived from both). fresh: the calls are new. The
        future is done once committed: HTTP commands wait for it, ARI events need not."""
        rooms = self.rooms
        context = conf or (rooms.conference(calls[0].conference_id) if calls else None)
        old_conf = rooms.conferences.get(conf.id, UNKNOWN) if conf is not None else None
        changes = [(c, None if fresh else rooms.calls.get(c.id, UNKNOWN)) for c in calls]

        async def write(tx: Store) -> None:
            if conf is not None:
                await tx.save_conference(conf, old_conf)
            for call, old in changes:
                await tx.save_conferencecall(call, old, context)

        if conf is not None:
            rooms.remember(conf)
        for call in calls:
            rooms.remember_call(call)
        committed = self.writer.submit(write)

        def undo(fut: asyncio.Future[None]) -> None:
            """The store refused: what nothing has built on since goes back in memory, so
            a failed command leaves no half-applied change."""
            if fut.cancelled() or fut.exception() is None:
                return
            if conf is not None and rooms.conferences.get(conf.id) is conf:
                rooms.forget(conf)
                if isinstance(old_conf, Conference):
                    rooms.remember(old_conf)
            for call, old in changes:
                if rooms.calls.get(call.id) is call:
                    rooms.forget_call(call)
                    if isinstance(old, Conferencecall):
                        rooms.remember_call(old)

        committed.add_done_callback(undo)
        return committed

    async def apply(self, effects: Iterable[Effect]) -> None:
        """Carry out a transition's effects (engine/effects.py, wired from the top)."""
        await self.wiring.apply(self, effects)

    async def hangup(self, channel_id: str, reason: str = "normal") -> None:
        self.answers.pop(channel_id, None)
        try:
            await self.ari.hangup(channel_id, reason=reason)
        except AriNotFound:
            pass
        except AriError as exc:
            log.warning("hangup failed", channel=channel_id, error=str(exc))

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
        conference_id = self.recording_conference.pop(recording_id, None)
        if conference_id is None:
            return
        expired = self.wiring.recording_timer
        self.lanes.fire(conference_id, lambda: expired(self, recording_id), "recording timer")

    def _call_timer(self, call_id: str, work: Transition, what: str) -> None:
        """A caller's timer fired: its work goes to the call's conference lane."""
        conference_id = self.rooms.lane_of_call(call_id)
        if conference_id is not None:
            self.lanes.fire(conference_id, lambda: work(self, call_id), what)

    def _timer_expired(self, conference_id: str) -> None:
        timed_out = self.wiring.conference_timeout
        self.lanes.fire(conference_id, lambda: timed_out(self, conference_id), "timeout")
