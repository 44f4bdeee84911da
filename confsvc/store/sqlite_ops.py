"""The base of the per-resource parts (shared by SqliteStore and PgStore): the primitives
they use (implemented by sql_base.SqlStore and the backend) and the two query shapes every
resource shares (one by id, one page). Their SQL is SQLite's dialect with `?`
placeholders; PostgreSQL translates it (pg_dialect.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any, Protocol

from confsvc.store.base import check_page_size, decode_page_token, encode_page_token


class Row(Protocol):
    """sqlite3.Row and asyncpg.Record alike: by column name or position, and keys()."""

    def __getitem__(self, key: str | int, /) -> Any: ...

    def keys(self) -> Any: ...


class SqliteOps:
    if TYPE_CHECKING:

        async def _write(self, sql: str, params: Sequence[Any]) -> None: ...

        async def _fetch(self, sql: str, params: Sequence[Any]) -> list[Any]: ...

        def _changing(
            self,
            get_old: Callable[[str], Awaitable[Any]],
            new: Any,
            old: Any = ...,
            conference: Any = None,
        ) -> AbstractAsyncContextManager[None]: ...

        def after_commit(self, fn: Callable[[], None]) -> None: ...

        def transaction(self) -> AbstractAsyncContextManager[Any]: ...

        def _room_conflict(self, exc: BaseException) -> bool: ...

        async def _order_events(self) -> None: ...

    async def _page(
        self,
        table: str,
        cols: str,
        where: list[str],
        params: list[Any],
        page_size: int,
        page_token: str | None,
    ) -> tuple[list[Row], str | None]:
        """Newest first; keyset on (tm_create, id) so pages stay stable while rows are
        added. Fetches one extra row to know whether a next page exists."""
        size = check_page_size(page_size)
        if page_token:
            where = [*where, "(tm_create, id) < (?, ?)"]
            params = [*params, *decode_page_token(page_token)]
        sql = (
            f"SELECT {cols} FROM {table} WHERE {' AND '.join(where)} "
            "ORDER BY tm_create DESC, id DESC LIMIT ?"
        )
        rows = await self._fetch(sql, [*params, size + 1])
        if len(rows) <= size:
            return rows, None
        last = rows[size - 1]
        return rows[:size], encode_page_token(last["tm_create"], last["id"])

    async def _get_one(self, table: str, cols: str, id: str, customer_id: str | None) -> Row | None:
        """The row with this id; None when missing or (customer_id given) another tenant's."""
        sql = f"SELECT {cols} FROM {table} WHERE id = ?"
        params: list[Any] = [id]
        if customer_id is not None:
            sql += " AND customer_id = ?"
            params.append(customer_id)
        rows = await self._fetch(sql, params)
        return rows[0] if rows else None

    async def _list_page(
        self,
        table: str,
        cols: str,
        customer_id: str,
        filters: dict[str, Any],
        page_size: int,
        page_token: str | None,
    ) -> tuple[list[Row], str | None]:
        """One page of the tenant's rows; filters with a None value are not applied."""
        where = ["customer_id = ?"]
        params: list[Any] = [customer_id]
        for col, value in filters.items():
            if value is not None:
                where.append(f"{col} = ?")
                params.append(value)
        return await self._page(table, cols, where, params, page_size, page_token)
