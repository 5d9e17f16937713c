import type { CatalogColumn, CatalogSnapshot, CatalogTable, CitusTable, ForeignKey } from '../../src/catalog/catalog-snapshot.ts';
import { typeFamily } from '../../src/catalog/catalog-snapshot.ts';

/**
 * The synthetic clinic as it stands on a Citus 13 coordinator, written by hand (no Citus
 * server is needed to plan): every table hash-distributed by patient_id in one co-location
 * group, primary and foreign keys including patient_id (Citus accepts no other between
 * distributed tables), citus installed, pgcrypto available.
 */
const col = (name: string, position: number, sqlType: string, typeName: string, nullable = true): CatalogColumn => ({
  name,
  position,
  sqlType,
  typeName,
  typeSchema: 'pg_catalog',
  family: typeFamily(typeName),
  nullable,
  comment: null,
});

const fk = (name: string, columns: string[], refTable: string, refColumns: string[]): ForeignKey => ({ name, columns, refSchema: 'public', refTable, refColumns });

const table = (name: string, columns: CatalogColumn[], primaryKey: string[], foreignKeys: ForeignKey[] = []): CatalogTable => ({
  schema: 'public',
  name,
  kind: 'table',
  owner: 'postgres',
  columns,
  primaryKey,
  foreignKeys,
  privileges: [],
  comment: null,
  estimatedRows: 0,
});

export const clinicTables: readonly CatalogTable[] = [
  table('encounters', [
    col('encounter_id', 1, 'bigint', 'int8', false),
    col('patient_id', 2, 'text', 'text', false),
    col('admitted_at', 3, 'timestamp with time zone', 'timestamptz', false),
    col('discharged_at', 4, 'timestamp with time zone', 'timestamptz'),
    col('department', 5, 'text', 'text'),
    col('reason', 6, 'text', 'text'),
  ], ['patient_id', 'encounter_id'], [fk('encounters_patient_id_fkey', ['patient_id'], 'patients', ['patient_id'])]),
  table('notes', [
    col('note_id', 1, 'bigint', 'int8', false),
    col('encounter_id', 2, 'bigint', 'int8', false),
    col('patient_id', 3, 'text', 'text', false),
    col('written_at', 4, 'timestamp with time zone', 'timestamptz', false),
    col('author', 5, 'text', 'text'),
    col('body', 6, 'text', 'text'),
  ], ['patient_id', 'note_id'], [
    fk('notes_encounter_fkey', ['patient_id', 'encounter_id'], 'encounters', ['patient_id', 'encounter_id']),
    fk('notes_patient_id_fkey', ['patient_id'], 'patients', ['patient_id']),
  ]),
  table('observations', [
    col('observation_id', 1, 'bigint', 'int8', false),
    col('encounter_id', 2, 'bigint', 'int8', false),
    col('patient_id', 3, 'text', 'text', false),
    col('loinc_code', 4, 'text', 'text', false),
    col('value_num', 5, 'double precision', 'float8'),
    col('unit', 6, 'text', 'text'),
    col('observed_at', 7, 'timestamp with time zone', 'timestamptz', false),
  ], ['patient_id', 'observation_id'], [
    fk('observations_encounter_fkey', ['patient_id', 'encounter_id'], 'encounters', ['patient_id', 'encounter_id']),
    fk('observations_patient_id_fkey', ['patient_id'], 'patients', ['patient_id']),
  ]),
  table('patients', [
    col('patient_id', 1, 'text', 'text', false),
    col('mrn', 2, 'text', 'text', false),
    col('first_name', 3, 'text', 'text'),
    col('last_name', 4, 'text', 'text'),
    col('birth_date', 5, 'date', 'date'),
    col('zip', 6, 'text', 'text'),
    col('sex', 7, 'text', 'text'),
    col('weight_kg', 8, 'numeric(5,1)', 'numeric'),
    col('email', 9, 'text', 'text'),
    col('phone', 10, 'text', 'text'),
    col('research_opt_out', 11, 'boolean', 'bool', false),
  ], ['patient_id']),
];

const distributed = (name: string, colocationId = 1): CitusTable => ({ schema: 'public', name, placement: 'distributed', distributionColumn: 'patient_id', colocationId });

export function citusClinicSnapshot(overrides: Partial<CatalogSnapshot> = {}): CatalogSnapshot {
  return {
    serverVersionNum: 170004,
    currentUser: 'postgres',
    isSuperuser: true,
    database: 'clinic',
    availableExtensions: ['citus', 'pgcrypto'],
    installedExtensions: { citus: { schema: 'pg_catalog', version: '13.0-1' }, pgcrypto: { schema: 'public', version: '1.3' } },
    schemas: ['public', 'pg_catalog'],
    roles: [{ name: 'metabase_reader', canLogin: true, superuser: false, memberOf: [] }],
    tables: clinicTables,
    citus: { version: '13.0-1', tables: ['encounters', 'notes', 'observations', 'patients'].map((n) => distributed(n)) },
    ...overrides,
  };
}

/** The same clinic on a plain PostgreSQL server: no citus extension, no Citus metadata. */
export function plainClinicSnapshot(): CatalogSnapshot {
  const { citus: _citus, ...plain } = citusClinicSnapshot({ availableExtensions: ['pgcrypto'], installedExtensions: { pgcrypto: { schema: 'public', version: '1.3' } } });
  return plain;
}
