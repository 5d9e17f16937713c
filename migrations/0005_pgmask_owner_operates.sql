-- Members of pgmask_owner operate pgmask without being superusers or the role that
-- ran the first migrate (docs/privileges.md): check and status read what was applied,
-- refresh records its runs. pgmask_owner already owns the masked views and reads the
-- keys and the source tables; these grants add pgmask's own bookkeeping tables.
GRANT SELECT ON ALL TABLES IN SCHEMA pgmask TO pgmask_owner;
GRANT INSERT ON pgmask.refreshes TO pgmask_owner;
GRANT USAGE ON SEQUENCE pgmask.refreshes_id_seq TO pgmask_owner;
