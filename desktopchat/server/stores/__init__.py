"""Where messages are kept: the history stores (memory, SQLite), their commits, and the
Redis broker a room shared by several nodes goes through."""
