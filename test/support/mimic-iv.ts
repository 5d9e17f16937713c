import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The public MIMIC-IV DDL (test/support/fixtures/mimic-iv.ddl.sql: hosp and icu with their
 * primary and foreign keys, note), the one copy the scan and operations tests share.
 */
export const MIMIC_IV_DDL = join(import.meta.dirname, 'fixtures', 'mimic-iv.ddl.sql');

/**
 * The DDL, whole or for some tables (`schema.table`): their CREATE TABLE statements and the
 * keys among them (a foreign key to a table left out is left out too), after the schemas.
 */
export function mimicIvDdl(tables?: readonly string[]): string {
  const text = readFileSync(MIMIC_IV_DDL, 'utf8');
  if (!tables) return text;
  const statements = text
    .replace(/^--.*$/gm, '')
    .split(/;\s*\n/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const wanted = new Set(tables);
  const kept = statements.filter((s) => {
    if (/^CREATE SCHEMA /.test(s)) return true;
    const table = /^(?:CREATE|ALTER) TABLE (\S+)/.exec(s)?.[1];
    if (table === undefined || !wanted.has(table)) return false;
    const referenced = /REFERENCES (\S+)/.exec(s)?.[1];
    return referenced === undefined || wanted.has(referenced);
  });
  const missing = tables.filter((t) => !kept.some((s) => s.startsWith(`CREATE TABLE ${t}\n`) || s.startsWith(`CREATE TABLE ${t} `)));
  if (missing.length > 0) throw new Error(`mimic-iv.ddl.sql has no table ${missing.join(', ')}`);
  return kept.map((s) => `${s};`).join('\n\n');
}
