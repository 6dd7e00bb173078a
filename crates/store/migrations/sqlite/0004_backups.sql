-- Backups, backup policies and the branches restored from backups.
-- Backups reference their branch and database without foreign keys on purpose: a
-- backup outlives its branch's row until the reaper has deleted its stored files.

CREATE TABLE backup_policies (
    id               TEXT PRIMARY KEY,
    database_id      TEXT NOT NULL REFERENCES databases (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    target           TEXT NOT NULL CHECK (target IN ('production', 'development')),
    retention_value  INTEGER NOT NULL,
    retention_unit   TEXT NOT NULL,
    frequency_value  INTEGER NOT NULL,
    frequency_unit   TEXT NOT NULL,
    schedule_time    TEXT NOT NULL,
    schedule_day     INTEGER,
    schedule_week    INTEGER,
    required         INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    last_ran_at      INTEGER,
    next_run_at      INTEGER
);
CREATE INDEX backup_policies_by_database ON backup_policies (database_id, created_at);
CREATE INDEX backup_policies_due ON backup_policies (next_run_at);

CREATE TABLE backups (
    id                 TEXT PRIMARY KEY,
    branch_id          TEXT NOT NULL,
    database_id        TEXT NOT NULL,
    name               TEXT NOT NULL,
    state              TEXT NOT NULL CHECK (state IN ('pending', 'running', 'success', 'failed', 'canceled', 'ignored')),
    size               INTEGER NOT NULL DEFAULT 0,
    uncompressed_size  INTEGER NOT NULL DEFAULT 0,
    retention_value    INTEGER NOT NULL,
    retention_unit     TEXT NOT NULL,
    protected          INTEGER NOT NULL DEFAULT 0,
    required           INTEGER NOT NULL DEFAULT 0,
    emergency          INTEGER NOT NULL DEFAULT 0,
    policy_id          TEXT,
    schema_snapshot    TEXT,
    created_by         TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    started_at         INTEGER,
    completed_at       INTEGER,
    expires_at         INTEGER,
    deleted_at         INTEGER
);
CREATE INDEX backups_by_branch ON backups (branch_id, created_at);
CREATE INDEX backups_expiring ON backups (expires_at) WHERE deleted_at IS NULL;

-- A branch built from a backup: `restored_from_branch` and `restored_branches`.
CREATE TABLE branch_restores (
    branch_id         TEXT PRIMARY KEY,
    backup_id         TEXT NOT NULL,
    source_branch_id  TEXT NOT NULL
);
CREATE INDEX branch_restores_by_backup ON branch_restores (backup_id);

-- Databases created before this migration get their default policies (both targets,
-- every 12 hours, 2 days of retention), first due 12 hours from now.
INSERT INTO backup_policies (id, database_id, name, target, retention_value, retention_unit,
    frequency_value, frequency_unit, schedule_time, required, created_at, updated_at, next_run_at)
SELECT lower(hex(randomblob(6))), d.id, 'Default ' || t.target || ' backups', t.target, 2, 'day',
    12, 'hour', '00:00', 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000,
    CAST(strftime('%s', 'now') AS INTEGER) * 1000,
    (CAST(strftime('%s', 'now') AS INTEGER) + 43200) * 1000
FROM databases d CROSS JOIN (SELECT 'production' AS target UNION ALL SELECT 'development') t
WHERE d.deleted_at IS NULL;
