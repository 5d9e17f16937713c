import { readFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { connect } from '../../db/connection.ts';
import { revealTokens } from '../../db/keys.ts';
import { PgmaskError, ExitCode, usageError } from '../../errors.ts';
import { createOutput } from '../output.ts';
import { databaseUrlOption, jsonOption, requireDatabaseUrl } from '../options.ts';

export function revealCommand(): Command {
  return new Command('reveal')
    .description('turn encrypt tokens back into values, as an honest broker (every call is written to pgmask.reveal_log)')
    .argument('[tokens...]', 'tokens to reveal; "-" or none reads one token per line from stdin')
    .addOption(new Option('-k, --key <name>', 'the key the tokens were made with').makeOptionMandatory())
    .addOption(new Option('--key-version <n>', 'key version for format-preserving tokens (they name none; default: the newest)').argParser((v) => {
      if (!/^[1-9][0-9]{0,8}$/.test(v)) throw usageError('BAD_KEY_VERSION', `--key-version must be a positive integer, not ${JSON.stringify(v)}`);
      return Number(v);
    }))
    .addOption(databaseUrlOption())
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Connect as a login role that is a member of a broker role (policy \`brokers:\`); any other
role gets error REVEAL_NOT_ALLOWED. Output: one value per line in token order (an empty
line for a token that does not verify); exit 4 when any token did not reveal.
  pgmask reveal --key reid v1.pxwkQYQ3bVpZ9tjQWJjC4B5gnZj2hQDgpaY0NkuEz0_B5-_Qy4mPj7v6GRvtzNTK
  psql -Atc 'SELECT mrn FROM masked.lab_alerts' | pgmask reveal --key reid -`,
    )
    .action(async (tokensArg: string[], opts: { key: string; keyVersion?: number; databaseUrl?: string; json?: boolean }) => {
      const url = requireDatabaseUrl(opts.databaseUrl);
      const out = createOutput(Boolean(opts.json));
      const fromStdin = tokensArg.length === 0 || (tokensArg.length === 1 && tokensArg[0] === '-');
      const tokens = fromStdin ? readFileSync(0, 'utf8').split(/\r?\n/).filter((l) => l !== '') : tokensArg;
      if (tokens.length === 0) throw usageError('NO_TOKENS', 'no tokens to reveal', 'pass tokens as arguments or one per line on stdin');
      const client = await connect(url);
      let results;
      try {
        results = await revealTokens(client, opts.key, tokens, opts.keyVersion ?? null);
      } finally {
        await client.end();
      }
      const failed = results.filter((r) => r.value === null).length;
      if (out.json) out.out(JSON.stringify({ ok: failed === 0, key: opts.key, revealed: results.length - failed, failed, values: results }, null, 2));
      else out.out(results.map((r) => r.value ?? '').join('\n'));
      if (failed > 0) {
        throw new PgmaskError({
          code: 'REVEAL_UNVERIFIED',
          message: `${failed} of ${results.length} token(s) did not reveal under key ${opts.key}`,
          hint: 'a token made with another key, changed or cut, or a format-preserving token of another key version (--key-version)',
          exitCode: ExitCode.database,
        });
      }
    });
}
