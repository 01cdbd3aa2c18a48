CREATE TABLE users (
	id             INTEGER PRIMARY KEY,
	username       TEXT    NOT NULL UNIQUE,
	display_name   TEXT    NOT NULL,
	password_hash  TEXT    NOT NULL,
	totp_secret    BLOB,
	totp_pending   BLOB,
	totp_last_step INTEGER NOT NULL DEFAULT 0,
	created_at     INTEGER NOT NULL
);

CREATE TABLE sessions (
	id           BLOB    PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	stage        INTEGER NOT NULL,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	auth_at      INTEGER NOT NULL,
	ip           TEXT    NOT NULL,
	user_agent   TEXT    NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE recovery_codes (
	user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	code_hash BLOB    NOT NULL,
	used_at   INTEGER,
	PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE attempts (
	key          TEXT    PRIMARY KEY,
	failures     INTEGER NOT NULL,
	locked_until INTEGER NOT NULL
);

CREATE TABLE activity (
	id      INTEGER PRIMARY KEY,
	user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	kind    TEXT    NOT NULL,
	ip      TEXT    NOT NULL,
	at      INTEGER NOT NULL
);
CREATE INDEX activity_user_at ON activity(user_id, at);
