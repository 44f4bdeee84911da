"""ARI JSON <-> the typed models, with msgspec: the one JSON codec of confsvc.ari.

An event is decoded straight from the websocket text in two cheap passes: the `type`
field alone (msgspec skips the rest without building it), then the Struct registered
for that type. msgspec cannot tag a union on "type" while `type` is also a field
(`event.type` stays an attribute, as the engine and the generic Event need it).
Values are decoded leniently, as pydantic did before (strict=False: "2" is accepted
where an int belongs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import msgspec
import structlog

from confsvc.ari.models import EVENT_TYPES, Event

log = structlog.get_logger(__name__)

T = TypeVar("T")


class MalformedEvent(ValueError):
    """Not an ARI event at all: bad JSON, not an object, or odd base fields."""


class _Head(msgspec.Struct):
    type: str = ""


_HEAD = msgspec.json.Decoder(_Head, strict=False)
_CLASSES: list[type[Event]] = [Event, *EVENT_TYPES.values()]
_DECODERS: dict[type[Event], msgspec.json.Decoder[Any]] = {
    cls: msgspec.json.Decoder(cls, strict=False) for cls in _CLASSES
}


def decode_event(message: str | bytes) -> Event:
    """The typed event for one websocket message, or a generic Event for a type we do
    not model. Raises MalformedEvent for anything that is not an ARI event."""
    try:
        etype = _HEAD.decode(message).type
    except msgspec.DecodeError as exc:  # ValidationError included
        raise MalformedEvent(str(exc)) from exc
    return _typed(etype, lambda cls: _DECODERS[cls].decode(message))


def parse_event(data: Mapping[str, Any]) -> Event:
    """decode_event for JSON already parsed into a dict (tests, fakes)."""
    etype = data.get("type", "")
    if not isinstance(etype, str):
        raise MalformedEvent(f"event type is not a string: {etype!r}")
    return _typed(etype, lambda cls: msgspec.convert(data, cls, strict=False))


def _typed(etype: str, decode: Callable[[type[Event]], Any]) -> Event:
    """A typed event that does not fit its class (say, no channel) is logged and kept as
    a generic Event, so one odd message never stops the event stream."""
    cls = EVENT_TYPES.get(etype)
    if cls is not None:
        try:
            event: Event = decode(cls)
        except msgspec.ValidationError as exc:
            log.warning("ari.event.invalid", type=etype, error=str(exc))
        else:
            return event
    try:
        generic: Event = decode(Event)
    except msgspec.ValidationError as exc:
        raise MalformedEvent(str(exc)) from exc
    return generic


def decode(body: bytes, into: type[T]) -> T:
    """A REST answer as `into` (a model, or e.g. list[Channel]); msgspec.DecodeError
    (ValidationError included) when it is not one."""
    return msgspec.json.decode(body, type=into, strict=False)


def encode(value: Any) -> bytes:
    """A JSON request body."""
    return msgspec.json.encode(value)


def decode_any(body: bytes) -> Any:
    """Untyped JSON (error bodies); msgspec.DecodeError when it is not JSON."""
    return msgspec.json.decode(body)
