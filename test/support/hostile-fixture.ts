import { ident, literal, sql } from '../../src/sql/index.ts';
import { uniqueSuffix, type TestDatabase } from './db.ts';

/**
 * Names with quotes, `$$`, dollar-quote tags, spaces, comment markers and non-ASCII letters,
 * for a source schema with one table, a masked schema, a masking role and its login member.
 * `tag` keeps two test files apart (roles are cluster-wide).
 */
export function hostileNames(tag: string) {
  const s = uniqueSuffix();
  return {
    ROLE: `Analyst "${tag}" ${s}`,
    READER: `reader $$ ${tag} ${s}`,
    TABLE: `Pa"ti'ents $$ ü`,
    SOURCE: `Klinik "${tag}" '${s}'`,
    MASKED: `masked $${tag}$ Ü`,
    COLS: { id: `id "key"`, name: `Näme 'x'`, note: `note $$ -- /* */`, flag: `opt out?` },
  } as const;
}

export type HostileNames = ReturnType<typeof hostileNames>;

/** The source table with rows `a'1` (shown), `b2` (opted out) and, with `third`, `c3` (shown). */
export async function createHostileSource(db: TestDatabase, n: HostileNames, opts: { third?: boolean } = {}): Promise<void> {
  await db.query(sql`CREATE SCHEMA ${ident(n.SOURCE)}`);
  await db.query(sql`CREATE TABLE ${ident(n.SOURCE, n.TABLE)} (${ident(n.COLS.id)} text PRIMARY KEY, ${ident(n.COLS.name)} text, ${ident(n.COLS.note)} text, ${ident(n.COLS.flag)} boolean NOT NULL)`);
  const third = opts.third ? sql`, ('c3', 'Bo', 'n', false)` : sql``;
  await db.query(sql`INSERT INTO ${ident(n.SOURCE, n.TABLE)} VALUES (${literal("a'1")}, ${literal('Zoë')}, ${literal('$$x$$')}, false), ('b2', 'Ann', NULL, true)${third}`);
}

/** YAML double-quoted scalar */
const y = (v: string) => JSON.stringify(v);

/** The policy masking the hostile table for the role and its member; `filter` is written over the flag column's quoted name. */
export function hostilePolicy(n: HostileNames, filter: (flag: string) => string): string {
  return `version: 1
source_schema: ${y(n.SOURCE)}
masked_schema: ${y(n.MASKED)}
runtime: sql
roles:
  ${y(n.ROLE)}:
    members: [${y(n.READER)}]
tables:
  ${y(n.TABLE)}:
    filter: ${y(filter(ident(n.COLS.flag).text))}
    columns:
      ${y(n.COLS.id)}: pseudonymize
      ${y(n.COLS.name)}: { pseudonymize: { prefix: "it's $$ " } }
      ${y(n.COLS.note)}: redact
      ${y(n.COLS.flag)}: keep
`;
}
