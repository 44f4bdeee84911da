"""Each transcribed caller's own voice reaches the controller: per call, an ARI snoop
channel (spy=in: what the caller sends, not the room's mix) and an externalMedia channel
(RTP, slin16, to a UDP port of ours on 127.0.0.1), bridged together in a small bridge.

    start(call)  -> UDP receiver on 127.0.0.1:<free port>; POST /channels/externalMedia
                    (id txleg-m-<call>); POST /channels/<call>/snoop (id txleg-s-<call>);
                    POST /bridges/txleg-b-<call> (mixing); addChannel both
    audio        -> Segmenter (VAD) -> each finished utterance to the Transcriber queue
    stop(call)   -> what was being said goes to the queue; both channels hung up, the
                    bridge destroyed, the port closed

All ids start with LEG_PREFIX: the router recognises the legs' own ARI events (their
StasisStart, bridge events, hangups) by it and never takes them for conference callers,
and reconcile leaves their bridges alone."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from confsvc.ari import AriClient, AriError, AriNotFound
from confsvc.ari.stasis import when_in_stasis
from confsvc.transcribe import rtp
from confsvc.transcribe.queue import Job, Transcriber
from confsvc.transcribe.vad import Segmenter, Utterance

log = structlog.get_logger(__name__)

LEG_PREFIX = "txleg-"


def is_leg(resource_id: str) -> bool:
    """A channel or bridge id of a transcription leg (never a conference caller's)."""
    return resource_id.startswith(LEG_PREFIX)


Done = Callable[["Leg", Utterance, str], Awaitable[None]]
Dropped = Callable[["Leg", Utterance], Awaitable[None]]


@dataclass
class Leg:
    """One transcribed call: who it is (for the segments), where its text goes (done;
    dropped: its utterance was dropped from a full queue) and its ARI/UDP parts."""

    conferencecall_id: str
    channel_id: str
    transcribe_id: str
    language: str
    done: Done
    dropped: Dropped
    segmenter: Segmenter = field(default_factory=Segmenter)
    receiver: rtp.RtpReceiver | None = None

    @property
    def media_id(self) -> str:
        return f"{LEG_PREFIX}m-{self.channel_id}"

    @property
    def snoop_id(self) -> str:
        return f"{LEG_PREFIX}s-{self.channel_id}"

    @property
    def bridge_id(self) -> str:
        return f"{LEG_PREFIX}b-{self.channel_id}"


class Legs:
    def __init__(self, ari: AriClient, transcriber: Transcriber) -> None:
        self.ari = ari
        self.transcriber = transcriber
        self.legs: dict[str, Leg] = {}  # conferencecall id -> leg

    def has(self, conferencecall_id: str) -> bool:
        return conferencecall_id in self.legs

    def of_transcribe(self, transcribe_id: str) -> list[Leg]:
        return [leg for leg in self.legs.values() if leg.transcribe_id == transcribe_id]

    async def start(self, leg: Leg) -> None:
        """Raises AriError when Asterisk refuses (the caller's hangup racing us): undone."""
        if leg.conferencecall_id in self.legs:
            return
        self.legs[leg.conferencecall_id] = leg
        try:
            leg.receiver = await rtp.listen(lambda pcm, at: self._audio(leg, pcm, at))
            await self.ari.create_bridge(leg.bridge_id, type="mixing", name=leg.bridge_id)
            await self.ari.external_media(leg.media_id, f"127.0.0.1:{leg.receiver.port}")
            await self.ari.snoop(leg.channel_id, leg.snoop_id, spy="in")
            # The snoop enters Stasis on its own thread: addChannel may have to wait.
            await when_in_stasis(
                lambda: self.ari.add_channel(leg.bridge_id, [leg.media_id, leg.snoop_id])
            )
        except (AriError, OSError):
            await self.stop(leg.conferencecall_id, flush=False)
            raise
        log.info("transcribing caller", call=leg.conferencecall_id, port=leg.receiver.port)

    def _audio(self, leg: Leg, pcm: bytes, at: float) -> None:
        for utt in leg.segmenter.feed(pcm, at):
            self._submit(leg, utt)

    def _submit(self, leg: Leg, utt: Utterance) -> None:
        async def done(u: Utterance, text: str) -> None:
            await leg.done(leg, u, text)

        async def dropped(u: Utterance) -> None:
            await leg.dropped(leg, u)

        self.transcriber.submit(Job(utt, leg.language, done, dropped))

    async def stop(self, conferencecall_id: str, *, flush: bool = True) -> None:
        leg = self.legs.pop(conferencecall_id, None)
        if leg is None:
            return
        if leg.receiver is not None:
            leg.receiver.close()
        if flush:
            last = leg.segmenter.flush()
            if last is not None:
                self._submit(leg, last)
        for channel_id in (leg.snoop_id, leg.media_id):
            with contextlib.suppress(AriError):
                await self.ari.hangup(channel_id)
        with contextlib.suppress(AriNotFound, AriError):
            await self.ari.destroy_bridge(leg.bridge_id)
        log.info("caller no longer transcribed", call=conferencecall_id)

    async def close(self) -> None:
        await asyncio.gather(
            *(self.stop(cid, flush=False) for cid in list(self.legs)), return_exceptions=True
        )
