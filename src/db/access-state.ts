import type pg from 'pg';
import type { AccessState } from '../catalog/access-state.ts';
import { databaseError } from '../errors.ts';
import { query } from './query.ts';
import { param, sql } from '../sql/index.ts';

export type { AccessState } from '../catalog/access-state.ts';

/** Reads the AccessState of `maskedSchemas` (any that do not exist yet are skipped). */
export async function readAccessState(client: pg.ClientBase, maskedSchemas: readonly string[]): Promise<AccessState> {
  try {
    const usage = await query<{ schema: string; grantee: string }>(
      client,
      sql`SELECT n.nspname AS schema, r.rolname AS grantee
         FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
         JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
        WHERE n.nspname = ANY(${param(maskedSchemas)}::text[]) AND a.privilege_type = 'USAGE' AND a.grantee <> n.nspowner
        ORDER BY 1, 2`,
    );
    const paths = await query<{ role: string; here: boolean; value: string }>(
      client,
      sql`SELECT r.rolname AS role, s.setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()) AS here,
              substr(c, length('search_path=') + 1) AS value
         FROM pg_catalog.pg_db_role_setting s
         JOIN pg_catalog.pg_roles r ON r.oid = s.setrole, pg_catalog.unnest(s.setconfig) AS c
        WHERE s.setdatabase <> 0 AND c LIKE 'search_path=%'
        ORDER BY 1, 2`,
    );
    const lang = await query<{ lanname: string }>(
      client,
      sql`SELECT l.lanname FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace JOIN pg_catalog.pg_language l ON l.oid = p.prolang
        WHERE n.nspname = 'pgmask' AND p.proname = 'pseudonymize' LIMIT 1`,
    );
    const canRead = await query<{ ok: boolean }>(
      client,
      sql`SELECT pg_catalog.to_regclass('pgmask_private.keys') IS NOT NULL AND pg_catalog.has_table_privilege('pgmask_private.keys', 'SELECT') AS ok`,
    );
    const installed = (await query<{ ok: boolean }>(client, sql`SELECT pg_catalog.to_regclass('pgmask_private.keys') IS NOT NULL AS ok`)).rows[0]!.ok;
    // not installed yet: no key exists, every key of the policy is new; installed but unreadable: unknown
    const keys = !installed ? [] : canRead.rows[0]!.ok ? (await query<{ name: string }>(client, sql`SELECT name FROM pgmask_private.keys ORDER BY name`)).rows.map((r) => r.name) : null;
    const v16 = (await query<{ v: number }>(client, sql`SELECT pg_catalog.current_setting('server_version_num')::int AS v`)).rows[0]!.v >= 160000;
    const inert = v16
      ? (
          await query<{ role: string; member: string }>(
            client,
            sql`SELECT g.rolname AS role, u.rolname AS member
               FROM pg_catalog.pg_auth_members m
               JOIN pg_catalog.pg_roles g ON g.oid = m.roleid JOIN pg_catalog.pg_roles u ON u.oid = m.member
              GROUP BY 1, 2 HAVING NOT pg_catalog.bool_or(m.inherit_option OR m.set_option)
              ORDER BY 1, 2`,
          )
        ).rows
      : [];
    const language = lang.rows[0]?.lanname;
    return Object.freeze({
      schemaUsage: usage.rows,
      searchPaths: paths.rows,
      runtime: language === undefined ? null : language === 'plv8' ? 'plv8' : 'sql',
      keys,
      inertMemberships: inert,
    });
  } catch (cause) {
    throw databaseError(cause, 'cannot read the grants and role settings of the masked schemas');
  }
}
