import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { loadPolicyText } from '../../src/cli/pipeline.ts';
import { draftMarker, isReviewedComment } from '../../src/scan/draft-policy.ts';
import { runScan } from '../../src/scan/run-scan.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('pgmask_scan_draft');
  await db.query(`
    CREATE TABLE patients (patient_id int PRIMARY KEY, first_name text, last_name text, birth_date date, zip text, ssn text,
      short_ssn varchar(9), age int, notes text, sex text, weight_kg numeric);
    INSERT INTO patients SELECT i, (ARRAY['Maria','John','Anna'])[1 + i % 3], (ARRAY['Garcia','Smith','Schmidt'])[1 + i % 3],
      date '1950-01-01' + i * 40, lpad((1000 + i)::text, 5, '0'), '123-45-' || lpad(i::text, 4, '0'), '1234' || lpad(i::text, 5, '0'), 20 + i % 80,
      'Patient seen on 01/02/2024 for follow-up, doing well, continue the current medication.', (ARRAY['F','M'])[1 + i % 2], 50 + i % 40
    FROM generate_series(1, 200) i;
    CREATE TABLE visits (visit_id int PRIMARY KEY, patient_id int REFERENCES patients, admitted_on date, reason text);
    INSERT INTO visits SELECT i, 1 + i % 200, date '2024-01-01' + i % 300, 'checkup' FROM generate_series(1, 400) i;
    CREATE SCHEMA research;
    CREATE TABLE research.cohort (person_id int PRIMARY KEY, email text);
    INSERT INTO research.cohort SELECT i, 'p' || i || '@example.org' FROM generate_series(1, 50) i;
  `);
}, 60_000);

afterAll(async () => {
  await db.drop();
});

function lineOf(yaml: string, column: string): string {
  return yaml.split('\n').find((l) => l.trimStart().startsWith(`${column}:`))!;
}

describe('draft policy', () => {
  it('writes one rule per column with a scan comment, and the policy parser accepts it', async () => {
    const { scan, draft } = await runScan({ databaseUrl: db.url, schemas: ['public'], preset: 'hipaa-safe-harbor' });
    const policy = parseYaml(draft.yaml) as { subject: string; tables: Record<string, { columns: Record<string, unknown> }> };
    expect(policy.subject).toBe('patient_id');
    for (const table of scan.tables) {
      expect(Object.keys(policy.tables[table.name]!.columns)).toEqual(table.columns.map((c) => c.name));
      for (const column of table.columns) {
        const comment = lineOf(draft.yaml, column.name).split(' # ')[1]!;
        expect(comment, column.name).toMatch(draftMarker);
        expect(comment.startsWith(`${column.classification.category}, confidence ${column.classification.confidence.toFixed(2)}: `)).toBe(true);
      }
    }
    await loadPolicyText(draft.yaml, 'draft.yaml');
  });

  it('follows Safe Harbor with the preset, and falls back to redact where a transform does not fit', async () => {
    const { draft } = await runScan({ databaseUrl: db.url, schemas: ['public'], preset: 'hipaa-safe-harbor' });
    const cols = (parseYaml(draft.yaml) as { tables: Record<string, { columns: Record<string, unknown> }> }).tables.patients!.columns;
    expect(cols.first_name).toEqual({ fake: { kind: 'first_name' } });
    expect(cols.last_name).toEqual({ fake: { kind: 'last_name' } });
    expect(cols.birth_date).toEqual({ age: { year_only: true } });
    expect(cols.zip).toBe('zip3');
    expect(cols.age).toBe('age');
    expect(cols.ssn).toBe('pseudonymize');
    expect(cols.notes).toBe('redact');
    expect(cols.sex).toBe('keep');
    expect(cols.weight_kg).toBe('keep');
    expect(cols.patient_id).toBe('pseudonymize');
    // a 20-character pseudonym does not fit varchar(9): the draft says why it redacts instead
    expect(cols.short_ssn).toBe('redact');
    expect(lineOf(draft.yaml, 'short_ssn')).toContain('not pseudonymize (');
    const visits = (parseYaml(draft.yaml) as { tables: Record<string, { columns: Record<string, unknown> }> }).tables.visits!.columns;
    // Safe Harbor keeps the year of a date and nothing else
    expect(visits.admitted_on).toEqual({ generalize_date: { to: 'year' } });
    expect(draft.yaml).toContain('# Preset hipaa-safe-harbor: HIPAA Safe Harbor');
  });

  it('without a preset removes identifiers, keeps dates usable (shifted per subject, birth dates to the year) and keeps the rest', async () => {
    const { scan, draft } = await runScan({ databaseUrl: db.url, schemas: ['public'] });
    const tables = (parseYaml(draft.yaml) as { tables: Record<string, { columns: Record<string, unknown> }> }).tables;
    const cols = tables.patients!.columns;
    expect(cols.first_name).toEqual({ fake: { kind: 'first_name' } });
    expect(cols.birth_date).toEqual({ age: { year_only: true } });
    expect(tables.visits!.columns.admitted_on).toEqual({ shift_date: { max_days: 30 } });
    expect(cols.notes).toBe('redact');
    expect(cols.sex).toBe('keep');
    for (const r of draft.rules) {
      const c = scan.tables.find((t) => t.name === r.table)!.columns.find((x) => x.name === r.column)!;
      if (['name', 'date', 'ssn', 'subject_key', 'free_text', 'geography'].includes(c.classification.category)) expect(r.rule, r.column).not.toBe('keep');
    }
  });

  it('keeps reviewed rules on a re-scan, redrafts the others, adds new columns and drops drafts of dropped columns', async () => {
    const first = await runScan({ databaseUrl: db.url, schemas: ['public'], preset: 'hipaa-safe-harbor' });
    let edited = first.draft.yaml
      // reviewed by comment
      .replace(/^(\s+)first_name: .*$/m, '$1first_name: redact # reviewed: we redact names')
      // reviewed by deleting the comment
      .replace(/^(\s+)zip: .*$/m, '$1zip: redact')
      // edited but still carrying the scan's comment: a draft, rewritten
      .replace(/^(\s+)last_name: \{[^}]*\} \}/m, '$1last_name: keep');
    expect(edited).toContain('last_name: keep #');
    await db.query('ALTER TABLE patients ADD COLUMN email text');
    await db.query("UPDATE patients SET email = 'p' || patient_id || '@example.org'");
    await db.query('ALTER TABLE visits DROP COLUMN reason');
    // a reviewed rule for a column that no longer exists stays: the plan will flag it for a human
    edited = edited.replace(/^(\s+)admitted_on: .*$/m, '$&\n$1legacy_col: keep # reviewed');
    // a table that is gone and had only drafted rules disappears
    edited += '  gone_table:\n    columns:\n      x: keep # other, confidence 0.30: no name, type, key or value evidence\n';
    try {
      const second = await runScan({ databaseUrl: db.url, schemas: ['public'], preset: 'hipaa-safe-harbor', existingPolicy: edited });
      const policy = parseYaml(second.draft.yaml) as { tables: Record<string, { columns: Record<string, unknown> }> };
      expect(policy.tables.patients!.columns.first_name).toBe('redact');
      expect(lineOf(second.draft.yaml, 'first_name')).toContain('# reviewed: we redact names');
      expect(policy.tables.patients!.columns.zip).toBe('redact');
      expect(policy.tables.patients!.columns.last_name).toEqual({ fake: { kind: 'last_name' } });
      expect(policy.tables.patients!.columns.email).toBe('pseudonymize');
      expect(lineOf(second.draft.yaml, 'email')).toMatch(/# email, confidence/);
      expect(policy.tables.visits!.columns).not.toHaveProperty('reason');
      expect(policy.tables.visits!.columns.legacy_col).toBe('keep');
      expect(policy.tables).not.toHaveProperty('gone_table');
      expect(second.draft.rules.filter((r) => r.reviewed).map((r) => r.column).sort()).toEqual(['first_name', 'zip']);
      // the header and the rest of the file the user wrote survive
      expect(second.draft.yaml.startsWith('# Draft policy written by `pgmask scan`')).toBe(true);
    } finally {
      await db.query('ALTER TABLE patients DROP COLUMN email');
      await db.query('ALTER TABLE visits ADD COLUMN reason text');
    }
  });

  it('merges into a hand-started policy: its settings stay, an empty table entry gets its columns', async () => {
    const existing = 'version: 1\nmasked_schema: analytics # ours\nruntime: sql\nsubject: patient_id\ntables:\n  visits:\n';
    const { draft } = await runScan({ databaseUrl: db.url, schemas: ['public'], existingPolicy: existing });
    const policy = parseYaml(draft.yaml) as { masked_schema: string; runtime: string; tables: Record<string, { columns: Record<string, unknown> }> };
    expect(policy.masked_schema).toBe('analytics');
    expect(policy.runtime).toBe('sql');
    expect(draft.yaml).toContain('masked_schema: analytics # ours');
    expect(Object.keys(policy.tables.visits!.columns)).toEqual(['visit_id', 'patient_id', 'admitted_on', 'reason']);
    expect(Object.keys(policy.tables)).toContain('patients');
  });

  it('refuses an existing policy that is not YAML', async () => {
    await expect(runScan({ databaseUrl: db.url, schemas: ['public'], existingPolicy: 'version: [1' })).rejects.toMatchObject({ code: 'EXISTING_POLICY_INVALID', exitCode: 2 });
  });

  it('marks reviewed rules as documented', () => {
    expect(isReviewedComment(null)).toBe(true);
    expect(isReviewedComment(' name, confidence 0.93: x')).toBe(false);
    expect(isReviewedComment(' reviewed name, confidence 0.93: x')).toBe(true);
    expect(isReviewedComment(' name, confidence 0.93: x (reviewed)')).toBe(true);
    expect(isReviewedComment(' ok per privacy board')).toBe(true);
  });

  it('writes one policy with a schemas: entry per scanned schema, which the policy parser accepts', async () => {
    const { draft } = await runScan({ databaseUrl: db.url, schemas: ['public', 'research'] });
    expect(parseAllDocuments(draft.yaml)).toHaveLength(1);
    const doc = parseYaml(draft.yaml) as { schemas: Record<string, { masked_schema: string; tables: Record<string, unknown> }> };
    expect(Object.keys(doc.schemas)).toEqual(['public', 'research']);
    expect(doc.schemas.research!.masked_schema).toBe('research_masked');
    expect(Object.keys(doc.schemas.research!.tables)).toEqual(['cohort']);
    const { policy } = await loadPolicyText(draft.yaml, 'draft.yaml');
    expect(policy.schemas.map((s) => `${s.source}→${s.masked}`)).toEqual(['public→public_masked', 'research→research_masked']);
    expect(policy.tables.filter((t) => t.sourceSchema === 'research').map((t) => t.name)).toEqual(['cohort']);
  });
});
