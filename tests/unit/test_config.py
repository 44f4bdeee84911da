"""asterisk/defaults.env is the one place for ports and credentials; Settings must agree."""

from __future__ import annotations

from pathlib import Path

import pytest

from confsvc.config import Settings

DEFAULTS = Path(__file__).resolve().parents[2] / "asterisk" / "defaults.env"


def read_defaults() -> dict[str, str]:
    out = {}
    for line in DEFAULTS.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            k, _, v = line.partition("=")
            out[k.removeprefix("CONFSVC_").lower()] = v
    return out


def test_settings_defaults_match_defaults_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("CONFSVC_"):
            monkeypatch.delenv(key)
    s = Settings()
    for key, value in read_defaults().items():
        assert str(getattr(s, key)) == value, key


def test_token_map_parses_pairs() -> None:
    s = Settings(tokens="t1:cust-a, t2:cust-b,broken,:x")
    assert s.token_map == {"t1": "cust-a", "t2": "cust-b"}
