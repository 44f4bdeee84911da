"""post_actions: what a caller removed from the room hears before the BYE. A kick (the
API's DELETE, `*` with hangup_on_star, a time limit, the conference ending, a connect
call's other side gone) makes the call `leaving`; for a caller that was in the room and a
conference with post_actions, kick.py hands the hangup over to `take_over`: the channel
leaves the bridge (the room hears no more of it, it hears no more of the room), the
actions run (engine/actions.py), then it is hung up and the leave events finish the job
as for any kick. A caller who hung up was never kicked: nothing is played."""

from __future__ import annotations

import structlog

from confsvc.ari import AriError
from confsvc.domain import Conferencecall, ConferencecallStatus
from confsvc.domain.actions import Action
from confsvc.engine import actions
from confsvc.engine.core import EngineCore

log = structlog.get_logger(__name__)


def take_over(core: EngineCore, call: Conferencecall) -> bool:
    """`call` was just kicked (leaving). True: the post actions run and hang it up (in the
    background: the lane goes on); False: the caller is hung up as usual."""
    if call.tm_join is None:  # never in the room (PIN entry, pre actions): nothing to say
        return False
    conf = core.rooms.conference(call.conference_id)
    if conf is None or not conf.post_actions:
        return False
    core.spawn(_goodbye(core, call, conf.post_actions))
    return True


async def _goodbye(core: EngineCore, call: Conferencecall, post: tuple[Action, ...]) -> None:
    channel_id = call.reference_id

    def present() -> bool:
        now = core.rooms.call(call.id)
        return now is not None and now.status is ConferencecallStatus.LEAVING

    try:
        await core.ari.remove_channel(call.conference_id, channel_id)
        log.info("post actions", call=call.id, conference=call.conference_id, count=len(post))
        await actions.run(core, call, post, "post", present)
    except AriError as exc:  # usually the caller hung up meanwhile
        log.info("post actions not played", call=call.id, error=str(exc))
    finally:
        await core.hangup(channel_id)
