-- E-mail: the confirmed address (NULL: none) and one waiting for its
-- confirmation link.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN email_pending TEXT;

-- Single-use links sent by mail (address confirmation, password reset):
-- only the SHA-256 of the token is stored.
CREATE TABLE mail_tokens (
	token_hash BYTEA       PRIMARY KEY,
	user_id    BIGINT      NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	purpose    TEXT        NOT NULL,
	address    TEXT        NOT NULL,
	created_at TIMESTAMPTZ NOT NULL,
	expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX mail_tokens_user ON mail_tokens(user_id);

-- The outbox: a message is inserted in the transaction of the change
-- that causes it; sent_at marks it delivered. A sender leases rows
-- (lease_until, claimed with FOR UPDATE SKIP LOCKED) before it talks to
-- the SMTP server, so two instances never send one message at once.
CREATE TABLE outbox (
	id              BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	message_id      TEXT        NOT NULL UNIQUE,
	recipient       TEXT        NOT NULL,
	subject         TEXT        NOT NULL,
	text_body       TEXT        NOT NULL,
	html_body       TEXT        NOT NULL,
	created_at      TIMESTAMPTZ NOT NULL,
	attempts        INTEGER     NOT NULL DEFAULT 0,
	next_attempt_at TIMESTAMPTZ NOT NULL,
	lease_until     TIMESTAMPTZ,
	last_error      TEXT        NOT NULL DEFAULT '',
	sent_at         TIMESTAMPTZ
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE sent_at IS NULL;
