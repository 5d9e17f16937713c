import type pg from 'pg';
import type { Policy } from '../policy/policy.ts';
import { policySections } from '../policy/policy-sections.ts';
import { connect } from '../db/connection.ts';
import { snapshotFor } from '../db/introspect.ts';
import { registry as builtinRegistry, type TransformRegistry } from '../transforms/registry.ts';
import { databaseError, usageError } from '../errors.ts';
import { ident, param, sql } from '../sql/index.ts';
import { AttackSession, listSome, skipped, type Attack, type Outcome, type Subject } from './attack-session.ts';
import { gatherFacts, planWholePolicy, type VerifyFacts, type WholePolicy } from './verify-facts.ts';
import { summarize, type AttackResult, type VerifyReport, type VerifySubject } from './verify-report.ts';
import { sourceAccessAttacks } from './source-access-attacks.ts';
import { keySecrecyAttacks } from './key-secrecy-attacks.ts';
import { oracleAttacks } from './oracle-attacks.ts';
import { determinismAttacks } from './determinism-attacks.ts';
import { rowBarrierAttacks } from './row-barrier-attacks.ts';
import { searchPathAttacks } from './search-path-attacks.ts';
import { pgTempAttacks } from './pg-temp-attacks.ts';
import { escalationAttacks } from './escalation-attacks.ts';
import { roleHygieneAttacks } from './role-hygiene-attacks.ts';
import { rowOrderAttacks } from './row-order-attacks.ts';
import { consentAttacks } from './consent-attacks.ts';
import { revealAttacks } from './reveal-attacks.ts';
import { citusAttacks } from './citus-attacks.ts';
import { query, queryRows, readOnly, savepoint } from '../db/query.ts';
import { citusLoginMember, citusMode } from '../plan/citus.ts';

/** Every attack, in report order (the list: source, keys, oracle, averaging, barrier, search_path, escalation, side doors, hygiene). */
export const ATTACKS: readonly Attack[] = [
  ...sourceAccessAttacks,
  ...keySecrecyAttacks,
  ...oracleAttacks,
  ...determinismAttacks,
  ...rowBarrierAttacks,
  ...consentAttacks,
  ...rowOrderAttacks,
  ...searchPathAttacks,
  ...pgTempAttacks,
  ...escalationAttacks,
  ...revealAttacks,
  ...citusAttacks,
  ...roleHygieneAttacks,
];

export interface VerifyOptions {
  /** attack as this role only (a masking role, one of its login members, or any role) */
  readonly role?: string;
  /** the registry the policy was parsed with (custom transforms); the built-ins by default */
  readonly registry?: TransformRegistry;
  /** only these attack ids (tests); all by default */
  readonly only?: readonly string[];
  /** attack ids whose `skipped` still counts as complete (`--allow-skipped`): a reviewed decision */
  readonly allowSkipped?: readonly string[];
  /**
   * attack through a real login instead (e.g. the BI tool's URL): its own role
   * settings apply; the admin URL is still used for the out-of-band facts
   */
  readonly loginUrl?: string;
  /** one line per role and attack as it starts (`pgmask verify` shows them on a terminal) */
  readonly onProgress?: (line: string) => void;
}

type Impersonation = VerifySubject['impersonation'];

/**
 * Attacks the live masking setup as each masking role and each of its login
 * members (or one given role) and reports what held and what leaked. It connects
 * as an admin (a superuser gives a faithful `SET SESSION AUTHORIZATION`), runs
 * every attack inside a transaction that is rolled back, and changes nothing.
 *
 * @example
 *   const report = await verify(process.env.DATABASE_URL!, policy);
 *   report.ok // false when any attack leaked; report.subjects[0].attacks[0] = { id: 'source-read', status: 'held', … }
 */
export async function verify(databaseUrl: string, policy: Policy, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const sections = policySections(policy);
  if (sections.length === 1) return verifySection(databaseUrl, policy, opts);
  // the attacks are written for one source schema and its masked schema: run them per source schema of the policy
  // read and plan the whole policy once: a consent route may cross from one section into another
  const admin = await connect(databaseUrl);
  let whole: WholePolicy;
  try {
    whole = planWholePolicy(policy, opts.registry ?? builtinRegistry, await snapshotFor(admin, policy));
  } finally {
    await admin.end();
  }
  const reports: VerifyReport[] = [];
  for (const section of sections) reports.push(await verifySection(databaseUrl, section, opts, whole));
  const subjects = reports.flatMap((r, i) => r.subjects.map((s) => ({ ...s, kind: `${s.kind} (${sections[i]!.sourceSchema} → ${sections[i]!.maskedSchema})` })));
  const summary = summarize(subjects);
  return { ok: summary.leaked === 0, complete: reports.every((r) => r.complete), standby: reports.some((r) => r.standby), database: reports[0]!.database, policyHash: policy.hash, subjects, summary };
}

/** verify of one source schema and its masked schema (`whole`: the policy it was cut from, whose consent routes may cross into it) */
async function verifySection(databaseUrl: string, policy: Policy, opts: VerifyOptions, whole: WholePolicy | null = null): Promise<VerifyReport> {
  const registry = opts.registry ?? builtinRegistry;
  const admin = await connect(databaseUrl);
  let facts: VerifyFacts;
  let subjects: Subject[];
  let standby = false;
  try {
    const snapshot = await snapshotFor(admin, policy);
    standby = (await queryRows<{ r: boolean }>(admin, sql`SELECT pg_catalog.pg_is_in_recovery() AS r`))[0]!.r;
    facts = await readOnly(
      admin,
      () => gatherFacts(admin, policy, registry, snapshot, whole).catch((cause: unknown) => {
        throw databaseError(cause, 'cannot read what verify needs as admin', 'connect as a superuser or the role that ran pgmask migrate');
      }),
      { snapshot: true },
    );
    subjects = opts.loginUrl ? [await loginSubject(policy, opts.loginUrl)] : chooseSubjects(policy, facts, opts.role);
  } finally {
    await admin.end();
  }
  const attacks = opts.only ? ATTACKS.filter((a) => opts.only!.includes(a.id)) : ATTACKS;
  const results: VerifySubject[] = [];
  for (const [n, subject] of subjects.entries()) {
    const progress = opts.onProgress ? (attack: string, i: number, of: number) => opts.onProgress!(`${policy.maskedSchema}: ${subject.role} (${n + 1}/${subjects.length}), attack ${i}/${of}: ${attack}`) : undefined;
    results.push(await attackAs(databaseUrl, facts, subject, attacks, standby, progress));
  }
  const summary = summarize(results);
  const allowed = new Set(opts.allowSkipped ?? []);
  // on a standby an attack that must create objects cannot run, and need not: the primary has the same
  // catalog, and verify there runs it (the report says so); any other skip still fails the gate
  const complete = results.every((sub) => sub.attacks.every((a) => a.status !== 'skipped' || allowed.has(a.id) || (standby && a.evidence.startsWith(STANDBY_SKIP))));
  return { ok: summary.leaked === 0, complete, standby, database: facts.snapshot.database, policyHash: policy.hash, subjects: results, summary };
}

function chooseSubjects(policy: Policy, facts: VerifyFacts, role: string | undefined): Subject[] {
  const exists = (name: string) => facts.snapshot.roles.some((r) => r.name === name);
  if (role !== undefined) {
    if (!exists(role)) throw usageError('ROLE_NOT_FOUND', `role ${role} does not exist`, 'pass --role with a masking role or one of its login members');
    const masking = policy.roles.find((r) => r.name === role);
    const of = policy.roles.find((r) => r.members.includes(role) || facts.maskingRoleMembers.some((m) => m.role === r.name && m.member === role));
    if (masking) return [citusMode(policy, facts.snapshot) ? citusMaskingSubject(policy, facts, role) : { role, kind: 'masking role', maskingRole: role }];
    if (of) return [{ role, kind: `member of ${of.name}`, maskingRole: of.name }];
    return [{ role, kind: 'role', maskingRole: null }];
  }
  const out: Subject[] = [];
  const citus = citusMode(policy, facts.snapshot);
  for (const r of policy.roles) {
    out.push(citus ? citusMaskingSubject(policy, facts, r.name) : { role: r.name, kind: 'masking role', maskingRole: r.name });
    for (const m of r.members) out.push({ role: m, kind: `member of ${r.name}`, maskingRole: r.name });
    // offboarding: whoever holds the role today is attacked as, listed or not (pgmask check reports them)
    for (const m of facts.maskingRoleMembers) {
      if (m.role === r.name && !r.members.includes(m.member)) out.push({ role: m.member, kind: `member of ${r.name} (not in the policy)`, maskingRole: r.name });
    }
  }
  return out;
}

/**
 * Citus mode: a NOLOGIN masking role is attacked through the session of one of its login
 * members (citusLoginMember), since every statement that reaches a worker runs there as the
 * session's current role; without one, it is attacked as itself and whatever needs a worker
 * is skipped (a connection failure is never a refusal).
 */
export function citusMaskingSubject(policy: Policy, facts: VerifyFacts, role: string): Subject {
  const live = facts.snapshot.roles.find((r) => r.name === role);
  const member = live?.canLogin ? null : citusLoginMember(policy, facts.snapshot, role);
  if (member === null) {
    return { role, kind: live?.canLogin ? 'masking role' : 'masking role (NOLOGIN, no login member: attacks that reach the Citus workers are skipped)', maskingRole: role };
  }
  return { role, kind: `masking role, through its login member ${member} (Citus reaches the workers as the current role)`, maskingRole: role, through: member };
}

async function loginSubject(policy: Policy, loginUrl: string): Promise<Subject> {
  const client = await connect(loginUrl);
  try {
    const role = (await query<{ u: string }>(client, sql`SELECT current_user AS u`)).rows[0]!.u;
    const masking = policy.roles.find((r) => r.name === role || r.members.includes(role));
    return { role, kind: 'login', maskingRole: masking?.name ?? null, loginUrl };
  } finally {
    await client.end();
  }
}

/** The search_path a role gets at login: role+database setting, role setting, database setting, server default. */
async function loginSearchPath(admin: pg.ClientBase, role: string): Promise<string> {
  const rows = (
    await query<{ value: string }>(
      admin,
      sql`SELECT substr(c, length('search_path=') + 1) AS value
         FROM pg_catalog.pg_db_role_setting s, unnest(s.setconfig) AS c
        WHERE c LIKE 'search_path=%'
          AND s.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()))
          AND s.setrole IN (0, (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = ${param(role)}))
        ORDER BY s.setrole <> 0 DESC, s.setdatabase <> 0 DESC LIMIT 1`,
    )
  ).rows;
  if (rows[0]) return rows[0].value;
  const d = await query<{ value: string }>(
    admin,
    sql`SELECT CASE WHEN source IN ('default', 'configuration file', 'command line', 'environment variable') THEN reset_val ELSE boot_val END AS value
       FROM pg_catalog.pg_settings WHERE name = 'search_path'`,
  );
  return d.rows[0]!.value;
}

interface OpenSession {
  readonly client: pg.Client;
  readonly impersonation: Impersonation;
  readonly searchPath: string;
  /** why the session could not become the role */
  readonly problem: string | null;
}

/** A new backend, in a transaction, become the subject with its login search_path (or log in as it). */
async function openAs(databaseUrl: string, facts: VerifyFacts, subject: Subject): Promise<OpenSession> {
  const role = subject.through ?? subject.role;
  if (subject.loginUrl) {
    const client = await connect(subject.loginUrl);
    await query(client, sql`BEGIN`);
    await query(client, sql`SET LOCAL statement_timeout = '60s'`);
    const searchPath = (await query<{ p: string }>(client, sql`SELECT pg_catalog.current_setting('search_path') AS p`)).rows[0]!.p;
    return { client, impersonation: 'login', searchPath, problem: null };
  }
  const client = await connect(databaseUrl);
  await query(client, sql`BEGIN`);
  // nothing an attack does may outlive this transaction, nor hang the run
  await query(client, sql`SET LOCAL statement_timeout = '60s'`);
  await query(client, sql`SET LOCAL search_path = pg_catalog`);
  const searchPath = await loginSearchPath(client, role);
  if (!facts.snapshot.roles.some((r) => r.name === role)) {
    return { client, impersonation: 'none', searchPath, problem: `role ${role} does not exist (run pgmask migrate; members must be created by you)` };
  }
  let impersonation: Impersonation;
  if (facts.snapshot.isSuperuser) {
    await query(client, sql`SET SESSION AUTHORIZATION ${ident(role)}`);
    impersonation = 'session authorization';
  } else {
    try {
      await query(client, sql`SET ROLE ${ident(role)}`);
      impersonation = 'set role';
    } catch (e) {
      return { client, impersonation: 'none', searchPath, problem: `cannot become ${role}: ${(e as Error).message} (connect as a superuser, or as a member of ${role})` };
    }
  }
  await query(client, sql`SELECT pg_catalog.set_config('search_path', ${param(searchPath)}, true)`);
  return { client, impersonation, searchPath, problem: null };
}

/**
 * One attack's outcome: an attack that throws is skipped; a refusal proves the defence, a
 * statement that could not run here proves nothing (on a standby: one that must write).
 */
async function runAttack(attack: Attack, session: AttackSession, couldNotRun: string[], standby: boolean): Promise<Outcome> {
  couldNotRun.length = 0;
  let outcome: Outcome;
  try {
    outcome = await attack.run(session);
  } catch (e) {
    outcome = skipped(`the attack could not run: ${(e as Error).message}`);
  }
  if (outcome.status === 'held' && couldNotRun.length > 0) {
    const mustWrite = standby && couldNotRun.every((m) => m.endsWith('(SQLSTATE 25006)'));
    outcome = mustWrite
      ? skipped(`${STANDBY_SKIP}${couldNotRun.length} statement(s) must write (${listSome([...new Set(couldNotRun)], 1)}); run pgmask verify on the primary for this attack`, outcome.objects)
      : skipped(`${couldNotRun.length} statement(s) could not run here, so "${outcome.evidence}" is not proven: ${listSome([...new Set(couldNotRun)], 2)}`, outcome.objects);
  }
  return outcome;
}

async function close(client: pg.Client): Promise<void> {
  await query(client, sql`ROLLBACK`).catch(() => {});
  await client.end().catch(() => {});
}

const through = (subject: Subject) => (subject.through ? { through: subject.through } : {});

/** How an attack skipped on a standby begins its evidence. */
export const STANDBY_SKIP = 'on a standby (read-only): ';

async function attackAs(
  databaseUrl: string,
  facts: VerifyFacts,
  subject: Subject,
  attacks: readonly Attack[],
  standby: boolean,
  progress?: (attack: string, i: number, of: number) => void,
): Promise<VerifySubject> {
  const opened = await openAs(databaseUrl, facts, subject);
  const results: AttackResult[] = [];
  try {
    const applicable = attacks.filter((a) => (a.appliesTo?.(subject) ?? true) && (a.appliesToDatabase?.(facts) ?? true));
    if (opened.problem !== null) {
      for (const a of applicable) results.push({ id: a.id, title: a.title, ...skipped(opened.problem), objects: [] });
      return { role: subject.role, kind: subject.kind, ...through(subject), impersonation: opened.impersonation, searchPath: opened.searchPath, attacks: results };
    }
    const couldNotRun: string[] = [];
    const inOtherSession = async <T>(fn: (other: AttackSession) => Promise<T>): Promise<T> => {
      const other = await openAs(databaseUrl, facts, subject);
      try {
        const faithful = other.impersonation === 'session authorization' || other.impersonation === 'login';
        return await fn(new AttackSession(other.client, subject, facts, inOtherSession, faithful, other.searchPath, couldNotRun));
      } finally {
        await close(other.client);
      }
    };
    const faithful = opened.impersonation === 'session authorization' || opened.impersonation === 'login';
    const session = new AttackSession(opened.client, subject, facts, inOtherSession, faithful, opened.searchPath, couldNotRun);
    for (const [i, attack] of applicable.entries()) {
      progress?.(attack.id, i + 1, applicable.length);
      // whatever the attack did is undone before the next one runs
      const outcome = await savepoint(opened.client, () => runAttack(attack, session, couldNotRun, standby), { rollback: true });
      results.push({ id: attack.id, title: attack.title, status: outcome.status, evidence: outcome.evidence, objects: [...(outcome.objects ?? [])] });
    }
    return { role: subject.role, kind: subject.kind, ...through(subject), impersonation: opened.impersonation, searchPath: opened.searchPath, attacks: results };
  } finally {
    await close(opened.client);
  }
}
