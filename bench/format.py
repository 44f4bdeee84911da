"""How figures are written in the markdown tables."""

from __future__ import annotations

from typing import Any


def n(v: Any, digits: int = 1) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def trio(s: dict[str, Any] | None, keys: tuple[str, ...] = ("p50", "p95", "p99")) -> str:
    if not s or not s.get("n"):
        return "-"
    return " / ".join(n(s[k]) for k in keys)


def met(target: dict[str, Any], value: Any) -> str:
    """A target's verdict; a figure the run did not measure is neither met nor missed."""
    if value is None:
        return "not measured"
    return "**met**" if target["met"] else "**missed**"
