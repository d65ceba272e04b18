-- The client a handset prompt is for, so that the pending prompts of one
-- (subscriber, client) pair can be counted and bounded: one client must not
-- take a subscriber's whole quota from the others (SECURITY.md 30).
-- NULL for prompts written before this column (they expire within minutes).
-- Keep in step with ../sqlite/0007_prompt_client.sql.
ALTER TABLE prompts ADD COLUMN client_id TEXT;
CREATE INDEX prompts_subscriber_client_idx ON prompts (subscriber_id, client_id, status);
