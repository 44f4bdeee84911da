"""The interpreter of the domain's effects (plain data returned by transitions): timers,
kicks, hang-ups, bridge teardown, recording stops. Wired into the engine by engine.py;
transitions call `core.apply(effects)` and never import this module, so it may import
the transitions it runs (kick, record) without a circle.

Runs inside the current lane (never re-submits: that would wait on itself). ARI refusals
for things already gone are expected races, not errors."""

from __future__ import annotations

from collections.abc import Iterable

import structlog

from confsvc.ari import AriError, AriNotFound
from confsvc.domain import ArmTimeout, DestroyBridge, Effect, EjectChannel, KickCall, StopRecording
from confsvc.domain.conference_effects import StopTranscribe
from confsvc.engine import record, transcribe
from confsvc.engine.core import EngineCore
from confsvc.engine.kick import kick_in_lane

log = structlog.get_logger(__name__)


async def apply(core: EngineCore, effects: Iterable[Effect]) -> None:
    for effect in effects:
        match effect:
            case ArmTimeout(conference_id=cid, deadline=deadline):
                core.timers.arm(cid, deadline)
            case KickCall(conferencecall_id=call_id):
                await kick_in_lane(core, call_id, strict=False)
            case EjectChannel(channel_id=channel_id):
                await core.hangup(channel_id)
            case DestroyBridge(conference_id=cid):
                core.timers.cancel(cid)
                # The state change is already saved; a bridge Asterisk could not destroy
                # now is removed by the next reconcile (stale bridges).
                try:
                    await core.ari.destroy_bridge(cid)
                except AriNotFound:
                    pass
                except AriError as exc:
                    log.warning("bridge not destroyed", conference=cid, error=str(exc))
            case StopRecording(conference_id=cid, recording_id=rec_id):
                await record.stop_inside_lane(core, cid, rec_id, strict=False)
            case StopTranscribe(conference_id=cid, transcribe_id=tx_id):
                await transcribe.stop_inside_lane(core, cid, tx_id)
            case _:
                log.warning("unknown effect", effect=effect)
