CREATE TABLE users (
	id             BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	username       TEXT        NOT NULL UNIQUE,
	display_name   TEXT        NOT NULL,
	password_hash  TEXT        NOT NULL,
	totp_secret    BYTEA,
	totp_pending   BYTEA,
	totp_last_step BIGINT      NOT NULL DEFAULT 0,
	created_at     TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
	id           BYTEA       PRIMARY KEY,
	user_id      BIGINT      NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	stage        SMALLINT    NOT NULL,
	created_at   TIMESTAMPTZ NOT NULL,
	last_seen_at TIMESTAMPTZ NOT NULL,
	auth_at      TIMESTAMPTZ NOT NULL,
	ip           TEXT        NOT NULL,
	user_agent   TEXT        NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_last_seen ON sessions(last_seen_at);

CREATE TABLE recovery_codes (
	user_id   BIGINT      NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	code_hash BYTEA       NOT NULL,
	used_at   TIMESTAMPTZ,
	PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE attempts (
	key          TEXT        PRIMARY KEY,
	failures     INTEGER     NOT NULL,
	locked_until TIMESTAMPTZ NOT NULL
);

CREATE TABLE activity (
	id      BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id BIGINT      NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	kind    TEXT        NOT NULL,
	ip      TEXT        NOT NULL,
	at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX activity_user_at ON activity(user_id, at);
