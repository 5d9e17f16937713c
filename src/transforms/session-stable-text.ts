import type { TypeFamily } from '../catalog/catalog-snapshot.ts';

/**
 * Column type families whose `::text` is the same in every session. Keyed per-row and
 * per-subject transforms HMAC a column's text (the subject, the primary key): a date or
 * timestamp prints per DateStyle, a timestamptz per TimeZone, a float per
 * extra_float_digits, so two analysts would see different shifts or noise for one row.
 */
export const SESSION_STABLE_TEXT: ReadonlySet<TypeFamily> = new Set<TypeFamily>(['text', 'integer', 'numeric', 'uuid', 'boolean']);
