"""What the operator CLI prints: aligned tables for people (default), JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

# Columns per resource: (heading, dotted key in the API's JSON).
CONFERENCE = (("ID", "id"), ("ROOM", "room"), ("NAME", "name"), ("STATUS", "status"),
              ("CALLS", "conferencecall_ids"), ("RECORDING", "recording_id"),
              ("CREATED", "tm_create"))  # fmt: skip
CALL = (("ID", "id"), ("CONFERENCE", "conference_id"), ("CALLER", "caller.number"),
        ("STATUS", "status"), ("MUTED", "muted"), ("DEAF", "deaf"), ("TALKING", "talking"),
        ("CREATED", "tm_create"))  # fmt: skip
RECORDING = (("ID", "id"), ("CONFERENCE", "conference_id"), ("STATUS", "status"),
             ("FORMAT", "format"), ("MS", "duration_ms"), ("BYTES", "size_bytes"),
             ("CREATED", "tm_create"))  # fmt: skip
WEBHOOK = (("ID", "id"), ("URL", "url"), ("EVENT TYPES", "event_types"),
           ("CREATED", "tm_create"))  # fmt: skip
EVENT = (("SEQ", "seq"), ("TIME", "timestamp"), ("TYPE", "type"),
         ("CONFERENCE", "conference_id"), ("RESOURCE", "data.id"))  # fmt: skip
NODE = (("ID", "id"), ("STATUS", "status"), ("SIP", "sip_uri"), ("ROOMS", "rooms"),
        ("CALLERS", "callers"))  # fmt: skip
Columns = Sequence[tuple[str, str]]


def cell(item: dict[str, Any], key: str) -> str:
    value: Any = item
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return str(len(value)) if key.endswith("_ids") else ",".join(map(str, value)) or "all"
    return str(value)


def table(items: Sequence[dict[str, Any]], columns: Columns) -> str:
    rows = [[h for h, _ in columns], *([cell(i, k) for _, k in columns] for i in items)]
    widths = [max(len(r[n]) for r in rows) for n in range(len(columns))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def record(item: dict[str, Any]) -> str:
    """One resource as `key: value` lines (get, create, a control's answer)."""
    width = max((len(k) for k in item), default=0)
    return "\n".join(f"{k.ljust(width)}  {json.dumps(v) if isinstance(v, (dict, list)) else v}"
                     for k, v in item.items())  # fmt: skip


def as_json(data: Any) -> str:
    return json.dumps(data, indent=2)
