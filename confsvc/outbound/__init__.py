"""Outbound requests: the URL policy every URL the service or Asterisk fetches passes
(policy.py) and the HTTP client that applies it when a request is made (http.py)."""

from confsvc.outbound.http import OutboundClient
from confsvc.outbound.policy import OutboundPolicy, UrlNotAllowed

__all__ = ["OutboundClient", "OutboundPolicy", "UrlNotAllowed"]
