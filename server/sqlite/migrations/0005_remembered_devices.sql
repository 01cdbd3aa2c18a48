-- Remembered devices ("Don't ask again on this computer for 30 days"):
-- only the SHA-256 of the cookie token is stored. Not the device cookies
-- of the password lockout, which live in the attempts table only.
CREATE TABLE remembered_devices (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	token_hash   BLOB    NOT NULL UNIQUE,
	browser      TEXT    NOT NULL,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL,
	ip           TEXT    NOT NULL
);
CREATE INDEX remembered_devices_user ON remembered_devices(user_id);
CREATE INDEX remembered_devices_created ON remembered_devices(created_at);

-- Required 2FA: when the account's grace period started (NULL: not yet),
-- and whether a session postponed the set-up.
ALTER TABLE users ADD COLUMN grace_from INTEGER;
ALTER TABLE sessions ADD COLUMN setup_skipped INTEGER NOT NULL DEFAULT 0;
