"""`flush` kept safe for the append-only audit tables on SQLite."""
