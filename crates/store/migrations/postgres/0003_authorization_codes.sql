-- Authorization codes (hashes only) for the code flow. The bindings are the
-- JSON document; consumed_at and reused are the code's state, changed only
-- by conditional UPDATEs. Rows outlive the code (purge_at) so that a late
-- second use still revokes what the first produced.
-- Keep in step with ../sqlite/0003_authorization_codes.sql.
CREATE TABLE authorization_codes (
    code_hash   TEXT NOT NULL PRIMARY KEY,
    client_id   TEXT NOT NULL,
    consumed_at BIGINT,
    reused      BOOLEAN NOT NULL,
    document    TEXT NOT NULL,
    purge_at    BIGINT NOT NULL
);
CREATE INDEX authorization_codes_purge_at_idx ON authorization_codes (purge_at);
