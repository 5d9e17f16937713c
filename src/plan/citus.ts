import type { Policy, PolicyTable } from '../policy/policy.ts';
import type { CatalogSnapshot } from '../catalog/catalog-snapshot.ts';
import { findCitusTable } from '../catalog/catalog-snapshot.ts';
import { ExitCode, PgmaskError, type ErrorDetail } from '../errors.ts';
import { attachSourceMap, formatPath, policyLocation, policySourceMap } from '../policy/policy-source-map.ts';
import type { CitusPlacement, CreateCitusMaskedTable, CreateMaskedView, Expr, FillCitusMaskedTable, MaskedIndex, PlanNode, SubjectRoute } from './nodes.ts';
import { maskedSelect } from './render.ts';

/**
 * Citus mode (docs/scale.md). A view of a distributed table runs its shard queries as the
 * querying role, so the analyst would need the raw shards; instead every masked relation
 * is a table in the masked schema, owned by pgmask_owner: hash-distributed by the
 * pseudonymized subject column and co-located with the other tables of that subject, or a
 * reference table when the table has no subject. The migration fills it by INSERT … SELECT
 * from the raw tables and CLUSTERs it on its masked key (the row order of materialized
 * masking on one server); `pgmask refresh` refills every masked table in one transaction.
 * The keys become a reference table. Pure: the planner calls it with the nodes it built.
 */

/** On when the policy says `citus: true`, or says nothing and the citus extension is installed. */
export function citusMode(policy: Pick<Policy, 'citus'>, snapshot: CatalogSnapshot): boolean {
  const installed = snapshot.installedExtensions['citus'] !== undefined;
  if (policy.citus === true && !installed) {
    throw new PgmaskError({
      code: 'CITUS_UNAVAILABLE',
      message: `the policy asks for Citus mode (citus: true) but database ${snapshot.database} has no citus extension (pg_extension)`,
      hint: 'run pgmask against the Citus coordinator (where CREATE EXTENSION citus was run), or remove `citus: true` to mask this server with views. Nothing was changed',
      exitCode: ExitCode.invalidPolicy,
    });
  }
  return policy.citus ?? installed;
}

/**
 * The login member a NOLOGIN masking role's reads of distributed masked tables go through:
 * Citus opens its worker connections as the current role (Citus source, metadata_cache.c:
 * CurrentUserName() is GetUserId(), which SET ROLE and SET SESSION AUTHORIZATION change), and
 * a NOLOGIN role cannot log in there. The first of the policy's members that exists and can
 * log in, else the first other login member by name; never a superuser (it would read
 * anything); null when there is none. Used by report and verify.
 */
export function citusLoginMember(policy: Pick<Policy, 'roles'>, snapshot: CatalogSnapshot, role: string): string | null {
  const listed = policy.roles.find((r) => r.name === role)?.members ?? [];
  const members = snapshot.roles.filter((r) => r.canLogin && !r.superuser && r.memberOf.includes(role)).map((r) => r.name);
  const others = members.filter((m) => !listed.includes(m)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return [...listed.filter((m) => members.includes(m)), ...others][0] ?? null;
}

/** Every table materialized: Citus mode has no dynamic views (their shard queries would run as the analyst). */
export function citusPolicy(policy: Policy): Policy {
  const copy: Policy = { ...policy, tables: policy.tables.map((t) => ({ ...t, materialize: true })) };
  // problems keep pointing at the policy file's lines
  attachSourceMap(copy, policySourceMap(policy));
  return copy;
}

/** Transforms whose output can distribute a masked table: they map equal subjects to equal non-NULL values. */
const DISTRIBUTABLE = new Set(['pseudonymize', 'keep']);

export interface CitusPlanInput {
  readonly policy: Policy;
  readonly snapshot: CatalogSnapshot;
  /** the nodes planMigration built for the policy with every table materialized */
  readonly nodes: readonly PlanNode[];
}

/**
 * The Citus migration: the one-server nodes with CitusPreamble after the Preamble, the keys
 * made a reference table after they exist, each materialized view replaced by a masked
 * table, and the fills after every table exists. Throws a policy error (exit 3) listing
 * what Citus cannot run: a subject column masked by a transform that cannot distribute
 * rows, a consent route between distributed tables that is not co-located on their
 * distribution columns.
 */
export function planCitusNodes(input: CitusPlanInput): PlanNode[] {
  const { policy, snapshot, nodes } = input;
  const views = nodes.filter((n): n is CreateMaskedView => n.kind === 'CreateMaskedView');
  const problems: ErrorDetail[] = [];
  const groups = new Map<string, { schema: string; name: string }>();
  const tables: CreateCitusMaskedTable[] = [];
  const fills: FillCitusMaskedTable[] = [];
  for (const view of views) {
    const ptable = policy.tables.find((t) => t.maskedSchema === view.schema && t.name === view.name)!;
    const placement = placementOf(policy, ptable, view, groups, problems);
    problems.push(...routeProblems(policy, snapshot, ptable, view));
    tables.push({
      kind: 'CreateCitusMaskedTable',
      schema: view.schema,
      name: view.name,
      sourceSchema: view.sourceSchema,
      sourceTable: view.sourceTable,
      columns: view.columns,
      placement,
      indexes: view.indexes.map((ix) => withDistributionColumn(ix, placement)),
      comment: citusTableComment(view),
    });
    fills.push({
      kind: 'FillCitusMaskedTable',
      schema: view.schema,
      name: view.name,
      sourceSchema: view.sourceSchema,
      columns: view.columns.map((c) => c.name),
      // offsets stay inline: the pinned Citus SQL (test/plan/citus-clinic.sql) has no correlated lateral
      // subquery, whose push-down in a distributed INSERT … SELECT cannot be checked on this machine
      select: maskedSelect(view, { ordered: false, subjectOnce: false }),
      // the unique index on the masked key, which every materialized masked relation has
      clusterIndex: view.rowOrder.kind === 'storage' ? null : (view.indexes.find((ix) => ix.unique)?.name ?? null),
    });
  }
  if (problems.length > 0) {
    throw new PgmaskError({
      code: 'POLICY_INVALID',
      message: `the policy cannot be applied in Citus mode (${problems.length} problem${problems.length > 1 ? 's' : ''})`,
      hint: 'see each problem; docs/scale.md says what Citus mode needs',
      exitCode: ExitCode.invalidPolicy,
      details: problems,
    });
  }
  const out: PlanNode[] = [];
  const lastKey = nodes.map((n) => n.kind).lastIndexOf('EnsureKey');
  nodes.forEach((node, i) => {
    if (node.kind === 'Header') out.push({ ...node, citus: true });
    else if (node.kind === 'CreateMaskedView') out.push(tables.find((t) => t.schema === node.schema && t.name === node.name)!);
    else out.push(node);
    if (node.kind === 'Preamble') out.push({ kind: 'CitusPreamble' });
    if (i === lastKey) out.push({ kind: 'CitusReferenceKeys' });
    // the fills follow the last table: every masked table exists before rows are written
    if (node.kind === 'CreateMaskedView' && node === views.at(-1)) out.push(...fills);
  });
  return out;
}

/**
 * The table's comment names the key versions its fill uses (`…; keys default v2)`): a
 * materialized view keeps the versions it was planned with until the next migrate, and
 * `pgmask refresh` in Citus mode re-plans the fill with the versions read back from here
 * (keyVersionsOfComment), so a `pgmask keys rotate` between two refreshes changes nothing
 * until the next migrate, as on one server.
 */
function citusTableComment(view: CreateMaskedView): string {
  const comment = view.comment.replace(/materialized masked view of/, 'masked table (Citus) of');
  const versions = [...keyVersionsOf(view)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (versions.length === 0) return comment;
  return comment.replace(/\)$/, `; keys ${versions.map(([name, version]) => `${name} v${version}`).join(', ')})`);
}

/** Every key a masked view names (its columns and its row order), with the version it names. */
export function keyVersionsOf(view: CreateMaskedView): Map<string, number> {
  const found = new Map<string, number>();
  const walk = (e: Expr): void => {
    switch (e.kind) {
      case 'KeyReference':
        found.set(e.name, e.version);
        return;
      case 'Cast':
        return walk(e.expression);
      case 'TransformCall':
      case 'SqlTemplate':
        return e.args.forEach(walk);
      case 'ColumnReference':
      case 'Constant':
        return;
      default: {
        const unreachable: never = e;
        throw new Error(`unknown expression ${JSON.stringify(unreachable)}`);
      }
    }
  };
  for (const c of view.columns) walk(c.masked);
  if (view.rowOrder.kind === 'keyed') [view.rowOrder.rowKey, view.rowOrder.key].forEach(walk);
  return found;
}

/** The key versions a Citus masked table's comment names (citusTableComment); empty when it names none. */
export function keyVersionsOfComment(comment: string | null): Record<string, number> {
  const list = /; keys ([a-z0-9_ v,]+)\)$/.exec(comment ?? '')?.[1];
  if (!list) return {};
  return Object.fromEntries(list.split(', ').map((item) => {
    const [name, version] = item.split(' v');
    return [name!, Number(version)] as const;
  }));
}

/**
 * Hash-distributed by the subject column when the table has one (masked one-to-one, so
 * equal subjects land on one shard), in the co-location group of the first table whose
 * subject is masked by the same rule (same pseudonyms, same type); a reference table otherwise.
 */
function placementOf(
  policy: Policy,
  ptable: PolicyTable,
  view: CreateMaskedView,
  groups: Map<string, { schema: string; name: string }>,
  problems: ErrorDetail[],
): CitusPlacement {
  const subject = ptable.subject ?? policy.subject;
  const column = subject === null ? undefined : view.columns.find((c) => c.name === subject);
  if (column === undefined) return { kind: 'reference' };
  const rule = ptable.columns.find((c) => c.name === column.name)?.rule;
  if (!rule || !DISTRIBUTABLE.has(rule.transform)) {
    problems.push({
      code: 'CITUS_SUBJECT_NOT_DISTRIBUTABLE',
      severity: 'error',
      message: `${ptable.sourceSchema}.${ptable.name}.${column.name} is the subject column, which distributes the masked table in Citus mode, but it is masked by ${rule?.transform ?? 'redact (unlisted)'}, which does not keep one value per subject`,
      hint: `mask ${column.name} with pseudonymize (the subject's pseudonym then distributes and co-locates the masked tables)`,
      path: formatPath([...ptable.path, 'columns', column.name]),
      location: policyLocation(policy, [...ptable.path, 'columns', column.name]),
    });
    return { kind: 'reference' };
  }
  // tables co-locate only when their distribution columns have one type (pg_dist_colocation) and hold the same pseudonyms
  const group = JSON.stringify([rule.transform, rule.params, rule.key || policy.keys[0], column.type]);
  const first = groups.get(group);
  if (!first) groups.set(group, { schema: view.schema, name: view.name });
  return { kind: 'distributed', column: column.name, colocateWith: first ?? null };
}

/** A unique index of a distributed table must include the distribution column (Citus refuses it otherwise). */
function withDistributionColumn(index: MaskedIndex, placement: CitusPlacement): MaskedIndex {
  if (!index.unique || placement.kind !== 'distributed' || index.columns.includes(placement.column)) return index;
  return { ...index, columns: [...index.columns, placement.column] };
}

/**
 * Consent routes run inside the INSERT … SELECT as correlated subqueries. Between two
 * hash-distributed source tables Citus runs them only when the tables are co-located and
 * the foreign key pairs their distribution columns, which is also the only foreign key
 * Citus accepts between distributed tables; a reference or local parent is always reachable.
 */
function routeProblems(policy: Policy, snapshot: CatalogSnapshot, ptable: PolicyTable, view: CreateMaskedView): ErrorDetail[] {
  const problems: ErrorDetail[] = [];
  const walk = (schema: string, table: string, routes: readonly SubjectRoute[]) => {
    const child = findCitusTable(snapshot, schema, table);
    for (const route of routes) {
      const parent = findCitusTable(snapshot, route.refSchema, route.refTable);
      if (child?.placement === 'distributed' && parent?.placement === 'distributed') {
        const i = route.columns.indexOf(child.distributionColumn ?? '');
        const paired = i >= 0 && route.refColumns[i] === parent.distributionColumn;
        if (child.colocationId !== parent.colocationId || !paired) {
          problems.push({
            code: 'CITUS_ROUTE_NOT_COLOCATED',
            severity: 'error',
            message: `the consent route ${schema}.${table} (${route.columns.join(', ')}) → ${route.refSchema}.${route.refTable} (${route.refColumns.join(', ')}) joins two distributed tables ${
              child.colocationId !== parent.colocationId ? 'that are not co-located' : `without pairing their distribution columns (${child.distributionColumn}, ${parent.distributionColumn})`
            }, which Citus cannot run inside the INSERT … SELECT that fills ${view.schema}.${view.name}`,
            hint: `co-locate the tables and include the distribution column in the foreign key (Citus requires it for foreign keys between distributed tables), or decide with subject_via on ${ptable.name}`,
            path: formatPath(ptable.path),
            location: policyLocation(policy, ptable.path),
          });
        }
      }
      walk(route.refSchema, route.refTable, route.routes);
    }
  };
  walk(view.sourceSchema, view.sourceTable, view.subjectRoutes);
  return problems;
}
