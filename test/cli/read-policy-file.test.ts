import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { PgmaskError } from '../../src/errors.ts';
import { loadPolicy } from '../../src/cli/read-policy-file.ts';
import { DESIGN_EXAMPLE, testRegistry } from '../policy/fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'pgmask-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function thrown(fn: () => unknown): PgmaskError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PgmaskError);
    return e as PgmaskError;
  }
  throw new Error('did not throw');
}

describe('loadPolicy', () => {
  it('reads and parses a file; the hash is the sha256 of its bytes', () => {
    const file = join(dir, 'pgmask.yaml');
    writeFileSync(file, DESIGN_EXAMPLE.replace('keys: [default]', 'keys: [default]\ntransforms: ./transforms'));
    const policy = loadPolicy(file, testRegistry);
    expect(policy.file).toBe(file);
    expect(policy.tables.map((t) => t.name)).toEqual(['patients', 'encounters']);
    expect(policy.transformsDir).toBe(join(dir, 'transforms'));
    expect(policy.hash).toBe(createHash('sha256').update(Buffer.from(policy.text, 'utf8')).digest('hex'));
  });

  it('a missing file is a usage error (exit 2) that says how to get a policy', () => {
    const err = thrown(() => loadPolicy(join(dir, 'nope.yaml'), testRegistry));
    expect([err.code, err.exitCode, err.hint]).toEqual(['POLICY_NOT_FOUND', 2, 'pass --policy or create pgmask.yaml (pgmask scan drafts one)']);
    expect(err.message).toBe(`policy file ${join(dir, 'nope.yaml')} not found`);
  });

  it('a directory or a file that is not UTF-8 is refused clearly', () => {
    const sub = join(dir, 'adir');
    mkdirSync(sub);
    const dirErr = thrown(() => loadPolicy(sub, testRegistry));
    expect([dirErr.code, dirErr.exitCode, dirErr.message]).toEqual(['POLICY_UNREADABLE', 2, `cannot read policy file ${sub}: it is a directory`]);
    const latin1 = join(dir, 'latin1.yaml');
    writeFileSync(latin1, Buffer.from('version: 1\ntables: { p\xe4tient: { columns: { a: keep } } }\n', 'latin1'));
    const encErr = thrown(() => loadPolicy(latin1, testRegistry));
    expect([encErr.code, encErr.exitCode]).toEqual(['POLICY_ENCODING', 3]);
  });

  it('keeps a byte order mark in the hashed text and still parses', () => {
    const file = join(dir, 'bom.yaml');
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('version: 1\ntables: { t: { columns: { a: keep } } }\n')]);
    writeFileSync(file, bytes);
    const policy = loadPolicy(file, testRegistry);
    expect(policy.hash).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(policy.tables[0]!.position).toEqual({ line: 2, column: 11 });
  });

  it('reports parse problems with the path given', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'version: 1\ntables: { t: { columns: { a: kep } } }\n');
    const err = thrown(() => loadPolicy(file, testRegistry));
    expect(err.exitCode).toBe(3);
    expect(err.details[0]!.location).toEqual({ file, line: 2, column: 30, excerpt: 'tables: { t: { columns: { a: kep } } }\n                             ^^^' });
  });
});
