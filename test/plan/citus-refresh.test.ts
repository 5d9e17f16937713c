import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type pg from 'pg';
import { parsePolicy } from '../../src/policy/parse.ts';
import { registry } from '../../src/transforms/registry.ts';
import { planMigration } from '../../src/plan/planner.ts';
import { renderNode } from '../../src/plan/render.ts';
import { keyVersionsOfComment } from '../../src/plan/citus.ts';
import { citusFills, refreshCitus } from '../../src/db/citus.ts';
import { PgmaskError } from '../../src/errors.ts';
import type { CatalogSnapshot, CatalogTable } from '../../src/catalog/catalog-snapshot.ts';
import type { CreateCitusMaskedTable } from '../../src/plan/nodes.ts';
import { citusClinicSnapshot } from './citus-fixture.ts';

/**
 * `pgmask refresh` in Citus mode after `pgmask keys rotate`. On one server a materialized
 * view names the key version it was migrated with, so REFRESH keeps that version until the
 * next migrate; the Citus refresh re-plans its fills, and must name the same version: the
 * one the masked table's comment recorded at migrate, not the newest in pgmask_private.keys.
 */
const policy = parsePolicy(readFileSync(new URL('../../examples/clinic.yaml', import.meta.url), 'utf8'), 'examples/clinic.yaml', registry);

/** The coordinator after a migrate run while `default` was at `migratedWith`, now at `current`. */
function coordinator(migratedWith: number, current: number): CatalogSnapshot {
  const before = citusClinicSnapshot({ keyVersions: { default: migratedWith } });
  const tables = planMigration({ policy, snapshot: before, registry, runtime: 'sql', runtimeSql: '', pgmaskVersion: '0.1.0' }).nodes.filter(
    (n): n is CreateCitusMaskedTable => n.kind === 'CreateCitusMaskedTable',
  );
  const masked = tables.map(
    (t): CatalogTable => ({
      schema: t.schema,
      name: t.name,
      kind: 'table',
      owner: 'pgmask_owner',
      columns: [],
      primaryKey: null,
      foreignKeys: [],
      privileges: [],
      comment: t.comment,
      estimatedRows: 0,
    }),
  );
  const citus = before.citus!;
  return {
    ...before,
    keyVersions: { default: current },
    schemas: [...before.schemas, 'masked'],
    tables: [...before.tables, ...masked],
    citus: { ...citus, tables: [...citus.tables, ...tables.map((t) => ({ schema: t.schema, name: t.name, placement: 'distributed' as const, distributionColumn: 'patient_id', colocationId: 2 }))] },
  };
}

const keyVersionsIn = (text: string) => [...new Set([...text.matchAll(/k\.name = 'default' AND k\.version = (\d+)/g)].map((m) => Number(m[1])))];

describe('Citus refresh after pgmask keys rotate', () => {
  it('records the key versions a masked table is filled with in its comment', () => {
    const comment = coordinator(3, 3).tables.find((t) => t.schema === 'masked' && t.name === 'patients')!.comment;
    expect(comment).toMatch(/; keys default v3\)$/);
    expect(keyVersionsOfComment(comment)).toEqual({ default: 3 });
    expect(keyVersionsOfComment('pgmask: masked table (Citus) of public.lab_codes (policy sha256 0123456789abcdef)')).toEqual({});
  });

  it('refills with the version the tables were migrated with, not the rotated one (as REFRESH of a materialized view does)', () => {
    const fills = citusFills(policy, registry, coordinator(1, 2));
    expect(fills.map((f) => f.name)).toEqual(['patients', 'encounters', 'observations', 'notes']);
    for (const f of fills) expect(keyVersionsIn(renderNode(f).text)).toEqual([1]);
  });

  it('uses the new version once migrate has rebuilt the tables with it', () => {
    for (const f of citusFills(policy, registry, coordinator(2, 2))) expect(keyVersionsIn(renderNode(f).text)).toEqual([2]);
  });

  it('refuses to refill tables migrated from another version of the policy (NOT_MIGRATED, exit 5) before touching the database', async () => {
    const other = parsePolicy(readFileSync(new URL('../../examples/clinic.yaml', import.meta.url), 'utf8') + '\n# changed\n', 'examples/clinic.yaml', registry);
    // no statement is sent: the drift is seen in the catalog snapshot
    const unused = new Proxy({}, { get: () => { throw new Error('the database was touched'); } }) as pg.ClientBase;
    const e = await refreshCitus(unused, other, registry, coordinator(1, 1)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(PgmaskError);
    expect((e as PgmaskError).code).toBe('NOT_MIGRATED');
    expect((e as PgmaskError).exitCode).toBe(5);
    expect((e as PgmaskError).message).toContain('masked.patients was migrated from another version of the policy');
  });
});
