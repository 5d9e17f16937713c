/**
 * Keys as a managed thing (issue 15): reveal, list, rotate, export, import. Every
 * operation runs inside the database: key bytes are generated, fingerprinted, wrapped
 * (OpenPGP, pgcrypto) and unwrapped there, so they never reach this process, a log or a
 * shell history. Only the wrapped (encrypted) export crosses the connection.
 */
import type pg from 'pg';
import { databaseError, ExitCode, PgmaskError } from '../errors.ts';
import { ident, literal, param, sql, type Sql } from '../sql/index.ts';
import { query, queryRows } from './query.ts';

/** The role's tokens in one call: one pgmask.reveal_log row per call, so large batches are split. */
const REVEAL_BATCH = 10_000;

export interface RevealResult {
  readonly token: string;
  /** the value, or null when the token does not verify under any version of the key */
  readonly value: string | null;
}

/**
 * Reveals tokens as the connected role (a broker): `pgmask.reveal(tokens, key)`, which
 * writes the audit row. A role that is not a broker gets REVEAL_NOT_ALLOWED (exit 4).
 */
export async function revealTokens(client: pg.ClientBase, keyName: string, tokens: readonly string[], fpeVersion: number | null = null): Promise<RevealResult[]> {
  const out: RevealResult[] = [];
  for (let i = 0; i < tokens.length; i += REVEAL_BATCH) {
    const batch = tokens.slice(i, i + REVEAL_BATCH);
    let values: (string | null)[];
    try {
      const rows = await queryRows<{ r: (string | null)[] }>(client, sql`SELECT pgmask.reveal(${param(batch)}::text[], ${param(keyName)}::text, ${param(fpeVersion)}::int4) AS r`);
      values = rows[0]!.r;
    } catch (cause) {
      const code = (cause as { code?: string }).code;
      if (code === '42501') {
        throw new PgmaskError({
          code: 'REVEAL_NOT_ALLOWED',
          message: 'the connected role may not reveal tokens (permission denied for pgmask.reveal)',
          hint: 'connect as a login role that is a member of a broker role listed under `brokers:` in the policy, and run pgmask migrate after adding it',
          exitCode: ExitCode.database,
          cause,
        });
      }
      if (code === '42704') throw new PgmaskError({ code: 'KEY_UNKNOWN', message: `this database has no key named ${JSON.stringify(keyName)}`, hint: 'pgmask keys list shows the keys', exitCode: ExitCode.usage, cause });
      throw databaseError(cause, 'cannot reveal the tokens');
    }
    batch.forEach((token, j) => out.push({ token, value: values[j] ?? null }));
  }
  return out;
}

export interface KeyVersionInfo {
  readonly name: string;
  readonly version: number;
  readonly createdAt: string;
  /** first 8 bytes (hex) of HMAC-SHA256(key, 'pgmask key fingerprint v1'): equal at two sites when the key is, reveals nothing of it */
  readonly fingerprint: string;
  /** the version views use after the next migrate */
  readonly current: boolean;
}

/** The schema pgcrypto is installed in (its functions are called qualified: no caller search_path is trusted). */
async function pgcryptoSchema(client: pg.ClientBase): Promise<string> {
  const r = await query<{ schema: string }>(
    client,
    sql`SELECT n.nspname AS schema FROM pg_catalog.pg_extension AS e JOIN pg_catalog.pg_namespace AS n ON n.oid = e.extnamespace WHERE e.extname = 'pgcrypto'`,
  );
  if (r.rows.length === 0) throw new PgmaskError({ code: 'PGCRYPTO_MISSING', message: 'pgcrypto is not installed in this database', hint: 'run pgmask migrate first', exitCode: ExitCode.database });
  return r.rows[0]!.schema;
}

async function run<R extends pg.QueryResultRow>(client: pg.ClientBase, what: string, statement: Sql): Promise<R[]> {
  try {
    return await queryRows<R>(client, statement);
  } catch (cause) {
    throw databaseError(cause, what);
  }
}

function unknownKey(name: string): PgmaskError {
  return new PgmaskError({ code: 'KEY_UNKNOWN', message: `this database has no key named ${JSON.stringify(name)}`, hint: 'pgmask keys list shows the keys; pgmask migrate creates the keys a policy names', exitCode: ExitCode.usage });
}

export async function listKeys(client: pg.ClientBase): Promise<KeyVersionInfo[]> {
  const crypto = ident(await pgcryptoSchema(client));
  const rows = await run<{ name: string; version: number; created_at: string; fingerprint: string; current: boolean }>(
    client,
    'cannot read pgmask_private.keys',
    sql`SELECT k.name, k.version, pg_catalog.to_char(k.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at,
               pg_catalog.encode(pg_catalog.substr(${crypto}.hmac(pg_catalog.convert_to('pgmask key fingerprint v1', 'UTF8'), k.key, 'sha256'), 1, 8), 'hex') AS fingerprint,
               k.version = pg_catalog.max(k.version) OVER (PARTITION BY k.name) AS current
          FROM pgmask_private.keys AS k ORDER BY k.name, k.version`,
  );
  return rows.map((r) => ({ name: r.name, version: r.version, createdAt: r.created_at, fingerprint: r.fingerprint, current: r.current }));
}

/** Adds version n+1 of a key (random, generated inside the database); views switch to it on the next migrate. */
export async function rotateKey(client: pg.ClientBase, name: string): Promise<KeyVersionInfo> {
  const crypto = ident(await pgcryptoSchema(client));
  const rows = await run<{ version: number }>(
    client,
    `cannot rotate key ${name}`,
    sql`INSERT INTO pgmask_private.keys (name, version, key)
        SELECT k.name, pg_catalog.max(k.version) + 1, ${crypto}.gen_random_bytes(32)
          FROM pgmask_private.keys AS k WHERE k.name = ${literal(name)} GROUP BY k.name
        RETURNING version`,
  );
  if (rows.length === 0) throw unknownKey(name);
  return (await listKeys(client)).find((k) => k.name === name && k.version === rows[0]!.version)!;
}

/** How an export is wrapped: a passphrase (pgp_sym_encrypt) or the receiving site's OpenPGP public key (pgp_pub_encrypt). */
export type KeyWrap = { readonly passphrase: string } | { readonly publicKey: string };
/** How an import is unwrapped. */
export type KeyUnwrap = { readonly passphrase: string } | { readonly secretKey: string; readonly secretKeyPassphrase?: string };

const FORMAT = 'pgmask-key/1';

/**
 * Every version of a key as an ASCII-armored OpenPGP message. The payload (JSON with the
 * key bytes in hex) is built and encrypted in one statement: only the armored ciphertext
 * is returned.
 */
export async function exportKey(client: pg.ClientBase, name: string, wrap: KeyWrap): Promise<string> {
  const crypto = ident(await pgcryptoSchema(client));
  const payload = sql`(SELECT pg_catalog.json_build_object('format', ${literal(FORMAT)}, 'name', k.name,
      'versions', pg_catalog.json_agg(pg_catalog.json_build_object('version', k.version, 'key', pg_catalog.encode(k.key, 'hex'), 'created_at', k.created_at) ORDER BY k.version))::text
    FROM pgmask_private.keys AS k WHERE k.name = ${literal(name)} GROUP BY k.name)`;
  const encrypted =
    'passphrase' in wrap
      ? sql`${crypto}.pgp_sym_encrypt(${payload}, ${param(wrap.passphrase)}::text, 'cipher-algo=aes256, compress-algo=0')`
      : sql`${crypto}.pgp_pub_encrypt(${payload}, ${crypto}.dearmor(${param(wrap.publicKey)}::text), 'cipher-algo=aes256, compress-algo=0')`;
  const rows = await run<{ armored: string | null }>(client, `cannot export key ${name}`, sql`SELECT ${crypto}.armor(${encrypted}) AS armored`).catch((e: PgmaskError) => {
    if ('publicKey' in wrap) throw new PgmaskError({ code: 'KEY_EXPORT_BAD_RECIPIENT', message: `the recipient key cannot encrypt: ${e.message}`, hint: 'pass the receiving site\'s ASCII-armored OpenPGP public key (RSA or Elgamal encryption key; pgcrypto reads no ECC keys)', exitCode: ExitCode.usage, cause: e });
    throw e;
  });
  const armored = rows[0]?.armored ?? null;
  if (armored === null) throw unknownKey(name);
  return armored;
}

export interface ImportResult {
  readonly name: string;
  /** versions added by this import */
  readonly imported: readonly number[];
  /** versions that were already here with the same bytes */
  readonly unchanged: readonly number[];
}

/**
 * Adds the versions of an exported key. The message is unwrapped inside the database; a
 * wrong passphrase or secret key, or a changed file, is KEY_IMPORT_UNREADABLE, and a
 * version that exists here with other bytes is KEY_CONFLICT (unless `replace`, which first
 * removes this database's versions of that key). Either way nothing changes: one transaction.
 */
export async function importKey(client: pg.ClientBase, armored: string, unwrap: KeyUnwrap, opts: { replace?: boolean } = {}): Promise<ImportResult> {
  const crypto = ident(await pgcryptoSchema(client));
  const message = sql`${crypto}.dearmor(${param(armored)}::text)`;
  const decrypted =
    'passphrase' in unwrap
      ? sql`${crypto}.pgp_sym_decrypt(${message}, ${param(unwrap.passphrase)}::text)`
      : sql`${crypto}.pgp_pub_decrypt(${message}, ${crypto}.dearmor(${param(unwrap.secretKey)}::text), ${param(unwrap.secretKeyPassphrase ?? '')}::text)`;
  await run(client, 'cannot start the import transaction', sql`BEGIN`);
  try {
    // unwrapped once, into a temporary table that lives until COMMIT/ROLLBACK and never leaves the server
    try {
      await query(client, sql`CREATE TEMPORARY TABLE pgmask_key_import ON COMMIT DROP AS SELECT ${decrypted}::jsonb AS p`);
    } catch (cause) {
      throw new PgmaskError({
        code: 'KEY_IMPORT_UNREADABLE',
        message: `the key file cannot be unwrapped: ${(cause as Error).message}`,
        hint: 'wrong passphrase or secret key, or the file was changed or cut; nothing was imported',
        exitCode: ExitCode.usage,
        cause,
      });
    }
    const [head] = await run<{ format: string | null; name: string | null; count: number }>(
      client,
      'cannot read the key file',
      sql`SELECT p ->> 'format' AS format, p ->> 'name' AS name, pg_catalog.jsonb_array_length(p -> 'versions') AS count FROM pg_temp.pgmask_key_import`,
    );
    if (head?.format !== FORMAT || !head.name || !head.count) {
      throw new PgmaskError({ code: 'KEY_IMPORT_FORMAT', message: `the file is not a pgmask key export (format ${JSON.stringify(head?.format ?? null)})`, hint: 'pass a file written by pgmask keys export', exitCode: ExitCode.usage });
    }
    const versions = sql`SELECT i.p ->> 'name' AS name, (v ->> 'version')::int4 AS version, pg_catalog.decode(v ->> 'key', 'hex') AS key, (v ->> 'created_at')::timestamptz AS created_at
        FROM pg_temp.pgmask_key_import AS i CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(i.p -> 'versions') AS v`;
    if (opts.replace) await run(client, `cannot replace key ${head.name}`, sql`DELETE FROM pgmask_private.keys WHERE name = ${literal(head.name)}`);
    const [state] = await run<{ conflicts: number[] | null; unchanged: number[] | null }>(
      client,
      'cannot compare the imported key',
      sql`WITH v AS (${versions})
       SELECT pg_catalog.array_agg(v.version ORDER BY v.version) FILTER (WHERE k.key <> v.key) AS conflicts,
              pg_catalog.array_agg(v.version ORDER BY v.version) FILTER (WHERE k.key = v.key) AS unchanged
         FROM v JOIN pgmask_private.keys AS k ON k.name = v.name AND k.version = v.version`,
    );
    if (state?.conflicts?.length) {
      throw new PgmaskError({
        code: 'KEY_CONFLICT',
        message: `key ${head.name} version(s) ${state.conflicts.join(', ')} exist here with other bytes`,
        hint: 'this database made its own key of that name; pass --replace to use the imported one (pseudonyms and tokens made with the local key change at the next migrate); nothing was imported',
        exitCode: ExitCode.usage,
      });
    }
    const inserted = await run<{ version: number }>(
      client,
      `cannot import key ${head.name}`,
      sql`INSERT INTO pgmask_private.keys (name, version, key, created_at) SELECT name, version, key, created_at FROM (${versions}) AS v
       ON CONFLICT (name, version) DO NOTHING RETURNING version`,
    );
    await run(client, 'cannot commit the import', sql`COMMIT`);
    return { name: head.name, imported: inserted.map((r) => r.version).sort((a, b) => a - b), unchanged: state?.unchanged ?? [] };
  } catch (err) {
    await query(client, sql`ROLLBACK`).catch(() => {});
    throw err;
  }
}
