import type pg from 'pg';
import type { Policy } from '../policy/policy.ts';
import type { CatalogSnapshot } from '../catalog/catalog-snapshot.ts';
import { findCitusTable } from '../catalog/catalog-snapshot.ts';
import { ident, literal, sql, textLiteral, type Sql } from '../sql/index.ts';
import { held, leaked, listSome, skipped, type Attack, type AttackSession, type Outcome } from './attack-session.ts';
import { copyOut } from './source-access-attacks.ts';
import { query } from '../db/query.ts';

/**
 * Citus (docs/scale.md): a masking role that can read a raw shard on a worker reads the
 * source table, whatever the coordinator's grants say (a direct connection to the worker,
 * run_command_on_placements). The admin asks every placement of every source table Citus
 * holds, on its worker, which of the masking roles, their members and PUBLIC may SELECT it
 * (has_table_privilege follows memberships). A NOLOGIN masking role cannot connect to a
 * worker itself, so this is read as the admin rather than tried as the role.
 */

/** One placement of a source table and who may read it there (null: the worker could not tell, with why). */
export interface ShardReaders {
  readonly table: string;
  readonly node: string;
  readonly shardId: string;
  readonly readers: readonly string[] | null;
  readonly error: string | null;
}

/** Every placement of the policy's Citus source tables with its readers among `roles` (run as the admin). */
export async function gatherShardReaders(client: pg.ClientBase, policy: Policy, snapshot: CatalogSnapshot, roles: readonly string[]): Promise<ShardReaders[]> {
  const names = literal(`{${[...roles, 'public'].map((r) => `"${r.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`);
  // %s is the placement's qualified shard name (run_command_on_placements substitutes it)
  const command = sql`SELECT pg_catalog.array_to_string(ARRAY(SELECT r FROM pg_catalog.unnest(${names}::text[]) AS r WHERE pg_catalog.has_table_privilege(r, '%s', 'SELECT') ORDER BY 1), ',')`;
  const out: ShardReaders[] = [];
  for (const t of policy.tables) {
    if (!findCitusTable(snapshot, t.sourceSchema, t.name)) continue;
    const rows = (
      await query<{ nodename: string; nodeport: number; shardid: string; success: boolean; result: string }>(
        client,
        sql`SELECT nodename, nodeport, shardid::text AS shardid, success, result
              FROM pg_catalog.run_command_on_placements(${textLiteral(ident(t.sourceSchema, t.name))}::pg_catalog.regclass, ${textLiteral(command)})`,
      )
    ).rows;
    for (const r of rows) {
      out.push({
        table: `${t.sourceSchema}.${t.name}`,
        node: `${r.nodename}:${r.nodeport}`,
        shardId: r.shardid,
        readers: r.success ? (r.result === '' ? [] : r.result.split(',')) : null,
        error: r.success ? null : r.result,
      });
    }
  }
  return out;
}

/** The verdict for one role: leaked when a placement lets it (or PUBLIC) read a raw shard; skipped when a placement could not be asked. */
export function judgeShardReaders(role: string, placements: readonly ShardReaders[]): Outcome {
  if (placements.length === 0) return held('no source table of the policy is distributed or a reference table: there is no raw shard on a worker');
  const readable = placements.filter((p) => p.readers?.includes(role) || p.readers?.includes('public'));
  if (readable.length > 0) {
    const found = readable.map((p) => `${p.table} shard ${p.shardId} on ${p.node} is readable by ${p.readers!.includes(role) ? role : 'PUBLIC'}`);
    return leaked(`raw shards are readable on the workers: ${listSome(found, 3)}`, found);
  }
  const unknown = placements.filter((p) => p.readers === null);
  if (unknown.length > 0) return skipped(`${unknown.length} of ${placements.length} shard placement(s) could not be asked: ${listSome([...new Set(unknown.map((p) => `${p.node}: ${p.error}`))], 2)}`);
  return held(`none of the ${placements.length} placements of the source tables' shards is readable by ${role} or PUBLIC on its worker`);
}

const shardAccess: Attack = {
  id: 'citus-shards',
  title: 'read the raw shards of the source tables on the Citus workers (privileges of every placement, on its worker)',
  appliesToDatabase: (facts) => facts.snapshot.citus !== undefined,
  async run(s) {
    if (s.facts.shardReaders === null) return skipped('the shard placements could not be read as the admin (run_command_on_placements failed)');
    return judgeShardReaders(s.subject.role, s.facts.shardReaders);
  },
};

/**
 * COPY of distributed tables as the subject. Citus runs `COPY t TO STDOUT` of a distributed
 * table itself: it sends `COPY <shard> TO STDOUT` to a placement of every shard over
 * connections opened as the current role, without the coordinator's own permission check
 * (Citus source, multi_copy.c of Citus 10–11: ProcessCopyStmt, CitusCopyTo; newer versions not read), so only the shards' grants on
 * the workers decide; `COPY (SELECT …) TO STDOUT` is a query, checked on the coordinator.
 * Both must be refused on every raw table. The control is the same COPY of a masked table
 * the subject may read: when it fails too (a NOLOGIN role, no node-to-node access), the
 * refusals prove nothing and the attack is skipped, never held.
 */
export async function copyDistributedTables(s: AttackSession, raw: readonly Sql[], masked: Sql | null): Promise<Outcome> {
  if (raw.length === 0) return held('no source table of the policy is distributed or a reference table');
  if (masked === null) return skipped('no masked table to COPY as the control (is the policy migrated in Citus mode?)');
  const control = await copyOut(s, sql`COPY ${masked} TO STDOUT`);
  if (!control.ok) return skipped(`COPY ${masked.text} TO STDOUT, which the role may read, failed as well (${control.error}), so a refused COPY of the raw tables proves nothing: attack as a login member with node-to-node access`);
  const found: string[] = [];
  for (const table of raw) {
    for (const attempt of [sql`COPY ${table} TO STDOUT`, sql`COPY (SELECT * FROM ${table} LIMIT 1) TO STDOUT`]) {
      const r = await copyOut(s, attempt);
      if (r.ok) found.push(`${attempt.text} returned ${r.bytes} bytes`);
    }
  }
  if (found.length > 0) return leaked(`COPY read raw distributed tables: ${listSome(found, 3)}`, found);
  return held(`COPY of each of the ${raw.length} raw distributed table(s) was refused (table and query form), while COPY of ${masked.text} returned ${control.bytes} bytes`);
}

const copyDistributed: Attack = {
  id: 'citus-copy',
  title: 'COPY the raw distributed tables TO STDOUT (Citus copies shard by shard, checked only on the workers) and COPY (SELECT …) of them',
  appliesToDatabase: (facts) => facts.snapshot.citus !== undefined,
  async run(s) {
    const { policy, snapshot, maskedViews } = s.facts;
    const raw = (snapshot.citus?.tables ?? []).filter((t) => t.schema === policy.sourceSchema).map((t) => ident(t.schema, t.name));
    const masked = maskedViews.find((v) => v.kind === 'table' && v.pgmask);
    return copyDistributedTables(s, raw, masked ? ident(policy.maskedSchema, masked.name) : null);
  },
};

export const citusAttacks: readonly Attack[] = [shardAccess, copyDistributed];
