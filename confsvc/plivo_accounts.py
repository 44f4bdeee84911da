"""Plivo-style accounts: the (auth_id, auth_token) pairs Plivo SDKs authenticate with
(HTTP Basic), each naming one tenant. Configured in CONFSVC_PLIVO_ACCOUNTS as
`auth_id:auth_token:customer_id` triples, comma separated; `make run` generates the dev
tenant's once per install (.runtime/dev-plivo) and prints it. Pure."""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass

from confsvc.credentials import parse_triples

# Plivo's SDKs refuse any other auth_id: "MA" (account) or "SA" (subaccount) + 18 more.
AUTH_ID = re.compile(r"(MA|SA)[A-Z0-9]{18}")
ALPHABET = string.ascii_uppercase + string.digits
TOKEN_CHARS = 40


@dataclass(frozen=True)
class PlivoAccount:
    auth_id: str
    auth_token: str
    customer_id: str


def parse_accounts(text: str) -> dict[str, PlivoAccount]:
    """auth_id -> account. ValueError naming the bad entry (serve refuses to start)."""
    triples = parse_triples(
        text, AUTH_ID, "auth_id:auth_token:customer_id", "auth_id: MA or SA and 18 letters/digits"
    )
    return {auth_id: PlivoAccount(auth_id, token, customer) for auth_id, token, customer in triples}


def auth_ids_of(accounts: Mapping[str, PlivoAccount], customer_id: str) -> frozenset[str]:
    return frozenset(a.auth_id for a in accounts.values() if a.customer_id == customer_id)


def signing_token(
    accounts: Mapping[str, PlivoAccount], customer_id: str, auth_id: str | None = None
) -> str | None:
    """The auth_token Plivo-style callbacks are signed with (V3): the account named (the
    one a request authenticated with), else the tenant's first by auth_id, else None."""
    if auth_id is not None and auth_id in accounts:
        return accounts[auth_id].auth_token
    own = sorted(auth_ids_of(accounts, customer_id))
    return accounts[own[0]].auth_token if own else None


def tokens_by_customer(accounts: Mapping[str, PlivoAccount]) -> dict[str, str]:
    """customer_id -> signing_token(accounts, customer_id), made once (the outbox)."""
    out: dict[str, str] = {}
    for auth_id in sorted(accounts, reverse=True):  # the first by auth_id wins
        out[accounts[auth_id].customer_id] = accounts[auth_id].auth_token
    return out


def new_account(customer_id: str) -> PlivoAccount:
    """A fresh pair (scripts/run makes the same shape in shell)."""
    auth_id = "MA" + "".join(secrets.choice(ALPHABET) for _ in range(18))
    letters = string.ascii_letters + string.digits
    token = "".join(secrets.choice(letters) for _ in range(TOKEN_CHARS))
    return PlivoAccount(auth_id, token, customer_id)
