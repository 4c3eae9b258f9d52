-- The rep may let the customer read the whole report (issue 10, item 8): when, or NULL.
ALTER TABLE calls ADD COLUMN shared_at DOUBLE PRECISION;
