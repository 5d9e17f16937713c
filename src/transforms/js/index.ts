/**
 * The JS implementation table: every function the plv8 runtime can call, by the name a
 * TransformDefinition's `plv8` signatures give in `js`. plv8/ bundles this module and
 * `pgmask._plv8_init()` stores the table on globalThis.
 *
 * Arguments arrive as PLV8 converts them: text→string, float8/int4/int2→number,
 * boolean→boolean, jsonb→object, bytea→Uint8Array; date, timestamp, timestamptz, int8 and
 * numeric cross as text (PostgreSQL's text output format). Nothing here may use Node APIs,
 * Buffer, TextEncoder or crypto (DESIGN.md "PLV8 rules").
 */
import { pseudonymizeText } from './pseudonymize.ts';

export const implementations: Record<string, (...args: any[]) => unknown> = {
  pseudonymize_text: pseudonymizeText,
};
