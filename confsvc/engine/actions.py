"""Runs a list of actions (domain/actions.py) for one caller, on its own channel, outside
any lane (pre_actions.py: on the way in; post_actions.py: on the way out).

    talk            speech.Speech makes the words (cached), played as a sound
    play            sound:<name> as is; an http(s) URL through the outbound policy
                    (check_media), then Asterisk fetches it (engine/media.py)
    beep            sound:beep
    pause           silence for n seconds
    digits_receive  the caller's DTMF (dtmf.received hands each digit over while the
                    action waits) -> conferencecall_digits

An action that cannot be carried out (speech not made, a URL refused or unreachable, a
playback `failed`) is skipped: the rest run, and `conferencecall_action_failed` says which
and why. The list stops when the caller is gone (`present` says false), and after
TOTAL_SECONDS_MAX in all (speech and sounds have no length known before they play)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog

from confsvc.ari import AriError
from confsvc.domain import Conferencecall
from confsvc.domain.actions import SOUND_PREFIX, TOTAL_SECONDS_MAX, Action
from confsvc.engine.core import EngineCore
from confsvc.engine.media import check_media, media_uris
from confsvc.outbound import UrlNotAllowed
from confsvc.speech import SpeechError

log = structlog.get_logger(__name__)

POLL_SECONDS = 0.25  # how often a waiting action looks whether the caller is still there
FAILED_EVENT = "conferencecall_action_failed"
DIGITS_EVENT = "conferencecall_digits"

Present = Callable[[], bool]
T = TypeVar("T")


class Skipped(Exception):
    """The action could not be carried out (reason: the message)."""


async def run(
    core: EngineCore,
    call: Conferencecall,
    actions: tuple[Action, ...],
    phase: str,
    present: Present,
) -> None:
    """Each action in turn while `present()`; never raises for a caller who went away."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TOTAL_SECONDS_MAX
    for index, action in enumerate(actions):
        left = deadline - loop.time()
        if not present():
            return
        if left <= 0:
            log.info("actions over their time: rest skipped", call=call.id, phase=phase)
            return
        try:
            await asyncio.wait_for(_one(core, call, action, present), left)
        except Skipped as exc:
            if present():
                _report(core, call, phase, index, action, str(exc))
        except TimeoutError:
            log.info("actions over their time: rest skipped", call=call.id, phase=phase)
            return


def _report(
    core: EngineCore, call: Conferencecall, phase: str, index: int, action: Action, why: str
) -> None:
    log.info("action skipped", call=call.id, phase=phase, index=index, type=action.type, why=why)
    data: dict[str, Any] = {
        **call.to_json(),
        "phase": phase,
        "index": index,
        "action": action.to_json(),
        "reason": why,
    }
    core.bus.emit(FAILED_EVENT, call.customer_id, data)


async def _one(core: EngineCore, call: Conferencecall, action: Action, present: Present) -> None:
    o = action.option
    match action.type:
        case "talk":
            try:
                sound = await core.speech.sound(o["text"], o["language"].lower(), o["voice"])
            except SpeechError as exc:
                raise Skipped(f"speech not made: {exc.message}") from None
            await _play(core, call, ["sound:" + sound], present)
        case "play":
            await _play(core, call, await _media(core, o["media"]), present)
        case "beep":
            await _play(core, call, ["sound:beep"], present)
        case "pause":
            await _wait(asyncio.sleep(o["seconds"]), present)
        case "digits_receive":
            await _digits(core, call, o["length"], o["timeout"], present)


async def _media(core: EngineCore, media: str) -> list[str]:
    if media.startswith(SOUND_PREFIX):
        return [media]
    try:
        await check_media(core.outbound, "media", media)  # again: DNS may have changed
    except UrlNotAllowed as exc:
        raise Skipped(exc.message) from None
    return media_uris(media)


async def _play(core: EngineCore, call: Conferencecall, media: list[str], present: Present) -> None:
    playback_id = core.members.next_id("action", call.id)
    finished = core.expect_playback(playback_id)
    state: str | None = None
    try:
        await core.ari.play_on_channel(call.reference_id, media, playback_id=playback_id)
        state = await _wait(finished, present)
    except AriError as exc:
        raise Skipped(f"not played: {exc}") from None
    finally:
        finished.cancel()  # forgotten (done already: no effect)
        if state is None:  # the caller went, or the time is over: stop it
            await _stop(core, playback_id)
    if state == "failed":
        raise Skipped("not played: the playback failed (unreachable, missing or not audio)")


async def _stop(core: EngineCore, playback_id: str) -> None:
    try:
        await core.ari.stop_playback(playback_id)
    except AriError:
        pass  # already over with its channel


async def _wait(work: Awaitable[T], present: Present) -> T | None:
    """`work`'s result, or None as soon as the caller is gone."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=POLL_SECONDS)
            if done:
                return task.result()
            if not present():
                return None
    finally:
        if not task.done():
            task.cancel()


async def _digits(
    core: EngineCore, call: Conferencecall, length: int, timeout: float, present: Present
) -> None:
    queue: asyncio.Queue[str] = asyncio.Queue()
    core.action_digits[call.id] = queue
    digits = ""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    try:
        while len(digits) < length and loop.time() < deadline and present():
            try:
                wait = min(POLL_SECONDS, deadline - loop.time())
                digits += await asyncio.wait_for(queue.get(), max(wait, 0.0))
            except TimeoutError:
                continue
    finally:
        core.action_digits.pop(call.id, None)
    if digits and present():
        log.info("digits received", call=call.id, digits=digits)
        data = {**call.to_json(), "digits": digits, "action": "digits_receive"}
        core.bus.emit(DIGITS_EVENT, call.customer_id, data)
