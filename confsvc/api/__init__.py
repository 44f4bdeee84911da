"""HTTP API (aiohttp): /v1 conferences and conferencecalls, auth, errors, OpenAPI."""

from confsvc.api.app import create_app
from confsvc.api.errors import ApiError

__all__ = ["ApiError", "create_app"]
