import { Command } from 'commander';
import { PGMASK_VERSION } from '../version.ts';
import { generateCommand } from './commands/generate.ts';
import { migrateCommand } from './commands/migrate.ts';
import { schemaCommand } from './commands/schema.ts';
import { demoCommand } from './commands/demo.ts';
import { verifyCommand } from './commands/verify.ts';
import { checkCommand } from './commands/check.ts';
import { reportCommand } from './commands/report.ts';
import { refreshCommand } from './commands/refresh.ts';
import { statusCommand } from './commands/status.ts';
import { scanCommand } from './commands/scan.ts';
import { transformsCommand } from './commands/transforms.ts';
import { extractCommand } from './commands/extract.ts';
import { revealCommand } from './commands/reveal.ts';
import { keysCommand } from './commands/keys.ts';

/** The commander program: one file per command under commands/. */
export function buildProgram(): Command {
  const program = new Command('pgmask')
    .description('Mask clinical PostgreSQL databases inside the database: policy file → masked views and masking roles.')
    .version(PGMASK_VERSION)
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nExit codes: 0 ok · 1 internal · 2 usage · 3 invalid policy · 4 database · 5 drift · 6 leak found · 7 risk threshold not met',
    );
  for (const cmd of [generateCommand(), migrateCommand(), schemaCommand(), demoCommand(), verifyCommand(), checkCommand(), reportCommand(), refreshCommand(), statusCommand(), scanCommand(), transformsCommand(), extractCommand(), revealCommand(), keysCommand()]) {
    program.addCommand(cmd.showHelpAfterError());
  }
  return program;
}
