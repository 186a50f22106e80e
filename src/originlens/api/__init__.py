"""HTTP layer only: parse requests, call services, map errors."""
