"""The base of SqliteStore's per-resource parts: the primitives they use (implemented by
SqliteStore) and the two query shapes every resource shares (one by id, one page)."""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any


class SqliteOps:
    if TYPE_CHECKING:

        async def _write(self, sql: str, params: Sequence[Any]) -> None: ...

        async def _fetch(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]: ...

        async def _page(
            self,
            table: str,
            cols: str,
            where: list[str],
            params: list[Any],
            page_size: int,
            page_token: str | None,
        ) -> tuple[list[sqlite3.Row], str | None]: ...

        def _changing(
            self,
            get_old: Callable[[str], Awaitable[Any]],
            new: Any,
            old: Any = ...,
            conference: Any = None,
        ) -> AbstractAsyncContextManager[None]: ...

        def after_commit(self, fn: Callable[[], None]) -> None: ...

        def transaction(self) -> AbstractAsyncContextManager[Any]: ...

    async def _get_one(
        self, table: str, cols: str, id: str, customer_id: str | None
    ) -> sqlite3.Row | None:
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
    ) -> tuple[list[sqlite3.Row], str | None]:
        """One page of the tenant's rows; filters with a None value are not applied."""
        where = ["customer_id = ?"]
        params: list[Any] = [customer_id]
        for col, value in filters.items():
            if value is not None:
                where.append(f"{col} = ?")
                params.append(value)
        return await self._page(table, cols, where, params, page_size, page_token)
