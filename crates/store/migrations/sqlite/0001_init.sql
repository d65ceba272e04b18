-- netauth schema, SQLite dialect. Keep in step with ../postgres/0001_init.sql:
-- same tables, columns and meaning; only types and identity syntax differ.
-- Times are Unix seconds (BIGINT, INTEGER affinity). No CHECK constraints on
-- enum-like columns: SQLite cannot alter a constraint without rebuilding the
-- table, and the Rust side rejects unknown values when it reads them.

-- Small facts about the installation (`keys_initialized`, schema notes).
CREATE TABLE meta (
    key   TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);

-- Registered clients: the full record is the JSON `document`; `status` is
-- mirrored next to it so it can be queried without parsing.
CREATE TABLE clients (
    client_id  TEXT NOT NULL PRIMARY KEY,
    status     TEXT NOT NULL,
    document   TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Signing and sealing keys, private halves encrypted under the master key.
CREATE TABLE keys (
    kid         TEXT NOT NULL PRIMARY KEY,
    key_use     TEXT NOT NULL,
    alg         TEXT NOT NULL,
    encrypted   BLOB NOT NULL,
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
) WITHOUT ROWID;
CREATE INDEX assertion_jti_expires_at_idx ON assertion_jti (expires_at);

-- Append-only revocation log. AUTOINCREMENT (not a plain rowid) so that a
-- position is never handed out twice, even after the janitor has deleted the
-- newest entries: readers remember the last position they applied.
CREATE TABLE revocations (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind          TEXT NOT NULL,
    value         TEXT NOT NULL,
    issued_before BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX revocations_created_at_idx ON revocations (created_at);
CREATE INDEX revocations_expires_at_idx ON revocations (expires_at);
