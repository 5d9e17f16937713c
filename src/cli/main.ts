import { CommanderError } from 'commander';
import { buildProgram } from './program.ts';
import { reportError } from './output.ts';
import { takeCommandExitCode } from './status.ts';
import { ExitCode } from '../errors.ts';

/** The entry point: runs one command and returns the process exit code (the only place that decides it). */
export async function main(argv: readonly string[]): Promise<number> {
  const program = await buildProgram(argv);
  program.exitOverride();
  for (const cmd of program.commands) cmd.exitOverride();
  const json = argv.includes('--json');
  try {
    await program.parseAsync([...argv]);
    return takeCommandExitCode();
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end with exitCode 0; everything else commander rejects is a usage error
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    return reportError(error, json);
  }
}
