-- The support console: the admin role (granted from the command line
-- only) and accounts disabled by support.
ALTER TABLE users ADD COLUMN is_admin BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT false;

-- When a code from the app was last entered in the session: with the
-- password (auth_at), the "sudo" step of the support console.
ALTER TABLE sessions ADD COLUMN code_at TIMESTAMPTZ;

-- What admins did in the support console. Names, not ids: the log
-- outlives the accounts it names.
CREATE TABLE admin_audit (
	id     BIGINT      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	admin  TEXT        NOT NULL,
	action TEXT        NOT NULL,
	target TEXT        NOT NULL,
	ip     TEXT        NOT NULL,
	at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX admin_audit_at ON admin_audit(at);
