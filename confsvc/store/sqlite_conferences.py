"""Conference and conferencecall methods of SqliteStore: writes go through `_changing`
(the journal derives their events in the same transaction), reads through the shared
by-id and page queries."""

from __future__ import annotations

from typing import Any

from confsvc.domain.conference import Conference, ConferenceStatus
from confsvc.domain.conferencecall import Conferencecall, ConferencecallStatus
from confsvc.domain.errors import RoomTaken
from confsvc.store.base import DEFAULT_PAGE_SIZE, UNKNOWN
from confsvc.store.sqlite_ops import SqliteOps
from confsvc.store.sqlite_schema import (
    _CALL_COLS,
    _CONF_COLS,
    _INSERT_CONF,
    _UPSERT_CALL,
    _UPSERT_CONF,
    _call_from_row,
    _call_params,
    _conf_from_row,
    _conf_params,
    _enum,
)


class SqliteConferences(SqliteOps):
    # --- conferences ---------------------------------------------------------------------

    async def create_conference(self, conf: Conference) -> None:
        # One transaction: nothing can take the room between the check and the insert.
        async with self.transaction(), self._changing(_no_old, conf):
            # The unique index refuses a live room of any tenant, except the rooms two
            # tenants shared before migration 6 (see sqlite_schema.py): asked here.
            if await self.find_live_conference_by_room(conf.room):
                raise RoomTaken(conf.room)
            await self._write_conference(_INSERT_CONF, conf)

    async def save_conference(self, conf: Conference, old: Any = UNKNOWN) -> None:
        async with self._changing(self.get_conference, conf, old):
            await self._write_conference(_UPSERT_CONF, conf)

    async def _write_conference(self, sql: str, conf: Conference) -> None:
        try:
            await self._write(sql, _conf_params(conf))
        except Exception as exc:
            if self._room_conflict(exc):
                raise RoomTaken(conf.room) from None
            raise

    async def get_conference(self, id: str, customer_id: str | None = None) -> Conference | None:
        row = await self._get_one("conferences", _CONF_COLS, id, customer_id)
        return _conf_from_row(row) if row else None

    async def get_conference_by_room(self, customer_id: str, room: str) -> Conference | None:
        rows = await self._fetch(
            f"SELECT {_CONF_COLS} FROM conferences "
            "WHERE customer_id = ? AND room = ? AND status != 'terminated'",
            (customer_id, room),
        )
        return _conf_from_row(rows[0]) if rows else None

    async def find_live_conference_by_room(self, room: str) -> list[Conference]:
        rows = await self._fetch(
            f"SELECT {_CONF_COLS} FROM conferences WHERE room = ? "
            "AND status != 'terminated' ORDER BY tm_create, id",
            (room,),
        )
        return [_conf_from_row(r) for r in rows]

    async def list_conferences(
        self,
        customer_id: str,
        *,
        status: ConferenceStatus | str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> tuple[list[Conference], str | None]:
        filters = {"status": _enum("status", ConferenceStatus, status) if status else None}
        rows, token = await self._list_page(
            "conferences", _CONF_COLS, customer_id, filters, page_size, page_token
        )
        return [_conf_from_row(r) for r in rows], token

    async def list_live_conferences(self) -> list[Conference]:
        rows = await self._fetch(
            f"SELECT {_CONF_COLS} FROM conferences WHERE status != 'terminated' "
            "ORDER BY tm_create, id",
            (),
        )
        return [_conf_from_row(r) for r in rows]

    # --- conferencecalls -------------------------------------------------------------------

    async def save_conferencecall(
        self, call: Conferencecall, old: Any = UNKNOWN, conference: Conference | None = None
    ) -> None:
        async with self._changing(self.get_conferencecall, call, old, conference):
            await self._write(_UPSERT_CALL, _call_params(call))

    async def get_conferencecall(
        self, id: str, customer_id: str | None = None
    ) -> Conferencecall | None:
        row = await self._get_one("conferencecalls", _CALL_COLS, id, customer_id)
        return _call_from_row(row) if row else None

    async def list_conferencecalls(
        self,
        customer_id: str,
        *,
        conference_id: str | None = None,
        status: ConferencecallStatus | str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> tuple[list[Conferencecall], str | None]:
        filters = {
            "conference_id": conference_id,
            "status": _enum("status", ConferencecallStatus, status) if status else None,
        }
        rows, token = await self._list_page(
            "conferencecalls", _CALL_COLS, customer_id, filters, page_size, page_token
        )
        return [_call_from_row(r) for r in rows], token

    async def list_live_conferencecalls(
        self, conference_id: str | None = None
    ) -> list[Conferencecall]:
        sql = f"SELECT {_CALL_COLS} FROM conferencecalls WHERE status != 'leaved'"
        params: list[Any] = []
        if conference_id is not None:
            sql += " AND conference_id = ?"
            params.append(conference_id)
        rows = await self._fetch(sql + " ORDER BY tm_create, id", params)
        return [_call_from_row(r) for r in rows]


async def _no_old(_: str) -> None:
    """A created conference replaces nothing."""
    return None
