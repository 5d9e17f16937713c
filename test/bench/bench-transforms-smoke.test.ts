/**
 * A tiny run of bench/transforms.ts (--quick) against the test server, so the bench does
 * not rot: it must print the HMAC comparison, the pseudonymize headline with a plv8/sql
 * ratio or the PLV8-absent note, and a row per transform function.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { adminUrl, plv8Available } from '../support/db.ts';

const run = promisify(execFile);

it('bench/transforms.ts --quick prints HMAC rates, the pseudonymize ratio (or PLV8 absent) and per-function rows', async () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/transforms.ts', '--quick'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: adminUrl() },
    timeout: 120_000,
  });
  expect(stdout).toMatch(/@noble\/hashes hmac\(sha256\) +[\d.]+ µs/);
  expect(stdout).toMatch(/shipped hmacSha256TextInto \(no allocation\) +[\d.]+ µs .*\(([\d.]+)x noble\)/);
  expect(stdout).toMatch(/sql runtime \(pgcrypto\) +[\d.]+ µs\/row/);
  if (plv8Available()) expect(stdout).toMatch(/pseudonymize plv8\/sql ratio: [\d.]+/);
  else expect(stdout).toContain('PLV8 is absent on this server');
  expect(stdout).toMatch(/pseudonymize_int4\(int4, bytea, jsonb\) +[\d.]+ +[\d.]+/);
}, 150_000);
