"""Webhooks: Standard Webhooks signing (``signing``) and single signed deliveries (``delivery``).

Persisting deliveries and scheduling retries is the server's job
(``originlens.services.webhook_dispatch``); nothing here imports the rest of originlens
except ``originlens.outbound``.
"""
