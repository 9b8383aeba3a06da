"""The offline cache: file blobs under the data dir, a SQLite index of them, the outbox of pending writes."""
