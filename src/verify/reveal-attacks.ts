import { literal, sql } from '../sql/index.ts';
import { held, leaked, listSome, skipped, type Attack } from './attack-session.ts';

/**
 * Re-identification is for brokers only: the role calls pgmask.reveal (both forms) with
 * a real key name and tries to read or change the audit log. Any call that runs — even
 * one that reveals nothing — means the role could turn tokens back into raw values.
 */
const revealAsRole: Attack = {
  id: 'reveal',
  title: 'call pgmask.reveal (a broker-only function that decrypts encrypt tokens) and change pgmask.reveal_log',
  async run(s) {
    const present = await s.rows<{ ok: boolean }>(sql`SELECT pg_catalog.to_regprocedure('pgmask.reveal(text[], text, int4)') IS NOT NULL AS ok`);
    if (!present[0]?.ok) return skipped('pgmask.reveal does not exist (pgmask migrate has not run the key migrations)');
    const keyName = s.facts.keys[0]?.name ?? 'default';
    const found: string[] = [];
    for (const call of [
      sql`SELECT pgmask.reveal(ARRAY['v1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'], ${literal(keyName)}) AS r`,
      sql`SELECT pgmask.reveal('0000000000'::text, ${literal(keyName)}) AS r`,
    ]) {
      const r = await s.attempt(call);
      if (r.ok || r.code !== '42501') found.push(`${call.text} ${r.ok ? 'ran' : `got past the privilege check (${r.error})`}`);
    }
    for (const change of [sql`DELETE FROM pgmask.reveal_log`, sql`UPDATE pgmask.reveal_log SET token_count = 0`, sql`TRUNCATE pgmask.reveal_log`, sql`INSERT INTO pgmask.reveal_log (session_user_name, role_name, key_name, key_versions, token_count, revealed_count) VALUES ('x', 'x', 'x', '{}', 0, 0)`]) {
      const r = await s.attempt(change);
      if (r.ok) found.push(`${change.text} succeeded`);
    }
    if (found.length > 0) return leaked(`the role can reveal or rewrite the audit: ${listSome(found)}`, found);
    return held('permission denied for pgmask.reveal (both forms) and for changing pgmask.reveal_log', ['pgmask.reveal', 'pgmask.reveal_log']);
  },
};

export const revealAttacks: readonly Attack[] = [revealAsRole];
