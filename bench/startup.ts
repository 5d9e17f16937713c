/**
 * Start-up time of `pgmask --help` (median of 10 runs, after one warm-up), from the clone
 * (bin/pgmask.js: TypeScript through tsx, and the clone's dist/ with PGMASK_FROM_DIST=1)
 * and from the packed tarball installed into an empty prefix, next to `node -e ''` (the
 * floor). Not a test: it measures time.
 *
 *   npx tsx bench/startup.ts                      # packs and installs the tarball first
 *   npx tsx bench/startup.ts --installed PREFIX   # an existing `npm install -g --prefix PREFIX`
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../src/version.ts';

const RUNS = 10;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function time(label: string, command: string, args: string[], env: Record<string, string> = {}): void {
  const run = () => {
    const started = process.hrtime.bigint();
    const r = spawnSync(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) throw new Error(`${label}: exit ${r.status}: ${r.stderr}`);
    return Number(process.hrtime.bigint() - started) / 1e6;
  };
  run();
  const samples = Array.from({ length: RUNS }, run);
  console.log(`${label.padEnd(44)} median ${median(samples).toFixed(0).padStart(5)} ms  (min ${Math.min(...samples).toFixed(0)}, max ${Math.max(...samples).toFixed(0)}, n=${RUNS})`);
}

function installTarball(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pgmask-startup-'));
  chmodSync(dir, 0o755);
  execFileSync('npm', ['pack', '--pack-destination', dir], { cwd: packageRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  const prefix = join(dir, 'prefix');
  execFileSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--prefer-offline', join(dir, tarball)], { stdio: ['ignore', 'ignore', 'inherit'] });
  return prefix;
}

const at = process.argv.indexOf('--installed');
const prefix = at > 0 ? process.argv[at + 1]! : installTarball();
const bin = join(packageRoot, 'bin', 'pgmask.js');
console.log(`pgmask --help, ${RUNS} runs each (node ${process.version})`);
time("node -e '' (floor)", process.execPath, ['-e', '']);
time('clone: node bin/pgmask.js (tsx, source)', process.execPath, [bin, '--help']);
if (existsSync(join(packageRoot, 'dist', 'pgmask.js'))) time('clone: PGMASK_FROM_DIST=1 (compiled dist/)', process.execPath, [bin, '--help'], { PGMASK_FROM_DIST: '1' });
time(`installed tarball: ${join(prefix, 'bin', 'pgmask')}`, join(prefix, 'bin', 'pgmask'), ['--help']);
