"""Use cases. Services never commit: the request or task that calls them owns the transaction."""
