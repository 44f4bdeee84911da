"""Typed ARI errors: one exception class per HTTP status family that callers branch on."""

from __future__ import annotations


class AriError(Exception):
    """An ARI request failed. `status` is 0 when no HTTP response was received."""

    def __init__(self, status: int, method: str, path: str, message: str = "") -> None:
        self.status = status
        self.method = method
        self.path = path
        self.message = message
        where = f"{method} {path} -> {status}" if status else f"{method} {path}"
        super().__init__(f"{where}: {message}")


class AriBadRequest(AriError):
    """400: invalid or missing parameters (also 'Channel not found' on addChannel)."""


class AriUnauthorized(AriError):
    """401: wrong ARI user or password."""


class AriNotFound(AriError):
    """404: the channel/bridge/recording/playback does not exist (any more)."""


class AriConflict(AriError):
    """409: e.g. 'Channel not in a Stasis application' or the id already exists."""


class AriPreconditionFailed(AriError):
    """412: 'Channel in invalid state' (e.g. answer on a channel that is hanging up)."""


class AriUnprocessable(AriError):
    """422: e.g. 'Channel not in Stasis application' on addChannel, unknown format."""


class AriUnavailable(AriError):
    """Asterisk could not be reached or failed: connection refused, timeout, 5xx."""


_BY_STATUS: dict[int, type[AriError]] = {
    400: AriBadRequest,
    401: AriUnauthorized,
    404: AriNotFound,
    409: AriConflict,
    412: AriPreconditionFailed,
    422: AriUnprocessable,
}


def error_for(status: int, method: str, path: str, message: str = "") -> AriError:
    """The exception instance that best describes an HTTP `status` from ARI."""
    if status == 0 or status >= 500:
        return AriUnavailable(status, method, path, message)
    cls = _BY_STATUS.get(status, AriError)
    return cls(status, method, path, message)
