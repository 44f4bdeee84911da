"""The event stream: every state change's events are stored with it (journal.py, derive.py);
the outbox (outbox.py) delivers them to webhooks, notify_urls and Plivo-style callbacks;
the hub (ws.py) fans them out over WebSockets; the bus (bus.py) publishes non-state events.
wiring.py connects them to a store."""
