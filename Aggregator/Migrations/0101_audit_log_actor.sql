-- GET /audit?actor=…: one actor's entries, newest first, page by page.
CREATE INDEX IF NOT EXISTS audit_log_actor_id ON audit_log (actor, id DESC);
