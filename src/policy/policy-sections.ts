import { deepFreeze } from '../deep-freeze.ts';
import { attachSourceMap, policySourceMap } from './policy-source-map.ts';
import type { Policy } from './policy.ts';

/**
 * A policy cut into one policy per source schema (`schemas:` entries), each with
 * that schema's tables and the whole policy's roles, keys and hash. Code written
 * for one source schema and one masked schema (verify's attacks, check's table
 * findings, refresh) runs once per section. A policy with top-level `tables` is
 * its own only section.
 *
 * @example
 *   policySections(mimic).map((p) => `${p.sourceSchema} → ${p.maskedSchema}`)
 *   // ['mimiciv_hosp → hosp', 'mimiciv_icu → icu', 'mimiciv_note → note']
 */
export function policySections(policy: Policy): readonly Policy[] {
  if (policy.schemas.length === 1) return [policy];
  const map = policySourceMap(policy);
  return policy.schemas.map((schema) => {
    const section: Policy = deepFreeze({
      ...policy,
      sourceSchema: schema.source,
      maskedSchema: schema.masked,
      schemas: [schema],
      tables: policy.tables.filter((t) => t.sourceSchema === schema.source),
    });
    attachSourceMap(section, map);
    return section;
  });
}

/** Every masked schema of the policy, in file order. */
export function maskedSchemas(policy: Policy): string[] {
  return policy.schemas.map((s) => s.masked);
}
