"""The store keeps the participant-control fields (migration 3): conference options and
floor holder, each caller's role / muted / deaf / talking / held / pin_entry / tm_join;
rows from before the migration read back with the defaults."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from confsvc.domain import create_conference, create_conferencecall
from confsvc.domain.options import ConferenceOptions, Role
from confsvc.store.sqlite import SqliteStore
from confsvc.store.sqlite_schema import MIGRATIONS
from tests.support.old_store import database_at

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


async def test_options_and_member_fields_roundtrip(tmp_path: Path) -> None:
    async with SqliteStore(tmp_path / "s.sqlite3") as store:
        conf = create_conference(
            customer_id="c",
            now=T0,
            room="r1",
            options={"pin": "12", "wait_sound": "default", "digits_match": "1,#2"},
        ).start(T0)[0]
        call = create_conferencecall(
            conference_id=conf.id, customer_id="c", reference_id="ch", now=T0, pin_entry=True
        )
        call = call.joined(T0 + timedelta(seconds=2))[0].model_copy(
            update={"role": Role.MODERATOR, "muted": True, "deaf": True, "talking": True}
        )
        conf = conf.model_copy(update={"floor_conferencecall_id": call.id})
        await store.save_conference(conf)
        await store.save_conferencecall(call)
        got = await store.get_conference(conf.id)
        assert got == conf and got is not None
        assert got.options.pin == "12" and got.floor_conferencecall_id == call.id
        again = await store.get_conferencecall(call.id)
        assert again == call and again is not None
        assert again.tm_join == T0 + timedelta(seconds=2) and again.pin_entry


async def test_rows_from_before_migration_3_get_defaults(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    db = database_at(path, 2)
    db.execute(
        "INSERT INTO conferences (id, customer_id, type, status, name, detail, room, timeout, "
        "max_participants, data, conferencecall_ids, recording_ids, tm_create) VALUES "
        "('old', 'c', 'conference', 'progressing', '', '', 'r9', 0, 20, '{}', '[]', '[]', "
        "'2024-05-01T12:00:00.000000Z')"
    )
    db.commit()
    db.close()
    async with SqliteStore(path) as store:
        assert 3 in {v for v, _ in MIGRATIONS}
        conf = await store.get_conference("old")
        assert conf is not None and conf.options == ConferenceOptions()
        assert conf.floor_conferencecall_id is None
