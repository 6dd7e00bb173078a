-- What the connection edge saw: statements aggregated per branch, minute and fingerprint,
-- and when each table was last named by a statement.
CREATE TABLE query_stats (
    branch_id        TEXT NOT NULL,
    period_start     INTEGER NOT NULL,
    fingerprint      TEXT NOT NULL,
    verb             TEXT NOT NULL,
    tables           TEXT NOT NULL,
    count            INTEGER NOT NULL,
    errors           INTEGER NOT NULL,
    last_error       INTEGER,
    total_micros     INTEGER NOT NULL,
    max_micros       INTEGER NOT NULL,
    rows_returned    INTEGER NOT NULL,
    rows_affected    INTEGER NOT NULL,
    latency_buckets  TEXT NOT NULL,
    first_seen       INTEGER NOT NULL,
    last_seen        INTEGER NOT NULL,
    PRIMARY KEY (branch_id, period_start, fingerprint)
);
CREATE INDEX query_stats_by_period ON query_stats (period_start);

CREATE TABLE table_usage (
    branch_id     TEXT NOT NULL,
    table_name    TEXT NOT NULL,
    last_used_at  INTEGER NOT NULL,
    PRIMARY KEY (branch_id, table_name)
);
