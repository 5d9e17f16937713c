import { findTable } from '../catalog/catalog-snapshot.ts';
import { routeKey } from '../plan/subject-routes.ts';
import type { PolicyTable } from '../policy/policy.ts';
import { ident, join, sql } from '../sql/index.ts';
import { held, leaked, listSome, skipped, type Attack } from './attack-session.ts';

/**
 * Consent filters reach child tables. When `patients` hides an opted-out patient
 * but `encounters` still shows their rows, an anti-join of the child view against
 * the parent view lists exactly the rows of hidden subjects (and so who opted
 * out). The attack runs that anti-join as the analyst for every foreign key
 * between two masked relations whose parent hides rows that cascade (a
 * subject-level filter, or a route onward from it) and whose key columns join
 * after masking (pseudonymized with the same key, or kept). With several source
 * schemas, each schema's run takes its own tables as children and looks for their
 * parents in every schema of the policy, so a route that crosses schemas is attacked
 * once, from the child's side.
 */

/** Rules under which masked key columns still join (both ends the same rule and key). */
const JOINABLE = new Set(['pseudonymize', 'keep']);

const consentReach: Attack = {
  id: 'consent-reach',
  title: "anti-join each masked child relation against its parent's masked relation: no visible row may reference a row a subject-level filter hides",
  async run(s) {
    // the children are this section's tables; their parents may be in any source schema of the policy
    const { policy, wholePolicy, snapshot, subjectRoutes } = s.facts;
    const found: string[] = [];
    const notes: string[] = [];
    const ptableAt = (schema: string, name: string) => wholePolicy.tables.find((t) => t.sourceSchema === schema && t.name === name);
    // which parents can hide rows that cascade: a subject-level filter, or a consent route onward from them
    const cascades = (parent: PolicyTable) =>
      (parent.filter !== null && parent.filterAppliesTo === 'subject') || (subjectRoutes.get(routeKey(parent.sourceSchema, parent.name))?.length ?? 0) > 0;
    let pairs = 0;
    for (const child of policy.tables) {
      const table = findTable(snapshot, child.sourceSchema, child.name);
      for (const fk of table?.foreignKeys ?? []) {
        const parent = ptableAt(fk.refSchema, fk.refTable);
        if (!parent || (parent.sourceSchema === child.sourceSchema && parent.name === child.name) || !cascades(parent)) continue;
        // a parent in another masked schema is named with it (one schema: the names read as before)
        const parentName = parent.maskedSchema === child.maskedSchema ? parent.name : `${parent.maskedSchema}.${parent.name}`;
        const label = `${child.name}(${fk.columns.join(', ')}) → ${parentName}`;
        const ruleOf = (t: PolicyTable, c: string) => t.columns.find((pc) => pc.name === c)?.rule;
        const joinable = fk.columns.every((c, i) => {
          const a = ruleOf(child, c);
          const b = ruleOf(parent, fk.refColumns[i]!);
          return a && b && a.transform === b.transform && JOINABLE.has(a.transform) && a.key === b.key;
        });
        if (!joinable) {
          notes.push(`${label}: not joinable after masking, not checked`);
          continue;
        }
        if (child.subjectVia === 'none' || (Array.isArray(child.subjectVia) && !fk.columns.some((c) => (child.subjectVia as readonly string[]).includes(c)))) {
          notes.push(`${label}: not a consent route by the policy's subject_via (a reviewed decision)`);
          continue;
        }
        pairs++;
        const childView = ident(child.maskedSchema, child.name);
        const parentView = ident(parent.maskedSchema, parent.name);
        const notNull = join(fk.columns.map((c) => sql`c.${ident(c)} IS NOT NULL`), ' AND ');
        const match = join(fk.columns.map((c, i) => sql`p.${ident(fk.refColumns[i]!)} = c.${ident(c)}`), ' AND ');
        const r = await s.attempt<{ n: number }>(sql`SELECT count(*)::float8 AS n FROM ${childView} AS c WHERE ${notNull} AND NOT EXISTS (SELECT 1 FROM ${parentView} AS p WHERE ${match})`);
        if (!r.ok) {
          notes.push(`${label}: ${r.error}`);
          continue;
        }
        const n = r.rows[0]!.n;
        if (n > 0) found.push(`${child.maskedSchema}.${child.name}: ${n} row(s) reference a ${parentName} row the analyst cannot see (${fk.columns.join(', ')})`);
        else notes.push(`${label}: 0 rows of hidden subjects`);
      }
    }
    if (found.length > 0) return leaked(`rows of subjects a consent filter hides are visible in child tables, and an anti-join names the hidden subjects: ${listSome(found, 4)}`, found);
    if (pairs === 0 && notes.length === 0) return held('no masked table references a table whose row filter hides subjects: no hidden subject to reach');
    if (pairs === 0) return skipped(`no foreign key could be checked: ${listSome(notes, 4)}`);
    return held(listSome(notes, 8));
  },
};

export const consentAttacks: readonly Attack[] = [consentReach];
