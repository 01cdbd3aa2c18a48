-- twofold: foreign_keys off
-- AUTOINCREMENT: an id is never reused, so nothing kept under a deleted
-- user's id (a counter, a log line elsewhere) can fall to a new account.
-- SQLite cannot change a column in place: the table is rebuilt (SQLite's
-- "other kinds of table schema changes"), with foreign keys off for the
-- migration and checked before its commit.
CREATE TABLE users_new (
	id             INTEGER PRIMARY KEY AUTOINCREMENT,
	username       TEXT    NOT NULL UNIQUE,
	display_name   TEXT    NOT NULL,
	password_hash  TEXT    NOT NULL,
	totp_secret    BLOB,
	totp_pending   BLOB,
	totp_last_step INTEGER NOT NULL DEFAULT 0,
	created_at     INTEGER NOT NULL
);
INSERT INTO users_new (id, username, display_name, password_hash, totp_secret, totp_pending, totp_last_step, created_at)
	SELECT id, username, display_name, password_hash, totp_secret, totp_pending, totp_last_step, created_at FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
