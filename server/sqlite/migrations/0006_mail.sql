-- E-mail: the confirmed address (NULL: none) and one waiting for its
-- confirmation link.
ALTER TABLE users ADD COLUMN email TEXT;
ALTER TABLE users ADD COLUMN email_pending TEXT;

-- Single-use links sent by mail (address confirmation, password reset):
-- only the SHA-256 of the token is stored.
CREATE TABLE mail_tokens (
	token_hash BLOB    PRIMARY KEY,
	user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	purpose    TEXT    NOT NULL,
	address    TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX mail_tokens_user ON mail_tokens(user_id);

-- The outbox: a message is inserted in the transaction of the change
-- that causes it and deleted never; sent_at marks it delivered. A sender
-- leases a row (lease_until) before it talks to the SMTP server.
CREATE TABLE outbox (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	message_id      TEXT    NOT NULL UNIQUE,
	recipient       TEXT    NOT NULL,
	subject         TEXT    NOT NULL,
	text_body       TEXT    NOT NULL,
	html_body       TEXT    NOT NULL,
	created_at      INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	lease_until     INTEGER,
	last_error      TEXT    NOT NULL DEFAULT '',
	sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox(sent_at, next_attempt_at);
