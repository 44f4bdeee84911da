"""Recording model: validation, forward-only transitions, JSON; the conference's record
fields; and the recording file helpers (WAV repair, truncation, MP3 encoding)."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import pytest

from confsvc.domain.conference import ConferenceStatus
from confsvc.domain.conference_create import create as create_conference
from confsvc.domain.errors import InvalidTransition, ValidationFailed
from confsvc.domain.recording import (
    FAILURE_REASONS,
    MAX_DURATION_LIMIT,
    NO_FILE,
    Recording,
    RecordingFormat,
    RecordingStatus,
    create,
    epoch_ms,
)
from confsvc.engine import audio
from tests.support.fake_ari import tone_wav

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(seconds=1)
T0_MS = 1714564800000
S = RecordingStatus


def make(**kw: object) -> Recording:
    return create(customer_id="cust-1", conference_id="conf-1", now=T0, **kw)  # type: ignore[arg-type]


# --- creation and validation -------------------------------------------------------------


def test_create_defaults() -> None:
    rec = make()
    assert rec.status is S.RECORDING and rec.is_active
    assert rec.format is RecordingFormat.WAV
    assert (rec.max_duration, rec.beep) == (MAX_DURATION_LIMIT, False)  # 24 h (issue 19)
    assert rec.start_ms == T0_MS == epoch_ms(T0)
    assert (rec.duration_ms, rec.size_bytes, rec.end_ms) == (0, 0, None)
    assert rec.tm_create == T0 and rec.tm_update is None
    assert rec.deadline == T0 + timedelta(seconds=MAX_DURATION_LIMIT)  # it stops at 24 h
    assert rec.filename == f"{rec.id}.wav" and rec.content_type == "audio/wav"


def test_create_mp3_with_limits() -> None:
    rec = make(format="mp3", max_duration=90, beep=True, id="rec-1")
    assert rec.id == "rec-1" and rec.format is RecordingFormat.MP3
    assert rec.filename == "rec-1.mp3" and rec.content_type == "audio/mpeg"
    assert rec.deadline == T0 + timedelta(seconds=90)
    assert rec.beep is True


@pytest.mark.parametrize("value", [1, 60, MAX_DURATION_LIMIT, 0])
def test_max_duration_accepted(value: int) -> None:
    assert make(max_duration=value).max_duration == (value or MAX_DURATION_LIMIT)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"format": "ogg"}, "format"),
        ({"format": "WAV"}, "format"),
        ({"format": None}, "format"),
        ({"max_duration": -1}, "max_duration"),
        ({"max_duration": MAX_DURATION_LIMIT + 1}, "max_duration"),
        ({"max_duration": True}, "max_duration"),
        ({"max_duration": 1.5}, "max_duration"),
        ({"max_duration": "10"}, "max_duration"),
        ({"beep": 1}, "beep"),
        ({"beep": "yes"}, "beep"),
    ],
)
def test_create_validates(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        make(**kwargs)
    assert exc.value.field == field and exc.value.http_status == 422
    assert exc.value.code == "invalid_field"


# --- transitions -------------------------------------------------------------------------


def test_finish() -> None:
    rec = make().finish(T1, duration_ms=1500, size_bytes=2400)
    assert rec.status is S.FINISHED and not rec.is_active
    assert (rec.duration_ms, rec.size_bytes) == (1500, 2400)
    assert rec.end_ms == T0_MS + 1500  # start + duration when no end is known
    assert rec.tm_update == T1


def test_finish_with_known_end() -> None:
    rec = make().finish(T1, duration_ms=900, size_bytes=1, end_ms=T0_MS + 1000)
    assert rec.end_ms == T0_MS + 1000
    earlier = make().finish(T1, duration_ms=900, size_bytes=1, end_ms=T0_MS - 5)
    assert earlier.end_ms == T0_MS  # never before the start


def test_fail() -> None:
    rec = make().fail(T1, NO_FILE)
    assert rec.status is S.FAILED and rec.end_ms == epoch_ms(T1) and rec.tm_update == T1
    assert rec.reason == "no_file" and rec.to_json("/r")["reason"] == "no_file"


@pytest.mark.parametrize("reason", FAILURE_REASONS)
def test_every_failure_reason_is_a_stable_code(reason: str) -> None:
    assert make().fail(T1, reason).reason == reason


def test_unknown_failure_reason_refused() -> None:
    with pytest.raises(ValueError, match="unknown failure reason"):
        make().fail(T1, "it broke")
    assert make().reason is None
    assert make().finish(T1, duration_ms=0, size_bytes=44).reason is None


@pytest.mark.parametrize("final", ["finished", "failed"])
def test_final_states_are_final(final: str) -> None:
    done = make().finish(T1, duration_ms=1, size_bytes=1)
    rec = done if final == "finished" else make().fail(T1, NO_FILE)
    for action in (
        lambda: rec.finish(T1, duration_ms=1, size_bytes=1),
        lambda: rec.fail(T1, NO_FILE),
    ):
        with pytest.raises(InvalidTransition) as exc:
            action()
        assert exc.value.code == "recording_invalid_state" and exc.value.http_status == 409


def test_negative_sizes_refused() -> None:
    with pytest.raises(ValueError):
        make().finish(T1, duration_ms=-1, size_bytes=0)


def test_delete_and_download_rules() -> None:
    rec = make()
    with pytest.raises(InvalidTransition, match="cannot delete"):
        rec.check_deletable()
    with pytest.raises(InvalidTransition, match="cannot download"):
        rec.check_downloadable()
    done = rec.finish(T1, duration_ms=1, size_bytes=1)
    done.check_deletable()
    done.check_downloadable()
    failed = make().fail(T1, NO_FILE)
    failed.check_deletable()
    with pytest.raises(InvalidTransition):
        failed.check_downloadable()


def test_model_is_frozen() -> None:
    with pytest.raises(ValueError):
        make().status = S.FINISHED  # type: ignore[misc]


# --- JSON --------------------------------------------------------------------------------


def test_to_json_shape() -> None:
    rec = make(format="mp3", max_duration=30, id="rec-1")
    assert rec.to_json("/v1/recordings") == {
        "id": "rec-1",
        "customer_id": "cust-1",
        "conference_id": "conf-1",
        "status": "recording",
        "format": "mp3",
        "max_duration": 30,
        "duration_ms": 0,
        "start_ms": T0_MS,
        "end_ms": None,
        "size_bytes": 0,
        "reason": None,  # only a failed recording has one
        "download_url": None,  # nothing to download yet
        "transcript": None,
        "tm_create": "2024-05-01T12:00:00.000000Z",
        "tm_update": None,
    }
    done = rec.finish(T1, duration_ms=1000, size_bytes=42).to_json("/v1/recordings/")
    assert done["download_url"] == "/v1/recordings/rec-1/file"
    assert done["status"] == "finished" and done["end_ms"] == T0_MS + 1000


# --- the conference's record fields --------------------------------------------------------


def test_conference_record_fields() -> None:
    conf = create_conference(customer_id="c", now=T0)
    assert conf.record is False and conf.record_format is RecordingFormat.WAV
    conf = create_conference(customer_id="c", now=T0, record=True, record_format="mp3")
    assert conf.record is True and conf.record_format is RecordingFormat.MP3
    j = conf.to_json("h")
    assert (j["record"], j["record_format"]) == (True, "mp3")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"record": 1}, "record"), ({"record_format": "flac"}, "record_format")],
)
def test_conference_record_validation(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as exc:
        create_conference(customer_id="c", now=T0, **kwargs)  # type: ignore[arg-type]
    assert exc.value.field == field


def test_wants_auto_record_only_once() -> None:
    conf = create_conference(customer_id="c", now=T0, record=True)
    assert not conf.wants_auto_record  # still starting
    conf, _ = conf.start(T0)
    assert conf.wants_auto_record
    conf, _ = conf.recording_started("r1", T1)
    assert not conf.wants_auto_record  # already recording
    conf, _ = conf.recording_stopped("r1", T1)
    assert not conf.wants_auto_record  # stopped by hand: not restarted by later joins
    plain, _ = create_conference(customer_id="c", now=T0).start(T0)
    assert not plain.wants_auto_record


def test_check_recording_active() -> None:
    conf, _ = create_conference(customer_id="c", now=T0).start(T0)
    with pytest.raises(InvalidTransition) as exc:
        conf.check_recording_active()
    assert exc.value.code == "conference_invalid_state"
    conf, _ = conf.recording_started("r1", T1)
    assert conf.check_recording_active() == "r1"
    assert conf.status is ConferenceStatus.PROGRESSING


# --- files ---------------------------------------------------------------------------------


def test_parse_wav_reads_what_asterisk_writes() -> None:
    pcm = audio.parse_wav(tone_wav(1.0))
    assert (pcm.rate, pcm.channels, pcm.sample_width) == (8000, 1, 2)
    assert pcm.frames == 8000 and pcm.duration_ms == 1000


def test_parse_wav_repairs_a_header_never_finished() -> None:
    """Asterisk killed mid-recording: the header still says 0 bytes of data."""
    raw = bytearray(tone_wav(0.5))
    data_at = raw.index(b"data")
    struct.pack_into("<I", raw, data_at + 4, 0)
    struct.pack_into("<I", raw, 4, 0)
    raw += b"\x01"  # and a torn last sample
    pcm = audio.parse_wav(bytes(raw))
    assert pcm.frames == 4000
    rebuilt = audio.parse_wav(audio.build_wav(pcm))
    assert rebuilt == pcm


def test_parse_wav_skips_other_chunks() -> None:
    raw = tone_wav(0.1)
    fmt_end = raw.index(b"data")
    with_list = raw[:fmt_end] + b"LIST" + struct.pack("<I", 3) + b"abc\x00" + raw[fmt_end:]
    assert audio.parse_wav(with_list).frames == 800


@pytest.mark.parametrize("raw", [b"", b"RIFF\x00\x00\x00\x00WAVE", b"ID3\x04" + b"\x00" * 40])
def test_parse_wav_refuses_non_wav(raw: bytes) -> None:
    with pytest.raises(audio.BadAudio):
        audio.parse_wav(raw)


def test_truncate_to_max_duration() -> None:
    pcm = audio.parse_wav(tone_wav(2.0))
    assert audio.truncate(pcm, 1500).duration_ms == 1500
    assert audio.truncate(pcm, 0) is pcm
    assert audio.truncate(pcm, 5000) is pcm
    data, ms = audio.convert(tone_wav(2.0), "wav", 1000)
    assert ms == 1000 and audio.parse_wav(data).frames == 8000


def test_convert_to_mp3_gives_mpeg_audio_frames() -> None:
    data, ms = audio.convert(tone_wav(1.0), "mp3")
    assert ms == 1000
    # An MPEG audio frame header: 11 sync bits, then layer III.
    assert data[0] == 0xFF and data[1] & 0xE0 == 0xE0
    assert (data[1] >> 1) & 0b11 == 0b01  # layer III
    assert 2000 < len(data) < 8000  # ~32 kbit/s for a second, far less than the WAV
    with pytest.raises(ValueError):
        audio.convert(tone_wav(0.1), "ogg")


def test_empty_recording_converts_to_mp3() -> None:
    # An empty room's recording is a bare WAV header; LAME must still give a file.
    data, ms = audio.convert(tone_wav(0.0), "mp3")
    assert ms == 0
    assert data[0] == 0xFF and data[1] & 0xE0 == 0xE0
