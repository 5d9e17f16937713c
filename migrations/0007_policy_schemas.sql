-- Several policies in one database: each masked schema belongs to one policy
-- and one source schema. `pgmask migrate` records one row per masked schema of
-- the policy it applies, and compares (and `pgmask check` reports) per masked
-- schema, so a policy never counts another policy's row as its own.
-- Rows written before this migration have no source schema (NULL).
ALTER TABLE pgmask.applied_policies ADD COLUMN source_schema text;
CREATE INDEX applied_policies_masked_schema ON pgmask.applied_policies (masked_schema, id DESC);
COMMENT ON TABLE pgmask.applied_policies IS 'policy migrations applied by pgmask migrate, one row per masked schema (newest row per masked schema = the policy that made it)';
