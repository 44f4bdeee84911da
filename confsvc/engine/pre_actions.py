"""pre_actions: what a caller hears before it enters the room. The caller is `joining`
(its conferencecall is stored, the room counts it), answered and kept outside the bridge
while the actions run (engine/actions.py), so the room does not hear them and the caller
does not hear the room; then it is added to the bridge and ChannelEnteredBridge makes it
`joined`. A hang-up meanwhile ends as any leave (the leave events; the actions stop).

Called instead of join.connect for rooms with pre_actions (after settle_entry, so a
caller muted on entry is muted already), and from entry.enter_room after a right PIN.
Rooms without pre_actions never come here."""

from __future__ import annotations

import structlog

from confsvc.ari import AriError
from confsvc.domain import Conference, Conferencecall, ConferencecallStatus
from confsvc.engine import actions
from confsvc.engine.core import EngineCore

log = structlog.get_logger(__name__)


async def enter(
    core: EngineCore, conf: Conference, call: Conferencecall, *, answered: bool
) -> None:
    """Outside the lane (it lasts as long as the actions): answer unless `answered`, the
    actions, then into the bridge with absorbDTMF."""
    channel_id = call.reference_id

    def present() -> bool:
        now = core.rooms.call(call.id)
        return now is not None and now.status is ConferencecallStatus.JOINING

    try:
        if not answered:
            await core.answer(channel_id)
        log.info("pre actions", call=call.id, conference=conf.id, count=len(conf.pre_actions))
        await actions.run(core, call, conf.pre_actions, "pre", present)
        if not present():
            log.info("caller gone during its pre actions", call=call.id, conference=conf.id)
            return
        await core.ari.add_channel(conf.id, channel_id, absorb_dtmf=True)
    except AriError as exc:  # usually the caller hung up: its leave events follow
        log.info("could not bridge caller", call=call.id, error=str(exc))
