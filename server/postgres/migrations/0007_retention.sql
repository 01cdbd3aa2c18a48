-- Retention: every prune batch chooses its rows through an index (see
-- prune.go), so pruning a large table never scans it.
CREATE INDEX sessions_created ON sessions (created_at);
CREATE INDEX mail_tokens_expires ON mail_tokens (expires_at);
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX outbox_unsent_created ON outbox (created_at) WHERE sent_at IS NULL;
CREATE INDEX activity_at ON activity (at);
