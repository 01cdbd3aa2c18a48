-- Retention: every prune batch chooses its rows through an index (see
-- prune.go), so pruning a large table never scans it. outbox_due
-- (sent_at, next_attempt_at) serves both outbox prunes already.
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);
CREATE INDEX sessions_created ON sessions (created_at);
CREATE INDEX mail_tokens_expires ON mail_tokens (expires_at);
CREATE INDEX activity_at ON activity (at);
