"""The transcription rules of a conference and the transcribe model (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from confsvc.domain import InvalidTransition, ValidationFailed, create_conference
from confsvc.domain import conference_transcribe as ct
from confsvc.domain.transcribe import (
    create,
    create_transcript,
    primary_language,
    validate_language,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=1)


def test_one_at_a_time_only_while_progressing_history_kept() -> None:
    conf = create_conference(customer_id="c", now=T0, room="r")
    with pytest.raises(InvalidTransition):
        ct.started(conf, "t1", T1)  # starting: not yet
    conf = conf.start(T1)[0]
    on = ct.started(conf, "t1", T1)
    assert on.transcribe_id == "t1" and on.transcribe_ids == ("t1",) and on.tm_update == T1
    with pytest.raises(InvalidTransition) as second:
        ct.started(on, "t2", T1)
    assert second.value.code == "conference_invalid_state"
    assert ct.active(on) == "t1"
    off = ct.stopped(on, "t1", T1)
    assert off.transcribe_id is None and off.transcribe_ids == ("t1",)
    assert ct.stopped(off, "t1", T1) is off  # stale: no-op
    with pytest.raises(InvalidTransition):
        ct.active(off)
    again = ct.started(off, "t2", T1)
    assert again.transcribe_ids == ("t1", "t2")


def test_transcribe_true_starts_once() -> None:
    conf = create_conference(
        customer_id="c", now=T0, room="r", transcribe=True, transcribe_language="en-US"
    ).start(T1)[0]
    assert ct.wants_auto(conf)
    stopped = ct.stopped(ct.started(conf, "t1", T1), "t1", T1)
    assert not ct.wants_auto(stopped)  # stopped through the API: not restarted
    with pytest.raises(ValidationFailed) as no_lang:
        create_conference(customer_id="c", now=T0, room="r", transcribe=True)
    assert no_lang.value.field == "transcribe_language"
    with pytest.raises(ValidationFailed) as bad_type:
        create_conference(customer_id="c", now=T0, room="r", transcription_type="hybrid")
    assert bad_type.value.field == "transcription_type"


def test_terminating_stops_the_transcription() -> None:
    conf = create_conference(customer_id="c", now=T0, room="r").start(T1)[0]
    conf = ct.started(conf, "t1", T1)
    _, effects = conf.terminate(T1)
    assert [type(e).__name__ for e in effects].count("StopTranscribe") == 1


def test_language_tags_and_segments() -> None:
    assert validate_language("en-US") == "en-US" and primary_language("en-US") == "en"
    for bad in ("", "english please", "e", None, 5):
        with pytest.raises(ValidationFailed):
            validate_language(bad)
    tx = create(customer_id="c", conference_id="k", language="en", now=T0)
    done = tx.finish(T1)
    assert done.status.value == "done" and done.tm_end == T1 and done.finish(T1) is done
    with pytest.raises(InvalidTransition):
        tx.check_deletable()
    seg = create_transcript(
        transcribe=tx, conferencecall_id="cc", caller_number="1", caller_name="A",
        start_ms=10, end_ms=5, text="  hi  ", now=T1,
    )  # fmt: skip
    assert seg.text == "hi" and seg.end_ms == 10  # never ends before it starts
