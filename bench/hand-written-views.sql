-- The masking views a careful DBA writes by hand instead of using pgmask, for the
-- same rules as the bench policy (bench/bench-policy.ts): pgcrypto HMAC pseudonyms,
-- NULLed direct identifiers, dates generalized or shifted per patient, ZIP3, and
-- stable noise keyed by the row's primary key. This is the baseline pgmask must
-- match: a view a competent DBA would ship, not a straw man (one HMAC per subject
-- per row for the date shift via LATERAL, the key read once as an InitPlan,
-- security_barrier because of the consent filter, which reaches every table that
-- names the patient: an opted-out patient's encounters and observations are
-- hidden too, as the policy's consent rule requires).

CREATE EXTENSION IF NOT EXISTS pgcrypto;

CREATE SCHEMA hand_private;
REVOKE ALL ON SCHEMA hand_private FROM PUBLIC;
CREATE TABLE hand_private.mask_key (key bytea NOT NULL);
INSERT INTO hand_private.mask_key SELECT gen_random_bytes(32);

CREATE SCHEMA hand_masked;

CREATE VIEW hand_masked.patients WITH (security_barrier) AS
SELECT encode(substr(hmac(convert_to(p.patient_id, 'UTF8'), k.key, 'sha256'), 1, 10), 'hex') AS patient_id,
       'MRN-' || encode(substr(hmac(convert_to(p.mrn, 'UTF8'), k.key, 'sha256'), 1, 10), 'hex') AS mrn,
       NULL::text AS first_name,
       NULL::text AS last_name,
       date_trunc('year', p.birth_date::timestamp)::date AS birth_date,
       CASE WHEN p.zip ~ '^[0-9]{5}(-[0-9]{4})?$' THEN
         CASE WHEN left(p.zip, 3) IN ('036', '059', '063', '102', '203', '556', '692', '790', '821',
                                      '823', '830', '831', '878', '879', '884', '890', '893')
              THEN '00000' ELSE left(p.zip, 3) || '00' END
       END AS zip,
       p.sex,
       round(p.weight_kg * (1 + 0.05 * (('x' || encode(substr(hmac(convert_to(p.patient_id || ':weight_kg', 'UTF8'), k.key, 'sha256'), 1, 4), 'hex'))::bit(32)::bigint / 2147483648.0 - 1)), 1)::numeric(5,1) AS weight_kg,
       NULL::text AS email,
       NULL::text AS phone,
       p.research_opt_out
  FROM public.patients p
 CROSS JOIN (SELECT key FROM hand_private.mask_key) k
 WHERE NOT p.research_opt_out;

CREATE VIEW hand_masked.encounters WITH (security_barrier) AS
SELECT NULL::bigint AS encounter_id,
       encode(substr(hmac(convert_to(e.patient_id, 'UTF8'), k.key, 'sha256'), 1, 10), 'hex') AS patient_id,
       e.admitted_at + s.shift AS admitted_at,
       e.discharged_at + s.shift AS discharged_at,
       e.department,
       e.reason
  FROM public.encounters e
 CROSS JOIN (SELECT key FROM hand_private.mask_key) k
 CROSS JOIN LATERAL (
   SELECT make_interval(days => (('x' || encode(substr(hmac(convert_to('shift:' || e.patient_id, 'UTF8'), k.key, 'sha256'), 1, 4), 'hex'))::bit(32)::bigint % 61 - 30)::int) AS shift
 ) s
 WHERE NOT EXISTS (SELECT 1 FROM public.patients p WHERE p.patient_id = e.patient_id AND p.research_opt_out IS NOT FALSE);

CREATE VIEW hand_masked.observations WITH (security_barrier) AS
SELECT NULL::bigint AS observation_id,
       NULL::bigint AS encounter_id,
       encode(substr(hmac(convert_to(o.patient_id, 'UTF8'), k.key, 'sha256'), 1, 10), 'hex') AS patient_id,
       o.loinc_code,
       o.value_num * (1 + 0.05 * (('x' || encode(substr(hmac(convert_to(o.observation_id::text || ':value_num', 'UTF8'), k.key, 'sha256'), 1, 4), 'hex'))::bit(32)::bigint / 2147483648.0 - 1)) AS value_num,
       o.unit,
       (date_trunc('month', o.observed_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS observed_at
  FROM public.observations o
 CROSS JOIN (SELECT key FROM hand_private.mask_key) k
 WHERE NOT EXISTS (SELECT 1 FROM public.patients p WHERE p.patient_id = o.patient_id AND p.research_opt_out IS NOT FALSE);
