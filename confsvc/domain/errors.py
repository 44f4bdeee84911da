"""Domain errors: a stable machine `code`, a human `message`, and the HTTP status the API
layer should answer with (a hint only; the domain itself knows nothing about HTTP)."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every rule the domain refuses. `code` is part of the public API: never rename."""

    code: str = "domain_error"
    http_status: int = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def to_json(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class InvalidTransition(DomainError):
    """The entity's current status does not allow the action (states only move forward)."""

    http_status = 409

    def __init__(self, entity: str, current: str, action: str, detail: str = "") -> None:
        # entity is "conference" or "conferencecall" -> "<entity>_invalid_state".
        msg = f"{entity} is {current}: cannot {action}"
        if detail:
            msg = f"{msg} ({detail})"
        super().__init__(msg, code=f"{entity}_invalid_state")
        self.entity = entity
        self.current = current
        self.action = action


class ValidationFailed(DomainError):
    """A field value breaks a rule (length, charset, range, type)."""

    code = "invalid_field"
    http_status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field

    def to_json(self) -> dict[str, object]:
        return {"code": self.code, "message": self.message, "field": self.field}


class RoomTaken(DomainError):
    """Another live (not terminated) conference already has the room: of the same tenant
    or of another (dial-in names only the room, so a live room belongs to one tenant).
    The message does not say which: a tenant learns nothing about another's rooms but
    that this one is taken."""

    code = "room_in_use"
    http_status = 409

    def __init__(self, room: str) -> None:
        super().__init__(f"room {room!r} is in use by a live conference")
        self.room = room


class ConferenceFull(DomainError):
    """The conference already holds max_participants live callers."""

    code = "conference_full"
    http_status = 409

    def __init__(self, conference_id: str, max_participants: int) -> None:
        super().__init__(f"conference {conference_id} is full ({max_participants} participants)")
        self.conference_id = conference_id
        self.max_participants = max_participants
