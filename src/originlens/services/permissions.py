"""Who may do what: the one check behind every route (``docs/api.md``, "Permissions").

* A **read-only** caller reads: every API request that is not GET or HEAD is refused (submit,
  override, delete an account, rotate a secret, accept the terms, manage users). Read-only is
  a property of the *key* (``originlens keys create --readonly``: an account hands a key to a
  program that must only read) and of the *account* (every key of a read-only account is
  read-only). On the dashboard, where a person signs in with a password, a read-only account
  may also sign in and out, set its password and accept the terms, and nothing else.
* A **user** reads and changes what is its own: its submissions, overrides, webhook secret,
  heuristic, keys and account.
* A **partner** is a user who also manages the users it created (``/api/partner/*``,
  ``POST /api/user``, ``DELETE /api/user?id=``); another partner's users do not exist for it.
"""

from __future__ import annotations

from originlens.errors import ForbiddenError

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
READ_ONLY_MESSAGE = "This key is read-only: it can read results but not submit or change anything."


def check_method(method: str, *, readonly: bool) -> None:
    """Refuse (403) a request that could change something, for a read-only caller."""
    if readonly and method.upper() not in READ_METHODS:
        raise ForbiddenError(READ_ONLY_MESSAGE)
