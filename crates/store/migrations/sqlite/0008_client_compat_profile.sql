-- A client's compatibility profile (docs/operator-sdks.md): the operator
-- SDK dialect it may speak beside the CAMARA profile. The client document
-- holds it; the column mirrors it, as `status` does, so that an operator can
-- see without parsing documents which clients are not held to strict CAMARA:
--   SELECT client_id, compat_profile FROM clients WHERE compat_profile IS NOT NULL;
-- NULL: strict CAMARA (every client written before this column).
-- Keep in step with ../postgres/0008_client_compat_profile.sql.
ALTER TABLE clients ADD COLUMN compat_profile TEXT;
