/**
 * The top of a one-schema test policy (public → masked, sql runtime, the default key, subject_id as
 * the subject) with one masking role and its login member; the test appends its `tables:`.
 */
export function policyHeader(role: string, member: string): string {
  return `version: 1
source_schema: public
masked_schema: masked
runtime: sql
keys: [default]
subject: subject_id
roles:
  ${role}:
    members: [${member}]
`;
}
