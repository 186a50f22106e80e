"""What the API and the dashboard share below both: request parameters, the request's unit
of work and caller, and how domain errors map to HTTP statuses. Neither imports the other."""
