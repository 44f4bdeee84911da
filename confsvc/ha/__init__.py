"""Two controllers on one PostgreSQL and one Asterisk: who owns the ARI application
(ownership.py), and how the standby answers HTTP (forward.py)."""
