"""confsvc: a conference service on Asterisk ARI."""

__version__ = "0.1.0"
