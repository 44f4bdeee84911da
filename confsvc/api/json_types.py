"""JSON values as the OpenAPI document (JSON Schema) describes them.

JSON has one number type; JSON Schema's `integer` is any number without a fractional part,
so 725.0 is the integer 725. Request models are strict (no "5" for 5, no true for 1), and
pydantic's strict int refuses 725.0: `Integer` takes it, so the document and the behaviour
agree. 725.5 is still refused."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator


def integral(value: Any) -> Any:
    """A float without a fractional part -> int; anything else unchanged (validated next)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Integer = Annotated[int, BeforeValidator(integral)]
