import { ident, literal, sql, join, dollarQuoted, sqlExpression, trustedSqlText, typeName, type Sql } from '../sql/index.ts';
import type { CreateMaskedView, Expr, PlanNode, RowOrder, SubjectRoute } from './nodes.ts';
import { withKey, constant, columnReference, expressionNodes, mapExpression } from './expression.ts';
import type { MigrationPlan } from './planner.ts';
import { OWNER_ROLE } from './nodes.ts';
import { renderCitusNode } from './citus-render.ts';

/**
 * DDL nodes → SQL text. Deterministic: the same plan gives the same bytes. The
 * text runs inside the transaction the migration runner opens; it never opens or
 * commits one itself.
 */
export function renderPlan(plan: MigrationPlan): string {
  return plan.nodes.map((n) => renderNode(n).text.trimEnd()).join('\n\n') + '\n';
}

export function renderNode(node: PlanNode): Sql {
  switch (node.kind) {
    case 'Header':
      return comment(
        [
          `pgmask ${node.pgmaskVersion} migration`,
          `policy: ${node.policyFile} (sha256 ${node.policyHash})`,
          node.schemas.length === 1
            ? `runtime: ${node.runtime}; source schema: ${node.schemas[0]!.source}; masked schema: ${node.schemas[0]!.masked}`
            : `runtime: ${node.runtime}; schemas (source → masked): ${node.schemas.map((s) => `${s.source} → ${s.masked}`).join(', ')}`,
          ...(node.citus ? ['citus: every masked relation is a distributed (or reference) table, filled by INSERT … SELECT (docs/scale.md)'] : []),
          'generated SQL: review it, do not edit it (pgmask generate reproduces it byte for byte)',
        ].join('\n'),
      );
    case 'Preamble':
      // names in this migration are bound while it runs: nothing may come from a caller's search_path
      return sql`SET LOCAL search_path = pg_catalog;\nSET LOCAL client_min_messages = warning;`;
    case 'EnsureExtension':
      return sql`CREATE EXTENSION IF NOT EXISTS ${ident(node.name)} WITH SCHEMA ${ident(node.schema)};`;
    case 'InstallRuntime':
      return sql`-- transform functions of the ${trustedSqlText(node.runtime)} runtime
SET LOCAL search_path = pgmask, ${ident(node.pgcryptoSchema)}, pg_catalog, pg_temp;
${node.body}
SET LOCAL search_path = pg_catalog;`;
    case 'EnsureKey':
      // generated inside the database: the key never passes through pgmask, a log or this file
      // version 1 of a key the database does not have yet (an imported or rotated key is left alone)
      return sql`INSERT INTO pgmask_private.keys (name, version, key)
SELECT ${literal(node.name)}, 1, ${ident(node.pgcryptoSchema)}.gen_random_bytes(32)
WHERE NOT EXISTS (SELECT FROM pgmask_private.keys AS k WHERE k.name = ${literal(node.name)});`;
    case 'EnsureSchema':
      // pgmask_owner owns the views; REFRESH … CONCURRENTLY runs its queries as that owner
      return sql`CREATE SCHEMA IF NOT EXISTS ${ident(node.name)};
REVOKE ALL ON SCHEMA ${ident(node.name)} FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA ${ident(node.name)} TO ${ident(OWNER_ROLE)};`;
    case 'EnsureOwnerAccess':
      if (node.tables.length === 0) return sql`-- no source tables`;
      return sql`GRANT USAGE ON SCHEMA ${ident(node.schema)} TO ${ident(OWNER_ROLE)};
GRANT SELECT ON ${join(node.tables.map((t) => ident(node.schema, t)))} TO ${ident(OWNER_ROLE)};`;
    case 'DropView':
      return sql`-- ${sqlLine(node.reason)}
DROP ${node.table ? sql`TABLE` : node.materialized ? sql`MATERIALIZED VIEW` : sql`VIEW`} IF EXISTS ${ident(node.schema, node.name)};`;
    case 'CreateMaskedView': {
      const view = ident(node.schema, node.name);
      const comments = node.columns.map((c) => sql`COMMENT ON COLUMN ${ident(node.schema, node.name, c.name)} IS ${literal(c.comment)};`);
      const select = maskedSelect(node, { ordered: true, subjectOnce: true });
      if (node.materialized) {
        const indexes = node.indexes.map(
          (ix) => sql`CREATE ${ix.unique ? sql`UNIQUE INDEX` : sql`INDEX`} ${ident(ix.name)} ON ${view} (${join(ix.columns.map((c) => ident(c)))});`,
        );
        return sql`SET LOCAL search_path = pg_catalog, ${ident(node.sourceSchema)};
CREATE MATERIALIZED VIEW ${view} AS
${select}
WITH DATA;
SET LOCAL search_path = pg_catalog;
ALTER MATERIALIZED VIEW ${view} OWNER TO ${ident(OWNER_ROLE)};
REVOKE ALL ON ${view} FROM PUBLIC;
${join(indexes, '\n')}
ANALYZE ${view};
COMMENT ON MATERIALIZED VIEW ${view} IS ${literal(node.comment)};
${join(comments, '\n')}`;
      }
      return sql`SET LOCAL search_path = pg_catalog, ${ident(node.sourceSchema)};
CREATE OR REPLACE VIEW ${view} WITH (security_barrier) AS
${select};
SET LOCAL search_path = pg_catalog;
ALTER VIEW ${view} OWNER TO ${ident(OWNER_ROLE)};
REVOKE ALL ON ${view} FROM PUBLIC;
COMMENT ON VIEW ${view} IS ${literal(node.comment)};
${join(comments, '\n')}`;
    }
    case 'EnsureRole': {
      // race-safe: two databases of one cluster may create the same (cluster-wide) role at once
      const body = sql`
BEGIN
  CREATE ROLE ${ident(node.name)} NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END
`;
      return sql`DO ${dollarQuoted(body.text)};`;
    }
    case 'GrantMaskingRole': {
      const role = ident(node.role);
      const parts: Sql[] = [];
      for (const schema of node.schemas) {
        parts.push(sql`GRANT USAGE ON SCHEMA ${ident(schema.name)} TO ${role};`);
        if (schema.views.length > 0) parts.push(sql`GRANT SELECT ON ${join(schema.views.map((v) => ident(schema.name, v)))} TO ${role};`);
      }
      const searchPath = join(node.schemas.map((s) => ident(s.name)));
      for (const m of node.members) {
        parts.push(sql`GRANT ${role} TO ${ident(m)};`);
        parts.push(sql`ALTER ROLE ${ident(m)} IN DATABASE ${ident(node.database)} SET search_path = ${searchPath};`);
      }
      return join(parts, '\n');
    }
    case 'GrantBrokers': {
      const revealMany = sql`FUNCTION pgmask.reveal(text[], text, int4)`;
      const revealOne = sql`FUNCTION pgmask.reveal(text, text)`;
      // what was granted on them before, to anyone but the owner, is taken back first
      const reset = sql`
DECLARE
  grant_row record;
BEGIN
  FOR grant_row IN
    SELECT DISTINCT o.object, r.rolname
      FROM (SELECT 'FUNCTION pgmask.reveal(text[], text, int4)' AS object, p.proacl AS acl, p.proowner AS owner
              FROM pg_catalog.pg_proc AS p WHERE p.oid = 'pgmask.reveal(text[], text, int4)'::pg_catalog.regprocedure
            UNION ALL
            SELECT 'FUNCTION pgmask.reveal(text, text)', p.proacl, p.proowner
              FROM pg_catalog.pg_proc AS p WHERE p.oid = 'pgmask.reveal(text, text)'::pg_catalog.regprocedure
            UNION ALL
            SELECT 'TABLE pgmask.reveal_log', c.relacl, c.relowner
              FROM pg_catalog.pg_class AS c WHERE c.oid = 'pgmask.reveal_log'::pg_catalog.regclass) AS o
      CROSS JOIN LATERAL pg_catalog.aclexplode(o.acl) AS a
      JOIN pg_catalog.pg_roles AS r ON r.oid = a.grantee
     WHERE a.grantee <> o.owner AND NOT (o.object = 'TABLE pgmask.reveal_log' AND r.rolname = ${literal(OWNER_ROLE)})
  LOOP
    EXECUTE pg_catalog.format('REVOKE ALL ON %s FROM %I', grant_row.object, grant_row.rolname);
  END LOOP;
END
`;
      // A non-superuser may give a function away only to a role with CREATE on its schema, and
      // pgmask_owner must not keep CREATE on pgmask (it would let the key reader plant functions
      // there): it holds it for the handover only, inside this transaction.
      const handover = sql`
DECLARE
  lent boolean := false;
BEGIN
  IF (SELECT bool_and(p.proowner = ${literal(OWNER_ROLE)}::pg_catalog.regrole) FROM pg_catalog.pg_proc AS p
       WHERE p.oid IN ('pgmask.reveal(text[], text, int4)'::pg_catalog.regprocedure, 'pgmask.reveal(text, text)'::pg_catalog.regprocedure)) THEN
    RETURN;
  END IF;
  IF NOT pg_catalog.has_schema_privilege(${literal(OWNER_ROLE)}, 'pgmask', 'CREATE') THEN
    GRANT CREATE ON SCHEMA pgmask TO ${ident(OWNER_ROLE)};
    lent := true;
  END IF;
  ALTER ${revealMany} OWNER TO ${ident(OWNER_ROLE)};
  ALTER ${revealOne} OWNER TO ${ident(OWNER_ROLE)};
  IF lent THEN
    REVOKE CREATE ON SCHEMA pgmask FROM ${ident(OWNER_ROLE)};
  END IF;
END
`;
      const parts: Sql[] = [
        sql`-- honest brokers: pgmask.reveal reads keys as ${ident(OWNER_ROLE)}; only the policy's brokers may call it or read its log
DO ${dollarQuoted(handover.text)};
REVOKE ALL ON FUNCTION pgmask.reveal(text[], text, int4), pgmask.reveal(text, text) FROM PUBLIC;
DO ${dollarQuoted(reset.text)};`,
      ];
      for (const b of node.brokers) {
        const role = ident(b.role);
        parts.push(sql`GRANT EXECUTE ON FUNCTION pgmask.reveal(text[], text, int4), pgmask.reveal(text, text) TO ${role};
GRANT SELECT ON pgmask.reveal_log TO ${role};`);
        for (const m of b.members) parts.push(sql`GRANT ${role} TO ${ident(m)};`);
      }
      return join(parts, '\n');
    }
    case 'RevokeAccess': {
      const role = ident(node.role);
      const parts: Sql[] = [sql`-- offboarding: ${sqlLine(node.role)} is no longer a masking role of this policy`];
      if (node.views.length > 0) parts.push(sql`REVOKE ALL ON ${join(node.views.map((v) => ident(node.schema, v)))} FROM ${role};`);
      if (node.usage) parts.push(sql`REVOKE ALL ON SCHEMA ${ident(node.schema)} FROM ${role};`);
      return join(parts, '\n');
    }
    case 'RevokeMembership': {
      // PostgreSQL 16+ keeps one grant per grantor and a plain REVOKE takes back only the
      // revoker's own (with a WARNING): each grant is revoked by its grantor, and a membership
      // that survives fails the migration rather than staying silently
      const body = sql`
DECLARE
  grant_row record;
BEGIN
  IF pg_catalog.current_setting('server_version_num')::int >= 160000 THEN
    FOR grant_row IN
      SELECT DISTINCT pg_catalog.pg_get_userbyid(m.grantor) AS grantor FROM pg_catalog.pg_auth_members AS m
       WHERE m.roleid = ${roleOid(node.role)} AND m.member = ${roleOid(node.member)} AND pg_catalog.pg_has_role(m.grantor, 'USAGE')
    LOOP
      EXECUTE pg_catalog.format('REVOKE %I FROM %I GRANTED BY %I', ${literal(node.role)}, ${literal(node.member)}, grant_row.grantor);
    END LOOP;
  ELSE
    REVOKE ${ident(node.role)} FROM ${ident(node.member)};
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.pg_auth_members AS m
              WHERE m.roleid = ${roleOid(node.role)} AND m.member = ${roleOid(node.member)}) THEN
    RAISE EXCEPTION 'offboarding: % is still a member of %', ${literal(node.member)}, ${literal(node.role)}
      USING HINT = 'the membership was granted by a role this migrate may not revoke for: revoke it as a superuser, or list the member in the policy';
  END IF;
END
`;
      return sql`-- offboarding: ${sqlLine(node.member)} is no longer listed as a member of ${sqlLine(node.role)}
DO ${dollarQuoted(body.text)};${node.resetSearchPath ? sql`\nALTER ROLE ${ident(node.member)} IN DATABASE ${ident(node.database)} RESET search_path;` : sql``}`;
    }
    case 'RestrictPlv8':
      return sql`-- no masking role, member or PUBLIC may run its own PLV8 code in the context that receives the key
REVOKE USAGE ON LANGUAGE plv8 FROM PUBLIC;
${join(node.roles.map((r) => sql`REVOKE USAGE ON LANGUAGE plv8 FROM ${ident(r)};`), '\n')}`;
    case 'CitusPreamble':
    case 'CitusReferenceKeys':
    case 'CreateCitusMaskedTable':
    case 'FillCitusMaskedTable':
      return renderCitusNode(node);
    default: {
      const unreachable: never = node;
      throw new Error(`no renderer for plan node ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * A masked relation's query: every column masked, from the source table aliased `src`,
 * its filter and consent routes, and (`ordered`) its row order. Citus mode fills tables
 * with it unordered (an ORDER BY would stop Citus from repartitioning the INSERT … SELECT).
 */
export function maskedSelect(node: CreateMaskedView, opts: { ordered: boolean; subjectOnce: boolean }): Sql {
  const once = subjectOnce(node, opts.subjectOnce);
  const cols = node.columns.map((c, i) => sql`  ${once.columns[i]!} AS ${ident(c.name)}`);
  return sql`SELECT
${join(cols, ',\n')}
FROM ${ident(node.sourceSchema, node.sourceTable)} AS src${join(once.joins.map((j) => sql`\n${j}`), '')}${whereClause(node)}${opts.ordered ? orderBy(node.rowOrder) : sql``}`;
}

/** Keyed transform calls: an HMAC or a cipher each, what is worth doing once. */
const KEYED_CALLS: ReadonlySet<string> = new Set(['shift_date_days', 'pseudonymize', 'pseudonymize_int2', 'pseudonymize_int4', 'pseudonymize_int8', 'pseudonymize_uuid', 'encrypt', 'encrypt_fpe', 'fake']);

/**
 * Per-subject work once per subject. A transform call that reads only the subject column
 * (shift_date's offset, the subject's own pseudonym) gives one value per subject, yet
 * written inline it is computed for every row, and once per shifted column. Each distinct
 * such call moves into its own
 * `LEFT JOIN LATERAL (SELECT <call> AS v GROUP BY ()) AS pgmask_subject1 ON true`:
 * - the one empty grouping set makes the subquery provably one row (the call reads only the
 *   outer row, a constant at its level, so it needs no aggregate), and PostgreSQL removes the
 *   join from a query that reads none of its columns (it pays nothing:
 *   test/plan/subject-once.test.ts);
 * - a query that reads them computes the call once per row for all its columns, and
 *   PostgreSQL's Memoize caches it per subject value when subjects repeat (its cost model
 *   decides from the column's statistics).
 * Done only where it pays (docs/performance.md): the call serves two or more columns, or the
 * subject repeats across rows. A unique subject read by one column stays inline, where a
 * nested loop per row would cost more than it saves.
 */
function subjectOnce(node: CreateMaskedView, enabled: boolean): { columns: Sql[]; joins: Sql[] } {
  const subject = node.subject;
  const inline = { columns: node.columns.map((c) => c.expression), joins: [] as Sql[] };
  if (!enabled || subject === null) return inline;
  const perSubject = (n: Expr): boolean =>
    n.kind === 'TransformCall' && KEYED_CALLS.has(n.fn) && readsOnly(n, subject) && expressionNodes(n).some((l) => l.kind === 'ColumnReference');
  const calls = new Map<string, { call: Expr; uses: number }>();
  const collect = (n: Expr): void => {
    if (perSubject(n)) {
      const text = renderExpression(n).text;
      calls.set(text, { call: n, uses: (calls.get(text)?.uses ?? 0) + 1 });
    } else if (n.kind === 'Cast') collect(n.expression);
    else if (n.kind === 'TransformCall' || n.kind === 'SqlTemplate') n.args.forEach(collect);
  };
  for (const c of node.columns) collect(c.masked);
  const aliases = new Map<string, string>();
  const joins: Sql[] = [];
  for (const [text, { call, uses }] of calls) {
    if (uses < 2 && !node.subjectRepeats) continue;
    const alias = `pgmask_subject${aliases.size + 1}`;
    aliases.set(text, alias);
    joins.push(sql`LEFT JOIN LATERAL (SELECT ${renderExpression(call)} AS v GROUP BY ()) AS ${ident(alias)} ON true`);
  }
  if (aliases.size === 0) return inline;
  // a hoisted call holds no other (collect stops at the outermost), so mapping children first leaves its text as collected
  const replace = (n: Expr): Expr => {
    const alias = n.kind === 'TransformCall' ? aliases.get(renderExpression(n).text) : undefined;
    return alias === undefined ? n : columnReference(alias, 'v');
  };
  return { columns: node.columns.map((c) => renderExpression(mapExpression(c.masked, replace))), joins };
}

/** made of the source row's `column`, keys and constants only (nothing bound inside the expression) */
function readsOnly(n: Expr, column: string): boolean {
  return expressionNodes(n).every((l) => l.kind !== 'ColumnReference' || (l.table === 'src' && l.column === column));
}

/**
 * The view's own filter, then one `NOT EXISTS` per consent route: a row is hidden
 * when a row it references is hidden (by that table's subject-level filter, or
 * further up). The filter of a referenced table sits in a subquery over that table
 * alone, so its unqualified column names bind to it.
 *
 * @example
 *   -- observations, route encounter_id → encounters → patients (filter NOT research_opt_out)
 *   WHERE NOT EXISTS (SELECT 1 FROM "public"."encounters" AS pgmask_s1 WHERE pgmask_s1."encounter_id" = src."encounter_id"
 *     AND (EXISTS (SELECT 1 FROM "public"."patients" AS pgmask_s2 WHERE pgmask_s2."patient_id" = pgmask_s1."patient_id"
 *       AND ((NOT research_opt_out) IS NOT TRUE))))
 */
function whereClause(node: CreateMaskedView): Sql {
  const conditions = rowConditions(node);
  if (conditions.length === 0) return sql``;
  return sql`\nWHERE ${join(conditions, '\n  AND ')}`;
}

function rowConditions(node: CreateMaskedView): Sql[] {
  const conditions: Sql[] = [];
  if (node.filter !== null) conditions.push(sqlExpression(node.filter));
  for (const route of node.subjectRoutes) conditions.push(sql`NOT EXISTS (${hiddenReference(route, ident('src'), 1)})`);
  return conditions;
}

/** Which source rows (alias `src`) the view shows: its filter and consent routes, or `true`. */
export function visibleRowCondition(node: CreateMaskedView): Sql {
  const conditions = rowConditions(node);
  return conditions.length === 0 ? sql`true` : sql`(${join(conditions, ' AND ')})`;
}

/** `SELECT 1` from the referenced row when it is hidden. */
function hiddenReference(route: SubjectRoute, outer: Sql, depth: number): Sql {
  const alias = ident(`pgmask_s${depth}`);
  const match = join(
    route.columns.map((c, i) => sql`${alias}.${ident(route.refColumns[i]!)} = ${outer}.${ident(c)}`),
    ' AND ',
  );
  // NULL counts as hidden, as in the referenced table's own view (WHERE keeps only true)
  const reasons: Sql[] = [];
  if (route.filter !== null) reasons.push(sql`${sqlExpression(route.filter)} IS NOT TRUE`);
  for (const onward of route.routes) reasons.push(sql`EXISTS (${hiddenReference(onward, alias, depth + 1)})`);
  return sql`SELECT 1 FROM ${ident(route.refSchema, route.refTable)} AS ${alias} WHERE ${match} AND (${join(reasons, ' OR ')})`;
}

/**
 * Keyed order: a 64-bit seed derived from the key (sha256 of key and a label, so
 * the key itself is never an operand of the fast hash) selects one of 2^64
 * orders of the row keys; the seed is an InitPlan, computed once per query.
 */
function orderBy(order: RowOrder): Sql {
  switch (order.kind) {
    case 'storage':
      return sql``;
    case 'masked key':
      return sql`\nORDER BY ${join(order.positions.map((p) => literal(p)))}`;
    case 'keyed': {
      const seed = sql`(SELECT ('x' || pg_catalog.encode(pg_catalog.substr(pg_catalog.sha256(pgmask_k.key || ${literal('pgmask row order')}::bytea), 1, 8), 'hex'))::bit(64)::int8 FROM (SELECT ${renderExpression(order.key)} AS key) AS pgmask_k)`;
      return sql`\nORDER BY pg_catalog.hashtextextended(${renderExpression(order.rowKey)}, ${seed})`;
    }
    default: {
      const unreachable: never = order;
      throw new Error(`no renderer for row order ${JSON.stringify(unreachable)}`);
    }
  }
}

/**
 * Expression nodes → SQL text (one place, exhaustive like renderNode).
 *
 * @example
 *   renderExpression(cast(transformCall('zip3', cast(columnReference('src', 'zip'), 'text'), constant(sql`'{036}'::text[]`)), 'text', false))
 *   // CAST(pgmask.zip3(src."zip"::text, '{036}'::text[]) AS text)
 */
export function renderExpression(node: Expr): Sql {
  switch (node.kind) {
    case 'ColumnReference':
      return sql`${ident(node.table)}.${ident(node.column)}`;
    case 'KeyReference':
      return keySubquery(node.name, node.version);
    case 'Cast':
      // a cast binds tighter than any operator: the operand is parenthesized unless it is a leaf or a call
      if (node.short) {
        const operand = renderExpression(node.expression);
        const e = node.expression;
        const leaf = e.kind === 'ColumnReference' || e.kind === 'TransformCall' || e.kind === 'KeyReference' || (e.kind === 'Constant' && /^[A-Za-z_"][\w."]*$/.test(e.sql.text));
        return sql`${leaf ? operand : sql`(${operand})`}::${typeName(node.type)}`;
      }
      return sql`CAST(${renderExpression(node.expression)} AS ${typeName(node.type)})`;
    case 'Constant':
      return node.sql;
    case 'TransformCall':
      return sql`pgmask.${/^[a-z_][a-z0-9_]*$/.test(node.fn) ? trustedSqlText(node.fn) : ident(node.fn)}(${join(node.args.map(renderExpression))})`;
    case 'SqlTemplate': {
      const parts: Sql[] = [node.fragments[0]!];
      node.args.forEach((a, i) => parts.push(renderExpression(a), node.fragments[i + 1]!));
      return join(parts, '');
    }
    default: {
      const unreachable: never = node;
      throw new Error(`no renderer for expression node ${JSON.stringify(unreachable)}`);
    }
  }
}

/** The key as views read it: a scalar subquery naming the key's version, which PostgreSQL evaluates once per query (an InitPlan). */
export function keySubquery(name: string, version: number): Sql {
  return sql`(SELECT k.key FROM pgmask_private.keys AS k WHERE k.name = ${literal(name)} AND k.version = ${literal(version)})`;
}

/**
 * A masked column's expression with every key reference replaced by `key` (a bytea SQL
 * expression): what the column would show under another key. verify's oracle uses it.
 */
export function renderWithKey(masked: Expr, key: Sql): Sql {
  return renderExpression(withKey(masked, constant(sql`(${key})`)));
}

/** a SQL line comment; newlines in the text become new comment lines */
function comment(text: string): Sql {
  return join(text.split('\n').map((l) => sql`-- ${sqlLine(l)}`), '\n');
}

/** text for inside a `--` comment: a comment ends at the newline, which is removed, so any other character is inert */
/** a role's oid by exact name (a regrole cast would fold an unquoted mixed-case name) */
function roleOid(name: string): Sql {
  return sql`(SELECT r.oid FROM pg_catalog.pg_roles AS r WHERE r.rolname = ${literal(name)})`;
}

function sqlLine(text: string): Sql {
  return trustedSqlText(text.replace(/[\r\n\u2028\u2029]+/g, ' '));
}
