"""Starting a transcription leg (transcribe/legs.py) when Asterisk is slow to put the snoop
channel into Stasis: addChannel is asked again (ari/stasis.py) instead of the caller going
untranscribed (seen on a busy CI box: 422 'Channel not in Stasis application')."""

from __future__ import annotations

from typing import Any

import pytest

from confsvc.ari import AriNotFound, AriUnprocessable, stasis
from confsvc.transcribe.legs import Leg, Legs


class SlowStasisAri:
    """addChannel refused `refusals` times, as while the snoop is not in Stasis yet."""

    def __init__(self, refusals: int, error: type[Exception] = AriUnprocessable) -> None:
        self.refusals = refusals
        self.error = error
        self.adds = 0
        self.hung_up: list[str] = []

    async def create_bridge(self, *a: Any, **kw: Any) -> None: ...
    async def external_media(self, *a: Any, **kw: Any) -> None: ...
    async def snoop(self, *a: Any, **kw: Any) -> None: ...
    async def destroy_bridge(self, *a: Any, **kw: Any) -> None: ...

    async def hangup(self, channel_id: str, *a: Any, **kw: Any) -> None:
        self.hung_up.append(channel_id)

    async def add_channel(self, bridge_id: str, channels: list[str], **kw: Any) -> None:
        self.adds += 1
        if self.adds <= self.refusals:
            raise self.error(422, "POST", f"/bridges/{bridge_id}/addChannel",
                             "Channel not in Stasis application")  # fmt: skip


async def nothing(*_: Any) -> None: ...


def leg() -> Leg:
    return Leg("call-1", "chan-1", "tx-1", "en-US", done=nothing, dropped=nothing)


async def test_add_is_asked_again_until_the_snoop_is_in_stasis() -> None:
    ari = SlowStasisAri(refusals=3)
    legs = Legs(ari, transcriber=None)  # type: ignore[arg-type]
    await legs.start(leg())
    assert ari.adds == 4 and legs.has("call-1")
    await legs.stop("call-1", flush=False)


async def test_gives_up_after_the_wait_and_undoes_the_leg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stasis, "WAIT_S", 0.1)
    monkeypatch.setattr(stasis, "RETRY_S", 0.02)
    ari = SlowStasisAri(refusals=1000)
    legs = Legs(ari, transcriber=None)  # type: ignore[arg-type]
    with pytest.raises(AriUnprocessable):
        await legs.start(leg())
    assert 2 <= ari.adds <= 7 and not legs.has("call-1")


async def test_other_refusals_are_not_retried() -> None:
    ari = SlowStasisAri(refusals=1, error=AriNotFound)
    legs = Legs(ari, transcriber=None)  # type: ignore[arg-type]
    with pytest.raises(AriNotFound):
        await legs.start(leg())
    assert ari.adds == 1
