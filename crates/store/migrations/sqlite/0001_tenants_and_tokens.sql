-- Tenants, users, service tokens and their access grants.
-- Times are unix milliseconds; ids are 12-char public ids.

CREATE TABLE organizations (
    id                     TEXT PRIMARY KEY,
    name                   TEXT NOT NULL UNIQUE,
    billing_email          TEXT NOT NULL,
    idp_managed_roles      INTEGER NOT NULL DEFAULT 0 CHECK (idp_managed_roles IN (0, 1)),
    invoice_budget_amount  INTEGER NOT NULL DEFAULT 0 CHECK (invoice_budget_amount >= 0),
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);

CREATE TABLE users (
    id                       TEXT PRIMARY KEY,
    email                    TEXT NOT NULL UNIQUE,
    name                     TEXT NOT NULL,
    default_organization_id  TEXT REFERENCES organizations (id) ON DELETE SET NULL,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL
);

CREATE TABLE organization_members (
    organization_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role             TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    created_at       INTEGER NOT NULL,
    PRIMARY KEY (organization_id, user_id)
);

-- Databases are fleshed out by the data plane; grants need their identity now.
CREATE TABLE databases (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name             TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    UNIQUE (organization_id, name)
);

CREATE TABLE service_tokens (
    id               TEXT PRIMARY KEY,
    organization_id  TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id          TEXT NOT NULL REFERENCES users (id),
    name             TEXT,
    secret_sha256    TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    expires_at       INTEGER,
    last_used_at     INTEGER
);
CREATE INDEX service_tokens_by_organization ON service_tokens (organization_id, created_at);

-- One row per (token, access, scope). scope_type 'organization' with a database-level
-- access means every current and future database of the organization.
CREATE TABLE service_token_grants (
    id          TEXT PRIMARY KEY,
    token_id    TEXT NOT NULL REFERENCES service_tokens (id) ON DELETE CASCADE,
    access      TEXT NOT NULL,
    scope_type  TEXT NOT NULL CHECK (scope_type IN ('organization', 'database')),
    scope_id    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    UNIQUE (token_id, access, scope_type, scope_id)
);
CREATE INDEX service_token_grants_by_scope ON service_token_grants (scope_type, scope_id);
