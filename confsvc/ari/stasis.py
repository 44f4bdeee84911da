"""A channel made by a request (a snoop) enters Stasis on its own thread, after Asterisk
has answered the request: on a busy box the next request on it (addChannel, record) can
arrive first and be refused with "Channel not in Stasis application" (422 or 409).
`when_in_stasis` asks again for a short while instead of failing the feature."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from confsvc.ari.errors import AriConflict, AriUnprocessable

T = TypeVar("T")

WAIT_S = 2.0  # how long a new channel may take to enter Stasis
RETRY_S = 0.05


async def when_in_stasis(request: Callable[[], Awaitable[T]]) -> T:
    """request(), asked again every RETRY_S while Asterisk says the channel is not in
    Stasis, for at most WAIT_S; any other error, or that one after WAIT_S, is raised."""
    wait_s, retry_s = WAIT_S, RETRY_S  # read at call time (tests shorten them)
    waited = 0.0
    while True:
        try:
            return await request()
        except (AriUnprocessable, AriConflict) as exc:
            if "stasis" not in str(exc).lower() or waited >= wait_s:
                raise
        await asyncio.sleep(retry_s)
        waited += retry_s
