-- A job whose step failed on every allowed attempt, and whose resource has no error state
-- to show it, is given up: kept (with its last error) for an operator, never claimed again.
ALTER TABLE jobs ADD COLUMN given_up_at INTEGER;
