import { readFileSync } from 'node:fs';
import { PgmaskError, usageError, ExitCode } from '../errors.ts';
import type { TransformRegistry } from '../transforms/registry.ts';
import { parsePolicy } from '../policy/parse.ts';
import type { Policy } from '../policy/policy.ts';

/**
 * Reads and parses a policy file. Synchronous on purpose: a policy is small, and
 * the CLI cannot do anything before it is read.
 *
 * @example
 *   const policy = loadPolicy('pgmask.yaml', registry);
 */
export function loadPolicy(path: string, registry: TransformRegistry): Policy {
  return parsePolicy(readPolicyFile(path), path, registry);
}

/** The policy file's text: a missing or unreadable file is a usage error (exit 2), bytes that are not UTF-8 an invalid policy (exit 3). */
export function readPolicyFile(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw usageError('POLICY_NOT_FOUND', `policy file ${path} not found`, 'pass --policy or create pgmask.yaml (pgmask scan drafts one)');
    }
    throw usageError(
      'POLICY_UNREADABLE',
      `cannot read policy file ${path}: ${code === 'EISDIR' ? 'it is a directory' : (e as Error).message}`,
      'pass --policy with the path of a readable YAML file',
    );
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (e) {
    throw new PgmaskError({
      code: 'POLICY_ENCODING',
      message: `policy file ${path} is not valid UTF-8`,
      hint: 'save the policy as UTF-8',
      exitCode: ExitCode.invalidPolicy,
      cause: e,
    });
  }
  return text;
}
