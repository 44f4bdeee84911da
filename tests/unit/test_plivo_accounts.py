"""Plivo-style accounts: parsing CONFSVC_PLIVO_ACCOUNTS, HTTP Basic with auth_id:auth_token
on the Plivo routes (Bearer keeps working), and {auth_id} bound to the account."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from plivo.utils import is_valid_mainaccount

from confsvc.plivo_accounts import (
    new_account,
    parse_accounts,
    signing_token,
    tokens_by_customer,
)
from tests.support.fake_ari import ApiHarness, api_harness

A = new_account("cust-a")
B = new_account("cust-b")


def basic(auth_id: str, token: str) -> dict[str, str]:
    raw = base64.b64encode(f"{auth_id}:{token}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[ApiHarness]:
    accounts = ",".join(f"{x.auth_id}:{x.auth_token}:{x.customer_id}" for x in (A, B))
    async with api_harness(tmp_path, plivo_accounts=accounts) as h:
        yield h


def test_generated_accounts_pass_the_sdks_check_and_differ() -> None:
    assert is_valid_mainaccount(A.auth_id) and len(A.auth_id) == 20
    assert A.auth_id != B.auth_id and A.auth_token != B.auth_token
    assert len(A.auth_token) == 40


def test_parse_refuses_what_the_sdk_would() -> None:
    text = f"{A.auth_id}:{A.auth_token}:cust-a"
    assert parse_accounts(text)[A.auth_id].customer_id == "cust-a"
    assert parse_accounts("") == {}
    for bad, why in (
        ("cust-a:tok:cust-a", "MA or SA"),
        ("MA123:tok:cust-a", "MA or SA"),
        (f"{A.auth_id}:tok", "auth_id:auth_token:customer_id"),
        (f"{text},{text}", "twice"),
    ):
        with pytest.raises(ValueError, match=why):
            parse_accounts(bad)


async def status_of(api: ApiHarness, method: str, path: str, headers: dict[str, str]) -> int:
    async with api.client.request(method, path, headers=headers) as resp:
        return resp.status


async def test_basic_auth_and_the_auth_id_in_the_path(api: ApiHarness) -> None:
    await api.create(room="board")
    own = f"/v1/Account/{A.auth_id}/Conference/"
    async with api.client.get(own, headers=basic(A.auth_id, A.auth_token)) as resp:
        assert resp.status == 200 and (await resp.json())["conferences"] == ["board"]
    # Bearer keeps working, with the tenant name or the tenant's auth_id in the path.
    bearer = {"Authorization": "Bearer tok-a"}
    assert await status_of(api, "GET", own, bearer) == 200
    assert await status_of(api, "GET", "/v1/Account/cust-a/Conference/", bearer) == 200
    # Basic binds the path to that account: another account's id or the tenant name is 404.
    for path in (f"/v1/Account/{B.auth_id}/Conference/", "/v1/Account/cust-a/Conference/"):
        async with api.client.get(path, headers=basic(A.auth_id, A.auth_token)) as resp:
            assert resp.status == 404 and (await resp.json())["error"] == "account_not_found"
    assert await status_of(api, "GET", own, {"Authorization": "Bearer tok-b"}) == 404
    # Wrong token, unknown account, malformed header: 401 with a JSON error.
    for headers in (
        basic(A.auth_id, B.auth_token),
        basic("MA" + "0" * 18, A.auth_token),
        {"Authorization": "Basic %%%"},
        {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()},
    ):
        async with api.client.get(own, headers=headers) as resp:
            assert resp.status == 401 and (await resp.json())["error"] == "unauthorized"
    # The account is the tenant everywhere: tenant-a's Basic sees tenant-a's rooms only.
    async with api.client.get("/v1/conferences", headers=basic(B.auth_id, B.auth_token)) as resp:
        assert resp.status == 200 and (await resp.json())["result"] == []


def test_the_signing_token_is_the_named_account_else_the_tenants_first() -> None:
    second = new_account("cust-a")
    accounts = {a.auth_id: a for a in (A, B, second)}
    first_a = min(A, second, key=lambda a: a.auth_id)
    assert signing_token(accounts, "cust-a", second.auth_id) == second.auth_token
    assert signing_token(accounts, "cust-a") == first_a.auth_token
    assert signing_token(accounts, "cust-c") is None
    assert tokens_by_customer(accounts) == {"cust-a": first_a.auth_token, "cust-b": B.auth_token}
