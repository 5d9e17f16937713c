import { Command } from 'commander';
import { PGMASK_VERSION } from '../version.ts';

/**
 * The commands, each loaded only when it runs: `pgmask --help` lists them from this table
 * without importing any (start-up stays a few tens of milliseconds: no pg, kysely, zod or
 * esbuild), and `pgmask migrate …` imports commands/migrate.ts and what it needs.
 * `summary` is the line in the command list; each command's own help has its description.
 */
const commands: readonly { readonly name: string; readonly summary: string; readonly load: () => Promise<Command> }[] = [
  { name: 'generate', summary: 'print or write the SQL migration for a policy (changes nothing)', load: async () => (await import('./commands/generate.ts')).generateCommand() },
  { name: 'plan', summary: 'show what migrate would change: relations, rules, members, grants, runtime (changes nothing)', load: async () => (await import('./commands/plan.ts')).planCommand() },
  { name: 'migrate', summary: "apply pgmask's schema and the policy migration in one transaction", load: async () => (await import('./commands/migrate.ts')).migrateCommand() },
  { name: 'schema', summary: 'print the JSON Schema of the policy file, for editors', load: async () => (await import('./commands/schema.ts')).schemaCommand() },
  { name: 'demo', summary: 'embedded PostgreSQL + synthetic clinic: raw vs masked rows', load: async () => (await import('./commands/demo.ts')).demoCommand() },
  { name: 'verify', summary: 'attack the live masking as each masking role and member; exit 6 on a leak', load: async () => (await import('./commands/verify.ts')).verifyCommand() },
  { name: 'check', summary: 'compare the policy with the live schema and what is applied; exit 5 on drift', load: async () => (await import('./commands/check.ts')).checkCommand() },
  { name: 'report', summary: 're-identification risk and utility through the masked views; exit 7 below --min-k', load: async () => (await import('./commands/report.ts')).reportCommand() },
  { name: 'refresh', summary: 'refresh the materialized masked views (concurrently)', load: async () => (await import('./commands/refresh.ts')).refreshCommand() },
  { name: 'status', summary: 'what is applied: policy hash, runtime, masked relations, last refreshes', load: async () => (await import('./commands/status.ts')).statusCommand() },
  { name: 'scan', summary: 'classify every column of a live database and draft a policy', load: async () => (await import('./commands/scan.ts')).scanCommand() },
  { name: 'extract', summary: 'write what a masking role sees to another database, a SQL file or CSV files', load: async () => (await import('./commands/extract.ts')).extractCommand() },
  { name: 'transforms', summary: 'list the transforms a policy can use, with types and parameters', load: async () => (await import('./commands/transforms.ts')).transformsCommand() },
  { name: 'reveal', summary: 'turn encrypt tokens back into raw values (authorized roles; every call logged)', load: async () => (await import('./commands/reveal.ts')).revealCommand() },
  { name: 'uninstall', summary: 'remove everything pgmask created in this database (--dry-run first, then --yes)', load: async () => (await import('./commands/uninstall.ts')).uninstallCommand() },
  { name: 'keys', summary: 'list, rotate, export and import the masking keys', load: async () => (await import('./commands/keys.ts')).keysCommand() },
];

/** The command that argv runs (`pgmask migrate …`, `pgmask help migrate`), or undefined. */
function invokedCommand(argv: readonly string[]): string | undefined {
  const args = argv.slice(2).filter((a) => !a.startsWith('-'));
  return args[0] === 'help' ? args[1] : args[0];
}

/** The commander program: the invoked command in full (one file per command under commands/), the others as their names. */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const program = new Command('pgmask')
    .description('Mask clinical PostgreSQL databases inside the database: policy file → masked views and masking roles.')
    .version(PGMASK_VERSION)
    .option('--verbose', 'print on stderr the SQL each step runs (bound values are counted, never shown)')
    .showHelpAfterError()
    .addHelpText(
      'after',
      '\nExit codes: 0 ok · 1 internal · 2 usage · 3 invalid policy · 4 database · 5 drift · 6 leak found · 7 risk threshold not met',
    );
  program.hook('preAction', async (root) => {
    if (!root.opts<{ verbose?: boolean }>().verbose) return;
    const { logStatements } = await import('../db/query.ts');
    logStatements((text, values) => void process.stderr.write(`-- pgmask --verbose${values > 0 ? ` (${values} bound value(s))` : ''}\n${text.trimEnd()}\n`));
  });
  const invoked = invokedCommand(argv);
  for (const c of commands) {
    const cmd = c.name === invoked ? await c.load() : new Command(c.name).usage('[options]');
    program.addCommand(cmd.summary(c.summary).showHelpAfterError());
  }
  return program;
}

/** Every command in full (documentation generators, tests of the help texts). */
export async function loadAllCommands(): Promise<Command[]> {
  return Promise.all(commands.map((c) => c.load()));
}
