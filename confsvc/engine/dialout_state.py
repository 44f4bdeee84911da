"""What the engine keeps in memory about dial-out calls (engine/dialout.py): which lane a
call's ARI events go to while it is open, and what was seen of its hangup."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DialoutState:
    # txn_ref (= ARI channel id) -> conference id (its lane), from just before the
    # originate until the call has ended.
    lanes: dict[str, str] = field(default_factory=dict)
    # txn_refs whose request is still being dialled by this process (queued ones not in
    # here after a restart were never dialled: reconcile ends them).
    queued: set[str] = field(default_factory=set)
    # txn_ref -> the cause of its ChannelHangupRequest (ChannelDestroyed's may be 0/16).
    causes: dict[str, int] = field(default_factory=dict)
    # txn_refs we hung up ourselves before they were answered (their conference ended).
    cancelled: set[str] = field(default_factory=set)

    def forget(self, txn_ref: str) -> None:
        self.lanes.pop(txn_ref, None)
        self.queued.discard(txn_ref)
        self.causes.pop(txn_ref, None)
        self.cancelled.discard(txn_ref)
