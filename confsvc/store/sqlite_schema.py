"""The SQLite schema (migrations) and the mapping between rows and domain models."""

from __future__ import annotations

import json
from datetime import datetime
from enum import Enum
from typing import Any

import msgspec
from pydantic import BaseModel

from confsvc.domain.conference import Conference
from confsvc.domain.conferencecall import Conferencecall
from confsvc.domain.errors import ValidationFailed
from confsvc.domain.ids import from_iso, to_iso
from confsvc.store.sqlite_calls import CALLS_MEMBER_OPTIONS, CALLS_SCHEMA
from confsvc.store.sqlite_events import EVENTS_SCHEMA, TENANT_SEQ_SCHEMA
from confsvc.store.sqlite_ops import Row
from confsvc.store.sqlite_recordings import (
    RECORDINGS_REASON_SCHEMA,
    RECORDINGS_SCHEMA,
    RECORDINGS_TRANSCRIPT_SCHEMA,
)
from confsvc.store.sqlite_transcribes import TRANSCRIBES_SCHEMA
from confsvc.store.sqlite_webhooks import WEBHOOKS_SCHEMA

# Each migration is (version, statements); append new ones, never edit applied ones.
MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE conferences (
                id TEXT PRIMARY KEY,
                customer_id TEXT NOT NULL,
                type TEXT NOT NULL,
                status TEXT NOT NULL,
                name TEXT NOT NULL,
                detail TEXT NOT NULL,
                room TEXT NOT NULL,
                timeout INTEGER NOT NULL,
                max_participants INTEGER NOT NULL,
                data TEXT NOT NULL,
                conferencecall_ids TEXT NOT NULL,
                recording_id TEXT,
                recording_ids TEXT NOT NULL,
                tm_create TEXT NOT NULL,
                tm_update TEXT,
                tm_delete TEXT
            )""",
            # The room rule lives here: only live conferences hold their room.
            """CREATE UNIQUE INDEX ux_conferences_live_room
                ON conferences (customer_id, room) WHERE status != 'terminated'""",
            """CREATE INDEX ix_conferences_dialin
                ON conferences (room) WHERE status != 'terminated'""",
            """CREATE INDEX ix_conferences_customer_page
                ON conferences (customer_id, tm_create DESC, id DESC)""",
            """CREATE TABLE conferencecalls (
                id TEXT PRIMARY KEY,
                customer_id TEXT NOT NULL,
                conference_id TEXT NOT NULL,
                reference_type TEXT NOT NULL,
                reference_id TEXT NOT NULL,
                status TEXT NOT NULL,
                caller_number TEXT NOT NULL,
                caller_name TEXT NOT NULL,
                health_failures INTEGER NOT NULL DEFAULT 0,
                tm_create TEXT NOT NULL,
                tm_update TEXT,
                tm_delete TEXT
            )""",
            """CREATE INDEX ix_conferencecalls_customer_page
                ON conferencecalls (customer_id, tm_create DESC, id DESC)""",
            """CREATE INDEX ix_conferencecalls_conference
                ON conferencecalls (conference_id, tm_create)""",
            """CREATE INDEX ix_conferencecalls_live
                ON conferencecalls (conference_id) WHERE status != 'leaved'""",
        ],
    ),
    (
        2,
        [
            "ALTER TABLE conferences ADD COLUMN record INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE conferences ADD COLUMN record_format TEXT NOT NULL DEFAULT 'wav'",
            *RECORDINGS_SCHEMA,
        ],
    ),
    (
        3,
        [
            # Participant control (issue 5): conference options as one JSON object (all
            # immutable, read as a whole), the floor holder, and each caller's controls.
            "ALTER TABLE conferences ADD COLUMN options TEXT NOT NULL DEFAULT '{}'",
            "ALTER TABLE conferences ADD COLUMN floor_conferencecall_id TEXT",
            "ALTER TABLE conferencecalls ADD COLUMN role TEXT NOT NULL DEFAULT 'participant'",
            "ALTER TABLE conferencecalls ADD COLUMN muted INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE conferencecalls ADD COLUMN deaf INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE conferencecalls ADD COLUMN talking INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE conferencecalls ADD COLUMN held INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE conferencecalls ADD COLUMN pin_entry INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE conferencecalls ADD COLUMN tm_join TEXT",
        ],
    ),
    (
        4,
        [
            # Events (issue 6): where a conference reports to, the event stream, webhooks.
            "ALTER TABLE conferences ADD COLUMN notify_url TEXT",
            "ALTER TABLE conferences ADD COLUMN notify_method TEXT NOT NULL DEFAULT 'POST'",
            "ALTER TABLE conferences ADD COLUMN callback_url TEXT",
            "ALTER TABLE conferences ADD COLUMN callback_method TEXT NOT NULL DEFAULT 'POST'",
            *EVENTS_SCHEMA,
            *WEBHOOKS_SCHEMA,
        ],
    ),
    # Dial-out (issue 8): one row per destination of a dial-out request.
    (5, [*CALLS_SCHEMA]),
    (
        6,
        [
            # A live room is unique across tenants (dial-in names no tenant): room_in_use.
            # Rooms two tenants held at once before this (dial-in refused them as
            # ambiguous) keep their tenant in legacy_room_tenant so the index can be
            # built; create_conference refuses their room to anyone until they end.
            "ALTER TABLE conferences ADD COLUMN legacy_room_tenant TEXT NOT NULL DEFAULT ''",
            """UPDATE conferences SET legacy_room_tenant = customer_id
                WHERE status != 'terminated' AND room IN (
                    SELECT room FROM conferences WHERE status != 'terminated'
                    GROUP BY room HAVING COUNT(*) > 1)""",
            """CREATE UNIQUE INDEX ux_conferences_live_room_any
                ON conferences (room, legacy_room_tenant) WHERE status != 'terminated'""",
        ],
    ),
    # Event seq per tenant (issue 11).
    (7, [*TENANT_SEQ_SCHEMA]),
    # Recordings always end (issue 11): a failed recording's reason.
    (8, [*RECORDINGS_REASON_SCHEMA]),
    (
        9,
        [
            # Transcription (issue 13): live per-speaker transcribes and the recordings'.
            "ALTER TABLE conferences ADD COLUMN transcribe INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE conferences ADD COLUMN transcribe_language TEXT",
            "ALTER TABLE conferences ADD COLUMN transcribe_id TEXT",
            "ALTER TABLE conferences ADD COLUMN transcribe_ids TEXT NOT NULL DEFAULT '[]'",
            "ALTER TABLE conferences ADD COLUMN transcription_type TEXT",
            "ALTER TABLE conferences ADD COLUMN transcription_url TEXT",
            *TRANSCRIBES_SCHEMA,
            *RECORDINGS_TRANSCRIPT_SCHEMA,
        ],
    ),
    (
        10,
        [
            # Plivo's per-member options (issue 19), one JSON object per conferencecall.
            "ALTER TABLE conferencecalls ADD COLUMN member_options TEXT NOT NULL DEFAULT '{}'",
            # time_limit now means Plivo's timeLimit (the conference's maximum duration);
            # the per-caller limit it meant before is member_time_limit. Options are
            # compact JSON written by msgspec (`"time_limit":600`), so a text REPLACE moves
            # the key in both SQLite and PostgreSQL.
            """UPDATE conferences
                SET options = REPLACE(options, '"time_limit":', '"member_time_limit":')""",
        ],
    ),
    (
        12,
        [
            # pre_actions / post_actions (issue 18): JSON arrays of actions.
            "ALTER TABLE conferences ADD COLUMN pre_actions TEXT NOT NULL DEFAULT '[]'",
            "ALTER TABLE conferences ADD COLUMN post_actions TEXT NOT NULL DEFAULT '[]'",
        ],
    ),
    (13, CALLS_MEMBER_OPTIONS),  # per-member options of dial-out callees (issue 19)
]
# The runner applies every version not yet applied, in order (a gap is tolerated).
SCHEMA_VERSION = max(version for version, _ in MIGRATIONS)

_CONF_COLS = (
    "id, customer_id, type, status, name, detail, room, timeout, max_participants, data, "
    "record, record_format, notify_url, notify_method, callback_url, callback_method, "
    "conferencecall_ids, recording_id, recording_ids, tm_create, "
    "tm_update, tm_delete, options, floor_conferencecall_id, transcribe, transcribe_language, "
    "transcribe_id, transcribe_ids, transcription_type, transcription_url, "
    "pre_actions, post_actions"
)
_CALL_COLS = (
    "id, customer_id, conference_id, reference_type, reference_id, status, caller_number, "
    "caller_name, health_failures, tm_create, tm_update, tm_delete, "
    "role, muted, deaf, talking, held, pin_entry, tm_join, member_options"
)


def _split(cols: str) -> list[str]:
    return [c.strip() for c in cols.split(",")]


def _upsert(table: str, cols: str) -> str:
    names = _split(cols)
    marks = ", ".join("?" for _ in names)
    sets = ", ".join(f"{c} = excluded.{c}" for c in names if c != "id")
    # ON CONFLICT(id) DO UPDATE, never INSERT OR REPLACE: REPLACE would silently delete a
    # *different* row that clashes on the live-room index instead of refusing.
    return f"INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {sets}"


_UPSERT_CONF = _upsert("conferences", _CONF_COLS)
_UPSERT_CALL = _upsert("conferencecalls", _CALL_COLS)
_INSERT_CONF = (
    f"INSERT INTO conferences ({_CONF_COLS}) VALUES ({', '.join('?' * len(_split(_CONF_COLS)))})"
)


# --- row <-> model -----------------------------------------------------------------------

_JSON_COLS = frozenset(
    {
        "data",
        "conferencecall_ids",
        "recording_ids",
        "options",
        "transcribe_ids",
        "pre_actions",
        "post_actions",
        "member_options",
    }
)
_TIME_COLS = frozenset({"tm_create", "tm_update", "tm_delete", "tm_join"})


def _to_db(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return to_iso(value)
    if isinstance(value, tuple) and value and isinstance(value[0], BaseModel):  # actions
        return _json_text([v.model_dump(mode="json") for v in value])
    if isinstance(value, dict | tuple | list):
        return _json_text(value)
    if isinstance(value, BaseModel):  # conference options
        return _json_text(value.model_dump(mode="json"))
    return value


def _json_text(value: Any) -> str:
    # msgspec (already the ARI codec) encodes several times faster than json.dumps.
    return msgspec.json.encode(value).decode()


def _from_db(col: str, value: Any) -> Any:
    if col in _TIME_COLS:
        return from_iso(value)
    return json.loads(value) if col in _JSON_COLS else value


def _conf_params(c: Conference) -> list[Any]:
    return [_to_db(getattr(c, col)) for col in _split(_CONF_COLS)]


def _conf_from_row(r: Row) -> Conference:
    return Conference.model_validate({k: _from_db(k, r[k]) for k in r.keys()})


def _call_params(c: Conferencecall) -> list[Any]:
    # The caller object is stored as two plain columns (searchable, no JSON).
    extra = {"caller_number": c.caller.number, "caller_name": c.caller.name}
    return [_to_db(extra[col] if col in extra else getattr(c, col)) for col in _split(_CALL_COLS)]


def _call_from_row(r: Row) -> Conferencecall:
    fields = {k: _from_db(k, r[k]) for k in r.keys() if not k.startswith("caller_")}
    fields["caller"] = {"number": r["caller_number"], "name": r["caller_name"]}
    return Conferencecall.model_validate(fields)


def _enum(field: str, enum: type[Any], value: object) -> str:
    try:
        return str(enum(value).value)
    except ValueError:
        raise ValidationFailed(field, f"unknown {field} {value!r}") from None
