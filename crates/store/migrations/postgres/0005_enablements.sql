-- Network Enablement records (seed 002): which number the authorization
-- code flow of (client, state) is for. Keyed by a hash of the pair; rows
-- expire (the janitor deletes them). Keep in step with ../sqlite/0005_enablements.sql.
CREATE TABLE enablements (
    key_hash   TEXT NOT NULL PRIMARY KEY,
    client_id  TEXT NOT NULL,
    document   TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX enablements_expires_at_idx ON enablements (expires_at);
