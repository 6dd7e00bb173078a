-- Deploy requests, their reviews and the database-level deploy throttler. The
-- deployment (operations, lint, timestamps, revert window) is one JSON document owned by
-- the domain type; the columns the queue and the list filters query are kept beside it.

CREATE TABLE deploy_requests (
    id                  TEXT PRIMARY KEY,
    database_id         TEXT NOT NULL REFERENCES databases (id) ON DELETE CASCADE,
    number              INTEGER NOT NULL,
    branch_id           TEXT NOT NULL,
    into_branch_id      TEXT NOT NULL,
    branch_name         TEXT NOT NULL,
    into_branch_name    TEXT NOT NULL,
    notes               TEXT NOT NULL,
    actor_id            TEXT,
    created_by_token    TEXT,
    state               TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    deployment_state    TEXT NOT NULL,
    queued_at           INTEGER,
    closed_by           TEXT,
    closed_at           INTEGER,
    deployed_at         INTEGER,
    branch_deleted_by   TEXT,
    branch_deleted_at   INTEGER,
    deployment          TEXT NOT NULL,
    version             INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    UNIQUE (database_id, number)
);
CREATE INDEX deploy_requests_by_into_branch ON deploy_requests (into_branch_id, deployment_state);
CREATE INDEX deploy_requests_by_branch ON deploy_requests (branch_id, state);

CREATE TABLE deploy_request_reviews (
    id                 TEXT PRIMARY KEY,
    deploy_request_id  TEXT NOT NULL REFERENCES deploy_requests (id) ON DELETE CASCADE,
    actor_id           TEXT,
    token_id           TEXT,
    state              TEXT NOT NULL CHECK (state IN ('commented', 'approved')),
    body               TEXT NOT NULL,
    dismissed_at       INTEGER,
    created_at         INTEGER NOT NULL
);
CREATE INDEX deploy_request_reviews_by_request ON deploy_request_reviews (deploy_request_id, created_at);

CREATE TABLE deploy_throttlers (
    database_id  TEXT PRIMARY KEY REFERENCES databases (id) ON DELETE CASCADE,
    ratio        INTEGER NOT NULL CHECK (ratio BETWEEN 0 AND 95),
    updated_at   INTEGER NOT NULL
);
