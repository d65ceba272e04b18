-- Login sessions (by the hash of the browser's session cookie) and
-- authorization requests in progress between their pages (by the hash of
-- their handle; version makes each rewrite conditional).
-- Keep in step with ../postgres/0004_logins.sql.
CREATE TABLE login_sessions (
    id_hash    TEXT NOT NULL PRIMARY KEY,
    document   TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX login_sessions_expires_at_idx ON login_sessions (expires_at);

CREATE TABLE pending_authorizations (
    id_hash    TEXT NOT NULL PRIMARY KEY,
    version    BIGINT NOT NULL,
    document   TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pending_authorizations_expires_at_idx ON pending_authorizations (expires_at);
