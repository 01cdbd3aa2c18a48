-- The support console: the admin role (granted from the command line
-- only) and accounts disabled by support.
ALTER TABLE users ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;

-- When a code from the app was last entered in the session: with the
-- password (auth_at), the "sudo" step of the support console.
ALTER TABLE sessions ADD COLUMN code_at INTEGER;

-- What admins did in the support console. Names, not ids: the log
-- outlives the accounts it names.
CREATE TABLE admin_audit (
	id       INTEGER PRIMARY KEY AUTOINCREMENT,
	admin    TEXT    NOT NULL,
	action   TEXT    NOT NULL,
	target   TEXT    NOT NULL,
	ip       TEXT    NOT NULL,
	at       INTEGER NOT NULL
);
CREATE INDEX admin_audit_at ON admin_audit(at);
