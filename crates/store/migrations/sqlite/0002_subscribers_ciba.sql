-- Subscribers, consents, CIBA requests, handset prompts and refresh tokens;
-- SQLite dialect. Keep in step with ../postgres/0002_subscribers_ciba.sql.
-- As in 0001: each record is a JSON `document`, with the fields that are
-- queried or conditionally updated mirrored in columns, and the store
-- rewrites both together.

-- Mobile network operators (the sandbox's, or those an installation serves).
CREATE TABLE operators (
    id       TEXT NOT NULL PRIMARY KEY,
    document TEXT NOT NULL
);

-- Subscribers. An operator cannot be deleted while subscribers reference
-- it (the index makes that check cheap).
CREATE TABLE subscribers (
    id          TEXT NOT NULL PRIMARY KEY,
    msisdn      TEXT NOT NULL UNIQUE,
    operator_id TEXT NOT NULL REFERENCES operators (id),
    document    TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX subscribers_operator_id_idx ON subscribers (operator_id);

-- Index of the addresses in subscribers' documents: who holds an IP (and,
-- behind CGNAT, a port inside [port_start, port_end]). Rewritten with the
-- subscriber.
CREATE TABLE subscriber_addresses (
    subscriber_id TEXT NOT NULL REFERENCES subscribers (id) ON DELETE CASCADE,
    ip            TEXT NOT NULL,
    port_start    INTEGER NOT NULL,
    port_end      INTEGER NOT NULL
);
CREATE INDEX subscriber_addresses_ip_idx ON subscriber_addresses (ip, port_start);
CREATE INDEX subscriber_addresses_subscriber_id_idx ON subscriber_addresses (subscriber_id);

-- Operator tokens (hashes only), each spent once.
CREATE TABLE operator_tokens (
    token_hash    TEXT NOT NULL PRIMARY KEY,
    subscriber_id TEXT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX operator_tokens_expires_at_idx ON operator_tokens (expires_at);

-- The operator's legal basis for each (scope, purpose).
CREATE TABLE legal_bases (
    scope    TEXT NOT NULL,
    purpose  TEXT NOT NULL,
    document TEXT NOT NULL,
    PRIMARY KEY (scope, purpose)
);

-- Subscribers' consent decisions, granted or revoked.
CREATE TABLE consents (
    subscriber_id TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    scope         TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    status        TEXT NOT NULL,
    document      TEXT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (subscriber_id, client_id, scope, purpose)
);

-- CIBA authentication requests, by hash of the auth_req_id.
CREATE TABLE ciba_requests (
    id_hash        TEXT NOT NULL PRIMARY KEY,
    client_id      TEXT NOT NULL,
    subscriber_id  TEXT NOT NULL,
    status         TEXT NOT NULL,
    document       TEXT NOT NULL,
    expires_at     BIGINT NOT NULL,
    last_polled_at BIGINT
);
CREATE INDEX ciba_requests_expires_at_idx ON ciba_requests (expires_at);

-- What subscribers are asked on the handset.
CREATE TABLE prompts (
    id            TEXT NOT NULL PRIMARY KEY,
    subscriber_id TEXT NOT NULL,
    reference     TEXT NOT NULL,
    status        TEXT NOT NULL,
    document      TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX prompts_subscriber_id_status_idx ON prompts (subscriber_id, status);
CREATE INDEX prompts_expires_at_idx ON prompts (expires_at);

-- Refresh tokens (hashes only). Rotated and revoked ones are kept until
-- they expire: presenting one again is how reuse is detected.
CREATE TABLE refresh_tokens (
    token_hash    TEXT NOT NULL PRIMARY KEY,
    family_id     TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    subscriber_id TEXT NOT NULL,
    rotated_at    BIGINT,
    revoked       BOOLEAN NOT NULL,
    document      TEXT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_family_id_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_client_subscriber_idx ON refresh_tokens (client_id, subscriber_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);
