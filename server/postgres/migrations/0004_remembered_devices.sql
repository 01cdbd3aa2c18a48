-- Remembered devices ("Don't ask again on this computer for 30 days"):
-- only the SHA-256 of the cookie token is stored. Not the device cookies
-- of the password lockout, which live in the attempts table only.
CREATE TABLE remembered_devices (
	id           BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id      BIGINT      NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	token_hash   BYTEA       NOT NULL UNIQUE,
	browser      TEXT        NOT NULL,
	created_at   TIMESTAMPTZ NOT NULL,
	last_used_at TIMESTAMPTZ NOT NULL,
	ip           TEXT        NOT NULL
);
CREATE INDEX remembered_devices_user ON remembered_devices(user_id);
CREATE INDEX remembered_devices_created ON remembered_devices(created_at);

-- Required 2FA: when the account's grace period started (NULL: not yet),
-- and whether a session postponed the set-up.
ALTER TABLE users ADD COLUMN grace_from TIMESTAMPTZ;
ALTER TABLE sessions ADD COLUMN setup_skipped BOOLEAN NOT NULL DEFAULT FALSE;
