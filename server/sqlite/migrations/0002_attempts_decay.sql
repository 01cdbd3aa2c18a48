-- When the last attempt was counted: failures older than the limit's
-- window stop counting, and such rows are pruned.
ALTER TABLE attempts ADD COLUMN last_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX attempts_last_at ON attempts (last_at);
