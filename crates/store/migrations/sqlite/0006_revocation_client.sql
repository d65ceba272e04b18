-- The client whose token an RFC 7009 revocation names, so that the live
-- entries of one client can be counted and bounded (a client revoking its
-- own tokens must not grow every node's revocation set without limit).
-- NULL for the other kinds and for entries written before this column.
-- Keep in step with ../postgres/0006_revocation_client.sql.
ALTER TABLE revocations ADD COLUMN client_id TEXT;
CREATE INDEX revocations_client_idx ON revocations (client_id, expires_at);
