import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { TestDatabase } from '../support/db.ts';
import { mimicIvDdl } from '../support/mimic-iv.ts';
import { isCategory, type Category } from '../../src/scan/category.ts';

const dir = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** The three labelled schemas the classifier was developed against. */
export const fixtureNames = ['ehr', 'omop', 'lims'] as const;
/**
 * A schema with real-world (MIMIC-III) column names, written after the rules and
 * first scored before any change to them (see the precision/recall test).
 */
export const heldOutFixtureNames = ['heldout-mimic'] as const;
export type FixtureName = (typeof fixtureNames)[number] | (typeof heldOutFixtureNames)[number];

/** Creates the fixture's tables and data (and the deterministic helpers) in a test database. */
export async function loadFixture(db: TestDatabase, name: FixtureName): Promise<void> {
  await db.query(await readFile(`${dir}common.sql`, 'utf8'));
  await db.query(await readFile(`${dir}${name}.sql`, 'utf8'));
}

/** The labelled ground truth: `table.column` → category. */
export function loadTruth(name: FixtureName): Promise<ReadonlyMap<string, Category>> {
  return readTruth(name);
}

async function readTruth(name: string): Promise<ReadonlyMap<string, Category>> {
  const raw = JSON.parse(await readFile(`${dir}${name}.truth.json`, 'utf8')) as Record<string, string>;
  const truth = new Map<string, Category>();
  for (const [column, category] of Object.entries(raw)) {
    if (!isCategory(category)) throw new Error(`${name}.truth.json: ${column} has unknown category ${category}`);
    truth.set(column, category);
  }
  return truth;
}

/** The public clinical data models, as DDL from their projects plus synthetic rows (see the .ddl.sql and .data.sql files). */
export const clinicalModels = {
  'omop-cdm-5.4': { schemas: ['omop'] },
  'mimic-iv': { schemas: ['mimiciv_hosp', 'mimiciv_icu', 'mimiciv_note'] },
} as const;
export type ClinicalModel = keyof typeof clinicalModels;

/** Creates one clinical model's schemas, keys and synthetic rows in a test database (a few seconds). */
export async function loadClinicalModel(db: TestDatabase, name: ClinicalModel): Promise<void> {
  for (const file of ['common.sql', 'fill.sql']) await db.query(await readFile(`${dir}${file}`, 'utf8'));
  // the MIMIC-IV DDL is shared with the operations tests (test/support/fixtures)
  await db.query(name === 'mimic-iv' ? mimicIvDdl() : await readFile(`${dir}${name}.ddl.sql`, 'utf8'));
  await db.query(await readFile(`${dir}${name}.data.sql`, 'utf8'));
}

/** The labelled ground truth of a clinical model: `schema.table.column` → category. */
export function loadModelTruth(name: ClinicalModel): Promise<ReadonlyMap<string, Category>> {
  return readTruth(name);
}
