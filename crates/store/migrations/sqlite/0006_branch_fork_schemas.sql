-- The parent's canonical schema at the moment a development branch was created from it:
-- the merge base of the three-way check of the branch's deploy requests (semantics.md
-- §8.1 item 2). One JSON array of CREATE statements per branch; branches created before
-- this table existed have no row and fall back to the base at the request's first check.

CREATE TABLE branch_fork_schemas (
    branch_id   TEXT PRIMARY KEY REFERENCES branches (id) ON DELETE CASCADE,
    statements  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
