"""A conference ends: DELETE, its timeout, the last moderator leaving, a connect call's
other side gone, an unused dial-out room. -> terminating, everyone kicked (effects);
terminated once the last caller has left, or at once when nobody is inside."""

from __future__ import annotations

import structlog

from confsvc.domain import Conference, ConferenceStatus, timeout_deadline
from confsvc.engine.core import EngineCore

log = structlog.get_logger(__name__)


async def terminate(core: EngineCore, conf: Conference) -> Conference:
    """Inside the conference's lane."""
    conf, effects = conf.terminate(core.now())
    await core.save(conf)
    log.info("conference ending", conference=conf.id, status=conf.status.value)
    await core.apply(effects)
    return (await core.conference(conf.id)) or conf


async def timed_out(core: EngineCore, conference_id: str) -> None:
    """The conference's timer fired (inside its lane): end it if its timeout is really
    over (it may have been changed meanwhile: then the timer is armed again)."""
    conf = await core.conference(conference_id)
    if conf is None or conf.status not in (ConferenceStatus.STARTING, ConferenceStatus.PROGRESSING):
        return
    deadline = timeout_deadline(conf)
    if deadline is None or deadline > core.now():
        core.timers.arm(conf.id, deadline)
        return
    log.info("conference timed out", conference=conf.id)
    await terminate(core, conf)
