-- Databases in full, branches, credentials (passwords and roles) and durable jobs.

-- Rebuild `databases`: names become unique among live databases only, so a deleted
-- database's name can be reused while its job still cleans up.
ALTER TABLE databases RENAME TO databases_v1;
CREATE TABLE databases (
    id                             TEXT PRIMARY KEY,
    organization_id                TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name                           TEXT NOT NULL,
    kind                           TEXT NOT NULL CHECK (kind IN ('mysql', 'postgresql')),
    region                         TEXT NOT NULL,
    state                          TEXT NOT NULL CHECK (state IN ('pending', 'ready')),
    cluster_size                   TEXT NOT NULL,
    replicas                       INTEGER NOT NULL DEFAULT 0,
    deletion_protected             INTEGER NOT NULL DEFAULT 0,
    require_approval_for_deploy    INTEGER NOT NULL DEFAULT 0,
    allow_data_branching           INTEGER NOT NULL DEFAULT 0,
    foreign_keys_enabled           INTEGER NOT NULL DEFAULT 1,
    restrict_branch_region         INTEGER NOT NULL DEFAULT 0,
    automatic_migrations           INTEGER,
    migration_framework            TEXT,
    migration_table_name           TEXT,
    insights_raw_queries           INTEGER NOT NULL DEFAULT 0,
    production_branch_web_console  INTEGER NOT NULL DEFAULT 0,
    created_by                     TEXT,
    created_at                     INTEGER NOT NULL,
    updated_at                     INTEGER NOT NULL,
    schema_last_updated_at         INTEGER,
    deleted_at                     INTEGER
);
INSERT INTO databases (id, organization_id, name, kind, region, state, cluster_size, created_at, updated_at)
    SELECT id, organization_id, name, 'mysql', 'us-east', 'ready', 'PS_DEV', created_at, updated_at FROM databases_v1;
DROP TABLE databases_v1;
CREATE UNIQUE INDEX databases_live_name ON databases (organization_id, name) WHERE deleted_at IS NULL;

CREATE TABLE branches (
    id                      TEXT PRIMARY KEY,
    database_id             TEXT NOT NULL REFERENCES databases (id) ON DELETE CASCADE,
    name                    TEXT NOT NULL,
    parent_branch_id        TEXT,
    production              INTEGER NOT NULL DEFAULT 0,
    safe_migrations         INTEGER NOT NULL DEFAULT 0,
    deletion_protected      INTEGER NOT NULL DEFAULT 0,
    is_default              INTEGER NOT NULL DEFAULT 0,
    state                   TEXT NOT NULL CHECK (state IN ('pending', 'ready')),
    region                  TEXT NOT NULL,
    cluster_size            TEXT NOT NULL,
    created_by              TEXT,
    created_at              INTEGER NOT NULL,
    updated_at              INTEGER NOT NULL,
    schema_last_updated_at  INTEGER,
    deleted_at              INTEGER
);
CREATE UNIQUE INDEX branches_live_name ON branches (database_id, name) WHERE deleted_at IS NULL;
CREATE INDEX branches_by_parent ON branches (parent_branch_id);

CREATE TABLE credentials (
    id               TEXT PRIMARY KEY,
    branch_id        TEXT NOT NULL REFERENCES branches (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    role             TEXT NOT NULL CHECK (role IN ('reader', 'writer', 'readwriter', 'admin')),
    inherited_roles  TEXT NOT NULL DEFAULT '',
    replica          INTEGER NOT NULL DEFAULT 0,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'active')),
    created_by       TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    expires_at       INTEGER,
    ttl_seconds      INTEGER,
    last_used_at     INTEGER
);
CREATE INDEX credentials_by_branch ON credentials (branch_id, created_at);

CREATE TABLE jobs (
    id                TEXT PRIMARY KEY,
    kind              TEXT NOT NULL,
    subject_id        TEXT NOT NULL,
    step              TEXT NOT NULL,
    data              TEXT NOT NULL,
    attempt           INTEGER NOT NULL DEFAULT 0,
    run_after         INTEGER NOT NULL,
    lease_owner       TEXT,
    lease_expires_at  INTEGER,
    lease_epoch       INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs (run_after);
CREATE INDEX jobs_by_subject ON jobs (subject_id);
