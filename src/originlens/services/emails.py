"""E-mail addresses: one normaliser for every way an account is created, changed or looked up
(the API, the dashboard and the command line all go through ``services.users``)."""

from __future__ import annotations

import unicodedata

from originlens.errors import FieldValidationError

MAX_LENGTH = 320


def normalise_email(raw: str, field: str = "email") -> str:
    """The address as stored: surrounding whitespace trimmed, lower-cased (addresses are
    unique regardless of case, and the database's unique index then enforces exactly that).

    Control, format and whitespace characters inside are refused, as are addresses without
    exactly one ``@`` between a non-empty local part and a dotted-or-plain domain.
    """
    address = raw.strip()
    invalid = FieldValidationError(field, f"The {field} must be a valid email address.")
    if not address or len(address) > MAX_LENGTH:
        raise invalid
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") for ch in address):
        raise FieldValidationError(field, f"The {field} must not contain spaces or control characters.")
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or "@" in local or domain.startswith(".") or domain.endswith("."):
        raise invalid
    if ".." in domain:
        raise invalid
    return address.lower()


def lookup_email(raw: str) -> str | None:
    """The stored form of ``raw`` to look an account up by, or ``None`` when it cannot be one."""
    try:
        return normalise_email(raw)
    except FieldValidationError:
        return None
