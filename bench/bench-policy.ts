/**
 * The policy the bench applies with pgmask: the same rules as the hand-written
 * views in bench/hand-written-views.sql, so both do the same work per row. While
 * a transform is not yet in the registry, its columns fall back to `keep`, and
 * the report says so (pgmask then does less work than the hand-written view).
 */
export interface BenchPolicyOptions {
  readonly maskedSchema: string;
  readonly runtime: 'sql' | 'plv8';
  readonly role: string;
  /** names of the transforms the registry has */
  readonly available: ReadonlySet<string>;
  /** adds `materialize: true` for the whole policy */
  readonly materialize?: boolean;
}

export interface BenchPolicy {
  readonly yaml: string;
  /** `table.column: wanted → used` for every rule that fell back */
  readonly fallbacks: readonly string[];
}

type Rule = string | { readonly transform: string; readonly yaml: string };

const rules: Readonly<Record<string, Readonly<Record<string, Rule>>>> = {
  patients: {
    patient_id: 'pseudonymize',
    mrn: { transform: 'pseudonymize', yaml: '{ pseudonymize: { prefix: "MRN-" } }' },
    first_name: 'redact',
    last_name: 'redact',
    birth_date: { transform: 'generalize_date', yaml: '{ generalize_date: { to: year } }' },
    zip: 'zip3',
    sex: 'keep',
    weight_kg: { transform: 'noise', yaml: '{ noise: { relative: 0.05, decimals: 1 } }' },
    email: 'redact',
    phone: 'redact',
    research_opt_out: 'keep',
  },
  encounters: {
    encounter_id: 'redact',
    patient_id: 'pseudonymize',
    admitted_at: { transform: 'shift_date', yaml: '{ shift_date: { max_days: 30 } }' },
    discharged_at: { transform: 'shift_date', yaml: '{ shift_date: { max_days: 30 } }' },
    department: 'keep',
    reason: 'keep',
  },
  observations: {
    observation_id: 'redact',
    encounter_id: 'redact',
    patient_id: 'pseudonymize',
    loinc_code: 'keep',
    value_num: { transform: 'noise', yaml: '{ noise: { relative: 0.05 } }' },
    unit: 'keep',
    observed_at: { transform: 'generalize_date', yaml: '{ generalize_date: { to: month } }' },
  },
};

const primaryKeys: Readonly<Record<string, string>> = { patients: 'patient_id', encounters: 'encounter_id', observations: 'observation_id' };

export function benchPolicy(opts: BenchPolicyOptions): BenchPolicy {
  const fallbacks: string[] = [];
  const lines = [
    'version: 1',
    'source_schema: public',
    `masked_schema: ${opts.maskedSchema}`,
    `runtime: ${opts.runtime}`,
    'unlisted_columns: error',
    'subject: patient_id',
    'keys: [default]',
    ...(opts.materialize ? ['materialize: true'] : []),
    'roles:',
    `  ${opts.role}:`,
    '    members: []',
    'tables:',
  ];
  for (const [table, columns] of Object.entries(rules)) {
    lines.push(`  ${table}:`);
    if (table === 'patients') lines.push('    filter: "NOT research_opt_out"');
    lines.push('    columns:');
    for (const [column, rule] of Object.entries(columns)) {
      // a materialized view needs a unique key, so its primary keys are pseudonymized (one-to-one)
      // instead of redacted; the dynamic sources keep the cheaper rule the hand-written views mirror
      const effective = opts.materialize && primaryKeys[table] === column ? 'pseudonymize' : rule;
      const transform = typeof effective === 'string' ? effective : effective.transform;
      const text = typeof effective === 'string' ? effective : effective.yaml;
      if (opts.available.has(transform)) {
        lines.push(`      ${column}: ${text}`);
      } else {
        fallbacks.push(`${table}.${column}: ${transform} → keep`);
        lines.push(`      ${column}: keep`);
      }
    }
  }
  return { yaml: `${lines.join('\n')}\n`, fallbacks };
}
