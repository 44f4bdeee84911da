"""In-memory state of participant control, owned by the engine core (`core.members`):
PIN entries in progress, digit buffers, per-caller time limits, playbacks started through
the API, and what each room plays while callers wait. Nothing here is the truth: the
store is. After a restart it starts empty and reconcile re-arms what matters (time
limits, wait sounds; a caller half-way through a PIN is asked again)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from confsvc.domain.moderation import DigitBuffer, PinEntry
from confsvc.engine.timers import Timers

Expired = Callable[[str], None]


class MemberState:
    """The timers' expiries are given by the core (they fire into the lanes)."""

    def __init__(self, *, pin_timeout: Expired, time_limit: Expired, wait_retry: Expired) -> None:
        self.pins: dict[str, PinEntry] = {}  # call id -> its PIN entry so far
        self.prompts: dict[str, str] = {}  # call id -> playback id of its PIN prompt
        self.pin_timers = Timers(pin_timeout)  # keyed by call id
        self.time_limits = Timers(time_limit)  # keyed by call id
        self.digits: dict[str, DigitBuffer] = {}  # call id -> recent digits (digits_match)
        self.relay_held: dict[str, str] = {}  # call id -> digits not relayed yet (dtmf.py)
        self.plays: dict[str, set[str]] = {}  # call id -> playbacks started by the API
        self.play_owner: dict[str, str] = {}  # playback id -> call id
        self.wait: dict[str, str] = {}  # conference id -> wait sound playing ("" = none)
        self.wait_playback: dict[str, str] = {}  # conference id -> looping URL playback id
        # A failing wait sound URL (moderation.py): when the current play started (loop
        # time), failed plays in a row, the sound already reported, the retry timer.
        self.wait_started: dict[str, float] = {}
        self.wait_failures: dict[str, int] = {}
        self.wait_reported: dict[str, str] = {}
        self.wait_retry = Timers(wait_retry)  # keyed by conference id
        self._seq = itertools.count(1)

    def next_id(self, prefix: str, owner: str) -> str:
        return f"{prefix}-{owner}-{next(self._seq)}"

    def track_play(self, call_id: str, playback_id: str) -> None:
        self.plays.setdefault(call_id, set()).add(playback_id)
        self.play_owner[playback_id] = call_id

    def play_done(self, playback_id: str) -> None:
        call_id = self.play_owner.pop(playback_id, None)
        if call_id is not None:
            self.plays.get(call_id, set()).discard(playback_id)

    def forget_call(self, call_id: str) -> None:
        """The caller is gone: drop everything kept for it."""
        self.pins.pop(call_id, None)
        self.prompts.pop(call_id, None)
        self.digits.pop(call_id, None)
        self.relay_held.pop(call_id, None)
        self.pin_timers.cancel(call_id)
        self.time_limits.cancel(call_id)
        for playback_id in self.plays.pop(call_id, set()):
            self.play_owner.pop(playback_id, None)

    def wait_ended(self, conference_id: str) -> None:
        """The room's wait sound loop ends (stopped or changed): no retry, count anew."""
        self.wait_retry.cancel(conference_id)
        self.wait_started.pop(conference_id, None)
        self.wait_failures.pop(conference_id, None)

    def forget_conference(self, conference_id: str) -> None:
        self.wait.pop(conference_id, None)
        self.wait_playback.pop(conference_id, None)
        self.wait_reported.pop(conference_id, None)
        self.wait_ended(conference_id)

    def close(self) -> None:
        self.pin_timers.close()
        self.time_limits.close()
        self.wait_retry.close()
