"""The engine: ARI events and API commands in, ordered per conference, domain transitions
applied, state stored, effects sent back to Asterisk."""

from confsvc.engine.engine import Engine
from confsvc.engine.errors import AsteriskUnavailable, NotFound

__all__ = ["AsteriskUnavailable", "Engine", "NotFound"]
