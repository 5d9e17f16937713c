-- Refreshes of materialized masked views: written by `pgmask refresh`, read by
-- `pgmask status`. Like applied_policies, readable only by the role that runs pgmask.
CREATE TABLE pgmask.refreshes (
  id bigserial PRIMARY KEY,
  view_schema text NOT NULL,
  view_name text NOT NULL,
  row_count bigint NOT NULL,
  duration_ms double precision NOT NULL,
  was_concurrent boolean NOT NULL,
  refreshed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
  refreshed_by text NOT NULL DEFAULT CURRENT_USER
);
CREATE INDEX refreshes_view ON pgmask.refreshes (view_schema, view_name, refreshed_at DESC);
REVOKE ALL ON pgmask.refreshes FROM PUBLIC;
REVOKE ALL ON SEQUENCE pgmask.refreshes_id_seq FROM PUBLIC;
COMMENT ON TABLE pgmask.refreshes IS 'pgmask refresh runs (newest row per view = its last refresh)';
