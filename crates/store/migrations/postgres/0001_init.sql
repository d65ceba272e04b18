-- netauth schema, PostgreSQL dialect. Keep in step with ../sqlite/0001_init.sql:
-- same tables, columns and meaning; only types and identity syntax differ.
-- Times are Unix seconds (BIGINT). No CHECK constraints on enum-like columns,
-- as in the SQLite schema: the Rust side rejects unknown values when it reads.

-- Small facts about the installation (`keys_initialized`, schema notes).
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Registered clients: the full record is the JSON `document`; `status` is
-- mirrored next to it so it can be queried without parsing. `COLLATE "C"`
-- orders ids bytewise, as SQLite does, so pagination is the same on both
-- backends whatever the cluster's locale.
CREATE TABLE clients (
    client_id  TEXT COLLATE "C" PRIMARY KEY,
    status     TEXT NOT NULL,
    document   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Signing and sealing keys, private halves encrypted under the master key.
CREATE TABLE keys (
    kid         TEXT PRIMARY KEY,
    key_use     TEXT NOT NULL,
    alg         TEXT NOT NULL,
    encrypted   BYTEA NOT NULL,
    public_jwk  TEXT,
    created_at  BIGINT NOT NULL,
    active_from BIGINT NOT NULL,
    retires_at  BIGINT,
    expires_at  BIGINT
);

-- `jti`s of client assertions already used (replay protection), kept until
-- the assertion would have expired anyway.
CREATE TABLE assertion_jti (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX assertion_jti_expires_at_idx ON assertion_jti (expires_at);

-- Append-only revocation log. Identity values are never reused, even after
-- the janitor has deleted the newest entries: readers remember the last
-- position they applied.
CREATE TABLE revocations (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          TEXT NOT NULL,
    value         TEXT NOT NULL,
    issued_before BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX revocations_created_at_idx ON revocations (created_at);
CREATE INDEX revocations_expires_at_idx ON revocations (expires_at);
