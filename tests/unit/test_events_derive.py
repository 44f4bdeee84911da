"""derive(old, new): the events of one state change, as a table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from confsvc.domain import (
    Conference,
    Conferencecall,
    ConferencecallStatus,
    ConferenceStatus,
    Recording,
    RecordingStatus,
    create_conference,
    create_conferencecall,
    create_recording,
)
from confsvc.events.derive import EVENT_TYPES, derive

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=1)
CS = ConferenceStatus
PS = ConferencecallStatus


def conf(**changes: Any) -> Conference:
    c = create_conference(customer_id="cust-1", now=T0, room="r1", id="conf-1")
    return c.model_copy(update=changes)


def call(**changes: Any) -> Conferencecall:
    c = create_conferencecall(
        conference_id="conf-1", customer_id="cust-1", reference_id="chan-1", now=T0, id="cc-1"
    )
    return c.model_copy(update=changes)


def rec(**changes: Any) -> Recording:
    r = create_recording(customer_id="cust-1", conference_id="conf-1", now=T0)
    return r.model_copy(update=changes)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # conference
        (None, conf(), ["conference_created"]),
        (None, conf(status=CS.TERMINATED), ["conference_created", "conference_deleted"]),
        (conf(), conf(status=CS.PROGRESSING), ["conference_updated"]),
        (conf(status=CS.PROGRESSING), conf(status=CS.TERMINATING), ["conference_updated"]),
        (conf(status=CS.TERMINATING), conf(status=CS.TERMINATED), ["conference_deleted"]),
        (conf(status=CS.PROGRESSING), conf(status=CS.TERMINATED), ["conference_deleted"]),
        (conf(), conf(conferencecall_ids=("cc-1",)), ["conference_updated"]),
        (conf(), conf(recording_id="rec-1"), ["conference_updated"]),
        (conf(), conf(name="new name"), ["conference_updated"]),
        (conf(), conf(notify_url="http://x.test/"), ["conference_updated"]),
        (conf(), conf(tm_update=T1), []),  # nothing visible changed
        (conf(), conf(), []),
        (conf(status=CS.TERMINATED), conf(status=CS.TERMINATED, tm_update=T1), []),
        # conferencecall
        (None, call(), ["conferencecall_joining"]),
        (None, call(status=PS.JOINED), ["conferencecall_joined"]),
        (call(), call(status=PS.JOINED), ["conferencecall_joined"]),
        (call(status=PS.JOINED), call(status=PS.LEAVING), ["conferencecall_leaving"]),
        (call(status=PS.LEAVING), call(status=PS.LEAVED), ["conferencecall_leaved"]),
        (call(status=PS.JOINED), call(status=PS.LEAVED), ["conferencecall_leaved"]),
        (call(status=PS.JOINED), call(status=PS.JOINED, muted=True), ["conferencecall_muted"]),
        (call(muted=True), call(muted=False), ["conferencecall_unmuted"]),
        (call(), call(talking=True), ["conferencecall_talking_started"]),
        (call(talking=True), call(talking=False), ["conferencecall_talking_stopped"]),
        (
            call(status=PS.JOINED, talking=True),
            call(status=PS.LEAVED, talking=False),
            ["conferencecall_leaved", "conferencecall_talking_stopped"],
        ),
        (None, call(muted=True), ["conferencecall_joining", "conferencecall_muted"]),
        (call(), call(deaf=True), ["conferencecall_updated"]),
        (call(), call(health_failures=1), []),  # internal bookkeeping only
        (call(), call(tm_update=T1), []),
        # recording
        (None, rec(), ["recording_started"]),
        (rec(), rec(status=RecordingStatus.FINISHED), ["recording_finished"]),
        (rec(), rec(status=RecordingStatus.FAILED), ["recording_finished"]),
        (rec(status=RecordingStatus.FINISHED), rec(status=RecordingStatus.FINISHED), []),
        (rec(), rec(tm_update=T1), []),
    ],
)
def test_derive_table(old: Any, new: Any, expected: list[str]) -> None:
    assert derive(old, new) == expected
    assert set(expected) <= set(EVENT_TYPES)


def test_derive_is_pure_and_refuses_mixed_types() -> None:
    old, new = conf(), conf(status=CS.PROGRESSING)
    before = (old.model_dump(), new.model_dump())
    assert derive(old, new) == derive(old, new)
    assert (old.model_dump(), new.model_dump()) == before
    with pytest.raises(TypeError):
        derive(conf(), call())  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        derive(None, "nothing")  # type: ignore[arg-type]


def test_every_required_type_is_known() -> None:
    required = {
        "conference_created",
        "conference_updated",
        "conference_deleted",
        "conferencecall_joining",
        "conferencecall_joined",
        "conferencecall_leaving",
        "conferencecall_leaved",
        "conferencecall_muted",
        "conferencecall_unmuted",
        "conferencecall_talking_started",
        "conferencecall_talking_stopped",
        "conferencecall_digits",
        "recording_started",
        "recording_finished",
    }
    assert required <= set(EVENT_TYPES)
    assert len(EVENT_TYPES) == len(set(EVENT_TYPES))
