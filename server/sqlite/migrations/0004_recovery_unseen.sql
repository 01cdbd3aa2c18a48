-- The recovery codes of the last enrollment, sealed, bound to the session
-- that finished it, so that a lost answer can be shown again to that
-- session for a few minutes; cleared on the next sign-in with a code.
ALTER TABLE users ADD COLUMN recovery_unseen BLOB;
