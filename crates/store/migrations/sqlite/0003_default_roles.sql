-- A Postgres branch's default role (`postgres`), made on first use.
ALTER TABLE credentials ADD COLUMN is_default INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX credentials_one_default ON credentials (branch_id) WHERE is_default = 1;
