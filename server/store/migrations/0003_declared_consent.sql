-- Consent declared by whoever uploaded a recording (`sparring analyse`), not given by the
-- person on a device of their own.
ALTER TABLE consent ADD COLUMN declared INTEGER NOT NULL DEFAULT 0;
