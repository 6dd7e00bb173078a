-- Figures a read shows without asking a database server: the number of tables of a
-- branch, counted on its server by a background refresher (control's `table_counts`)
-- and read here by `get_database`/`list_databases` (`default_branch_table_count`).
-- No row: never counted yet (read as 0).

CREATE TABLE branch_table_counts (
    branch_id    TEXT PRIMARY KEY REFERENCES branches (id) ON DELETE CASCADE,
    table_count  INTEGER NOT NULL,
    counted_at   INTEGER NOT NULL
);
CREATE INDEX branch_table_counts_by_age ON branch_table_counts (counted_at);
