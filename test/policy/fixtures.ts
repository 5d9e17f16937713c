import { z } from 'zod';
import { sql } from '../../src/sql/index.ts';
import { constant } from '../../src/plan/expression.ts';
import { keep } from '../../src/transforms/keep.ts';
import { pseudonymize } from '../../src/transforms/pseudonymize.ts';
import { redact } from '../../src/transforms/redact.ts';
import { TransformRegistry } from '../../src/transforms/registry.ts';
import { defineTransform } from '../../src/transforms/transform.ts';
import type { CatalogColumn, CatalogSnapshot, CatalogTable, TypeFamily } from '../../src/catalog/catalog-snapshot.ts';

/**
 * Test-local stand-ins for the transforms DESIGN's example uses (fake, shift_date,
 * zip3, noise), so parsing is tested independently of the transform library.
 * Their parameter schemas follow the issue text; rendering is irrelevant here.
 */
const fake = defineTransform({
  name: 'fake',
  description: 'Deterministic realistic replacement from a dictionary.',
  params: z.object({ kind: z.enum(['first_name', 'last_name', 'full_name', 'city', 'email']).describe('what to generate') }).strict(),
  types: ['text'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: true,
  render: ({ value }) => value,
  sqlFile: null,
});

const shiftDate = defineTransform({
  name: 'shift_date',
  description: 'Per-subject date shift.',
  params: z.object({ max_days: z.number().int().min(1).max(3650).describe('largest shift in days'), keep_weekday: z.boolean().optional() }).strict(),
  types: ['date', 'timestamp', 'timestamptz'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: true,
  check: ({ subjectColumn, table }) =>
    subjectColumn === null ? [{ code: 'SHIFT_DATE_NO_SUBJECT', message: `table ${table.name} has no subject column`, hint: 'set `subject:`' }] : [],
  render: ({ value }) => value,
  sqlFile: null,
});

const zip3 = defineTransform({
  name: 'zip3',
  description: 'First three ZIP digits.',
  params: z.object({ restricted: z.array(z.string().regex(/^\d{3}$/)).optional() }).strict(),
  types: ['text'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: false,
  render: ({ value }) => value,
  sqlFile: null,
});

const noise = defineTransform({
  name: 'noise',
  description: 'Stable noise.',
  params: z
    .object({
      relative: z.number().positive().optional(),
      absolute: z.number().positive().optional(),
      decimals: z.number().int().min(0).max(10).optional(),
    })
    .strict(),
  types: ['integer', 'numeric', 'float'],
  runtimes: ['sql', 'plv8'],
  immutable: true,
  usesKey: true,
  render: ({ value }) => value,
  sqlFile: null,
});

/** A plv8-only transform, like a custom one. */
const roundWeight = defineTransform({
  name: 'round_weight',
  description: 'Custom: round to 5 kg.',
  params: z.object({}).strict(),
  types: ['numeric', 'float'],
  runtimes: ['plv8'],
  immutable: true,
  usesKey: false,
  render: () => constant(sql`NULL`),
  sqlFile: null,
});

export const testRegistry = new TransformRegistry([keep, redact, pseudonymize, fake, shiftDate, zip3, noise, roundWeight]);

export const DESIGN_EXAMPLE = `version: 1
source_schema: public          # where the raw tables are
masked_schema: masked          # where the masked views are created
runtime: auto                  # auto | plv8 | sql
unlisted_columns: error        # error | redact   (privacy by default)
subject: patient_id            # default subject column for per-subject transforms
keys: [default]                # key names; the first one is the default key
roles:
  analyst:                     # a masking role (NOLOGIN), created if missing
    members: [metabase_reader] # existing login roles granted the masking role
tables:
  patients:
    filter: "NOT research_opt_out"      # optional row filter (consent, opt-out)
    columns:
      patient_id: pseudonymize
      mrn: { pseudonymize: { prefix: "MRN-" } }
      first_name: { fake: { kind: first_name } }
      last_name: redact
      birth_date: { shift_date: { max_days: 30 } }
      zip: zip3
      sex: keep
      weight_kg: { noise: { relative: 0.05, decimals: 1 } }
      research_opt_out: keep
  encounters:
    columns:
      encounter_id: pseudonymize
      patient_id: pseudonymize
      admitted_at: { shift_date: { max_days: 30 } }
      reason: keep
`;

const TYPES: Record<string, [string, string, TypeFamily]> = {
  text: ['text', 'text', 'text'],
  varchar12: ['character varying(12)', 'varchar', 'text'],
  int4: ['integer', 'int4', 'integer'],
  int8: ['bigint', 'int8', 'integer'],
  date: ['date', 'date', 'date'],
  timestamptz: ['timestamp with time zone', 'timestamptz', 'timestamptz'],
  numeric: ['numeric(5,1)', 'numeric', 'numeric'],
  bool: ['boolean', 'bool', 'boolean'],
};

export function column(name: string, type: keyof typeof TYPES, position: number): CatalogColumn {
  const [sqlType, typeName, family] = TYPES[type]!;
  return { name, position, sqlType, typeName, typeSchema: 'pg_catalog', family, nullable: true, comment: null };
}

export function table(schema: string, name: string, columns: [string, keyof typeof TYPES][], extra: Partial<CatalogTable> = {}): CatalogTable {
  return {
    schema,
    name,
    kind: 'table',
    owner: 'postgres',
    columns: columns.map(([n, t], i) => column(n, t, i + 1)),
    primaryKey: columns.length ? [columns[0]![0]] : null,
    foreignKeys: [],
    privileges: [],
    comment: null,
    estimatedRows: -1,
    ...extra,
  };
}

/** A catalog that matches DESIGN's example exactly. */
export function designSnapshot(overrides: Partial<CatalogSnapshot> = {}): CatalogSnapshot {
  return {
    serverVersionNum: 180001,
    currentUser: 'postgres',
    isSuperuser: true,
    database: 'clinic',
    availableExtensions: ['pgcrypto'],
    installedExtensions: {},
    schemas: ['public'],
    roles: [
      { name: 'postgres', canLogin: true, superuser: true, memberOf: [] },
      { name: 'metabase_reader', canLogin: true, superuser: false, memberOf: [] },
    ],
    tables: [
      table('public', 'encounters', [
        ['encounter_id', 'text'],
        ['patient_id', 'text'],
        ['admitted_at', 'timestamptz'],
        ['reason', 'text'],
      ]),
      table('public', 'patients', [
        ['patient_id', 'text'],
        ['mrn', 'text'],
        ['first_name', 'text'],
        ['last_name', 'text'],
        ['birth_date', 'date'],
        ['zip', 'text'],
        ['sex', 'text'],
        ['weight_kg', 'numeric'],
        ['research_opt_out', 'bool'],
      ]),
    ],
    ...overrides,
  };
}
