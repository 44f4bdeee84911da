"""pre_actions / post_actions survive the store (migration 12) on both backends, and a
PUT-style change of them is saved over the old row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from confsvc.domain import create_conference
from tests.conftest import StoreMaker

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PRE = [
    {"type": "talk", "option": {"text": "Welcome", "language": "en-US"}},
    {"type": "play", "media": "https://media.example/hello.wav"},
    {"type": "digits_receive", "length": 4, "timeout": 7.5},
]


async def test_actions_round_trip_and_change(make_store: StoreMaker) -> None:
    conf = create_conference(
        customer_id="cust-1", now=T0, room="acts", pre_actions=PRE,
        post_actions=[{"type": "beep"}, {"type": "pause", "seconds": 1.5}],
    )  # fmt: skip
    async with make_store() as store:
        await store.create_conference(conf)
        got = await store.get_conference(conf.id)
        assert got == conf
        assert got is not None and got.to_json("")["pre_actions"][2] == {
            "type": "digits_receive",
            "option": {"length": 4, "timeout": 7.5},
        }
        changed, _ = conf.update(T0 + timedelta(seconds=1), pre_actions=[], post_actions=None)
        await store.save_conference(changed, conf)
    async with make_store() as again:  # another process / a restart reads the same
        got = await again.get_conference(conf.id)
        assert got is not None and got.pre_actions == () and got.post_actions == conf.post_actions
