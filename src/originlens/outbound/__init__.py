"""Outbound HTTP to client-chosen URLs (``file_url``, ``webhook_url``), guarded against SSRF.

``guard`` holds the address policy and the guarded httpx clients; ``fetch`` downloads media.
Nothing here imports the rest of originlens: callers pass plain config objects.
"""

from originlens.outbound.guard import (
    AddressPolicy,
    BlockedAddressError,
    InvalidURLError,
    OutboundError,
    guarded_client,
    validate_url,
)

__all__ = [
    "AddressPolicy",
    "BlockedAddressError",
    "InvalidURLError",
    "OutboundError",
    "guarded_client",
    "validate_url",
]
