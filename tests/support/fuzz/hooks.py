"""Schemathesis hooks for tests/e2e/test_api_fuzz.py, loaded by the `st` subprocess
(SCHEMATHESIS_HOOKS). The test passes its values in the environment (FUZZ_*).

- Requests stay on this machine: a generated string that could be a URL the controller or
  Asterisk fetches (webhook, notify_url, callback_url, media) becomes the test's loopback
  receiver before it is sent. The URL policy's own refusals are tested elsewhere.
- Fields the server checks beyond the schema (URLs, media, dial-out numbers) often get a
  value it accepts, so cases reach webhooks and their deliveries, play and dial-out.
- Plivo routes: the account in the path is mostly tenant A's own, so cases get past the 404
  for another account and reach the room and member logic; callback_url is often the
  receiver, so the asynchronous answer is reached too.
- Tenant isolation of writes (schemathesis's object_level_authorization covers reads): every
  request tenant A made on its own object that succeeded is replayed with tenant B's token and
  must get exactly the answer B gets for an object that does not exist.
"""

from __future__ import annotations

import os
import re
import uuid
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests
import schemathesis
from hypothesis import strategies as st

# Anything a fetcher could take for a URL: a scheme, or a network-path reference.
URLISH = re.compile(r"(?i)^\s*[a-z][a-z0-9+.-]*:\s*/|//")
# Inside the test controller's dial-out allow-list (+1); the trunk leads to a closed
# loopback port, so the call fails at once.
DIAL_OUT_NUMBER = "+15550100200"
REPLAY_TIMEOUT = 30.0


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: run this through tests/e2e/test_api_fuzz.py")
    return value


def _confine(value: Any, sink: str) -> Any:
    if isinstance(value, str):
        return sink if URLISH.search(value) else value
    if isinstance(value, dict):
        return {k: _confine(v, sink) for k, v in value.items()}
    if isinstance(value, list):
        return [_confine(v, sink) for v in value]
    return value


@schemathesis.hook
def before_call(context: schemathesis.HookContext, case: schemathesis.Case, kwargs: Any) -> None:
    sink = _env("FUZZ_SINK_URL")
    # A stateful link can fill a path parameter from an empty field (a conference's name);
    # "" would merge two slashes and send the case to another operation.
    for name, value in (case.path_parameters or {}).items():
        if value == "":
            case.path_parameters[name] = "empty"
    if isinstance(case.body, dict | list | str):
        case.body = _confine(case.body, sink)
    if case.query:
        case.query = _confine(case.query, sink)


@schemathesis.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any]
) -> st.SearchStrategy[dict[str, Any]]:
    if not path_parameters or "auth_id" not in path_parameters:
        return st.just(path_parameters)
    own = {**path_parameters, "auth_id": _env("FUZZ_TENANT_A")}
    return st.sampled_from([own, own, own, path_parameters])


@schemathesis.hook
def flatmap_query(
    context: schemathesis.HookContext, query: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    """Plivo's callback_url: often a URL that works, so the asynchronous answer is reached."""
    if not isinstance(query, dict) or "callback_url" not in query:
        return st.just(query)
    return st.sampled_from([query, {**query, "callback_url": _env("FUZZ_SINK_URL")}])


@schemathesis.hook
def flatmap_body(context: schemathesis.HookContext, body: Any) -> st.SearchStrategy[Any]:
    """Fields the server checks beyond the schema (URLs, media, E.164 numbers) often get a
    value it accepts, so cases get past the 422 to webhooks, deliveries, play and dial-out."""
    if not isinstance(body, dict):
        return st.just(body)
    sink = _env("FUZZ_SINK_URL")
    choices: dict[str, list[Any]] = {}
    for key in ("url", "notify_url", "callback_url", "transcription_url"):
        if key in body:
            choices[key] = [body[key], sink]
    for key in ("language", "transcribe_language"):  # the one the bundled model speaks
        if key in body:
            choices[key] = [body[key], "en-US"]
    if "media" in body:
        choices["media"] = [body["media"], "beep:1", sink]
    if "dest" in body or "destinations" in body:
        choices["dest"] = [body.get("dest"), DIAL_OUT_NUMBER]
    if not choices:
        return st.just(body)
    return st.fixed_dictionaries({k: st.sampled_from(v) for k, v in choices.items()}).map(
        lambda picked: _with(body, picked)
    )


def _with(body: dict[str, Any], picked: dict[str, Any]) -> dict[str, Any]:
    out = {**body, **picked}
    if out.get("dest") == DIAL_OUT_NUMBER:
        out.pop("destinations", None)  # one of dest/destinations
    return out


def _path(template: str, params: dict[str, Any]) -> str:
    return re.sub(r"\{([^}/]+)\}", lambda m: quote(str(params[m.group(1)]), safe=""), template)


def _as_b(response: schemathesis.Response, case: schemathesis.Case, path: str) -> requests.Response:
    """A's request with B's token and another path: same method, query (less any token), body."""
    sent = response.request
    url = urlsplit(sent.url or "")
    pairs = parse_qsl(url.query, keep_blank_values=True)
    query = urlencode([(k, v) for k, v in pairs if k != "token"])
    dropped = ("authorization", "content-length")
    headers = {k: v for k, v in sent.headers.items() if k.lower() not in dropped}
    headers["Authorization"] = f"Bearer {_env('FUZZ_TOKEN_B')}"
    target = urlunsplit((url.scheme, url.netloc, path, query, ""))
    return requests.request(
        sent.method or case.method, target, headers=headers, data=sent.body, timeout=REPLAY_TIMEOUT
    )


def _answer(r: requests.Response) -> tuple[int, Any]:
    try:
        body = r.json()
    except ValueError:
        body = None
    return r.status_code, body.get("error") if isinstance(body, dict) else None


@schemathesis.check
def tenant_b_cannot_reach_tenant_a_objects(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> None:
    """B's token on A's object answers as if the object did not exist (reads and writes)."""
    params = dict(case.path_parameters or {})
    if not params or not 200 <= response.status_code < 300:
        return
    template = case.operation.path
    variants = [params]
    if "auth_id" in params and len(params) > 1:  # Plivo: B's own account, A's room and member
        variants.append({**params, "auth_id": _env("FUZZ_TENANT_B")})
    for variant in variants:
        # The control: the same request for objects that do not exist (B's account kept).
        unknown = {k: (v if k == "auth_id" and v != params.get(k) else f"no-{uuid.uuid4()}")
                   for k, v in variant.items()}  # fmt: skip
        on_a = _as_b(response, case, _path(template, variant))
        control = _as_b(response, case, _path(template, unknown))
        if _answer(on_a) != _answer(control):
            raise AssertionError(
                f"tenant B reached tenant A's object: {case.method} {_path(template, variant)} "
                f"as B -> {on_a.status_code} {on_a.text[:300]!r}; for an unknown object B gets "
                f"{control.status_code} {control.text[:300]!r} "
                f"(A's own request got {response.status_code})"
            )
