import type { AccessState } from '../catalog/access-state.ts';
import type { CatalogSnapshot } from '../catalog/catalog-snapshot.ts';
import { isPgmaskRelation } from '../catalog/catalog-snapshot.ts';
import type { Policy } from '../policy/policy.ts';
import type { RevokeAccess, RevokeMembership } from './nodes.ts';

export const OFFBOARDING_OWNER_ROLE = 'pgmask_owner';

/** A member left in place, and why (the plan summary says so). */
export interface KeptMember {
  readonly role: string;
  readonly member: string;
  readonly reason: string;
}

export interface Offboarding {
  readonly revokes: readonly (RevokeAccess | RevokeMembership)[];
  readonly kept: readonly KeptMember[];
}

/**
 * What the policy no longer grants, derived from the catalog: members of a
 * masking role it does not list, and roles that hold SELECT on its masked views
 * or USAGE on its masked schemas without being one of its masking roles (a role
 * removed or renamed in the policy, or a grant made by hand). Pure.
 *
 * Masking roles are cluster-wide: a member whose search_path pgmask set in
 * another database was granted by a policy there, so it is kept (and said so),
 * and so is a superuser member. The connecting role (PostgreSQL 16+ makes a
 * role's creator a member) and pgmask_owner are never revoked, nor a membership
 * that gives no access (AccessState.inertMemberships). Members of a role the
 * policy no longer names lose it too (a removed or renamed masking role).
 *
 * @example
 *   // policy: analyst: { members: [alice] }; catalog: alice and bob are members of analyst
 *   planOffboarding(policy, snapshot, access, ['patients']).revokes
 *   // [{ kind: 'RevokeMembership', role: 'analyst', member: 'bob', database: 'clinic', resetSearchPath: true }]
 */
export function planOffboarding(policy: Policy, snapshot: CatalogSnapshot, access: AccessState, plannedViews: readonly { schema: string; name: string }[]): Offboarding {
  const policyRoles = new Set(policy.roles.map((r) => r.name));
  const masked = policy.schemas.map((s) => s.masked);
  const never = (role: string) =>
    role === OFFBOARDING_OWNER_ROLE || role === 'PUBLIC' || role === snapshot.currentUser || policyRoles.has(role) || (snapshot.roles.find((r) => r.name === role)?.superuser ?? false);
  const revokes: (RevokeAccess | RevokeMembership)[] = [];
  for (const schema of masked) {
    const byRole = new Map<string, Set<string>>();
    for (const t of snapshot.tables) {
      if (t.schema !== schema || !isPgmaskRelation(t) || !plannedViews.some((v) => v.schema === schema && v.name === t.name)) continue;
      for (const p of t.privileges) {
        if (never(p.grantee)) continue;
        if (!byRole.has(p.grantee)) byRole.set(p.grantee, new Set());
        byRole.get(p.grantee)!.add(t.name);
      }
    }
    const usage = new Set(access.schemaUsage.filter((u) => u.schema === schema && !never(u.grantee)).map((u) => u.grantee));
    for (const role of [...new Set([...byRole.keys(), ...usage])].sort()) {
      revokes.push({ kind: 'RevokeAccess', role, schema, views: [...(byRole.get(role) ?? [])].sort(), usage: usage.has(role) });
    }
  }
  // members of the policy's masking roles, and of roles it no longer names that still held access here
  const kept: KeptMember[] = [];
  const listedAnywhere = new Set(policy.roles.flatMap((r) => r.members));
  const formerRoles = [...new Set(revokes.map((r) => r.role))];
  const roles = [...policy.roles.map((r) => ({ name: r.name, members: r.members })), ...formerRoles.map((name) => ({ name, members: [] as readonly string[] }))];
  for (const role of roles) {
    if (!snapshot.roles.some((r) => r.name === role.name)) continue;
    for (const member of snapshot.roles.filter((r) => r.memberOf.includes(role.name)).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (role.members.includes(member.name) || member.name === snapshot.currentUser || member.name === OFFBOARDING_OWNER_ROLE) continue;
      if (access.inertMemberships.some((m) => m.role === role.name && m.member === member.name)) continue;
      if (member.superuser) {
        kept.push({ role: role.name, member: member.name, reason: 'a superuser: it reads everything with or without the role' });
        continue;
      }
      if (access.searchPaths.some((s) => s.role === member.name && !s.here)) {
        kept.push({ role: role.name, member: member.name, reason: 'pgmask set its search_path in another database: a policy there may grant it (masking roles are cluster-wide)' });
        continue;
      }
      // a member still listed under another role of the policy keeps the search_path that role's grant sets
      const resetSearchPath =
        !listedAnywhere.has(member.name) && access.searchPaths.some((s) => s.role === member.name && s.here && masked.some((m) => searchPathNames(s.value).includes(m)));
      revokes.push({ kind: 'RevokeMembership', role: role.name, member: member.name, database: snapshot.database, resetSearchPath });
    }
  }
  return { revokes, kept };
}

/** The schema names of a search_path setting value (`a, "b c"` → ['a', 'b c']). */
export function searchPathNames(value: string): string[] {
  const names: string[] = [];
  const re = /\s*(?:"((?:[^"]|"")*)"|([^,\s]+))\s*(?:,|$)/gy;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null && m[0] !== '') names.push(m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!);
  return names;
}
