import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Debian's chromium (.ci/run installs it). */
export const CHROMIUM = '/usr/bin/chromium';

export const chromiumPresent = (): boolean => existsSync(CHROMIUM);

/**
 * Opens a file in headless Chromium, takes a screenshot and writes a net log.
 * Every host name resolves to nothing (--host-resolver-rules), so even the
 * browser's own background requests never leave the machine.
 */
export function screenshot(file: string, png: string, netLog: string): Promise<void> {
  const profile = mkdtempSync(join(tmpdir(), 'pgmask-chromium-'));
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--host-resolver-rules=MAP * ~NOTFOUND',
    `--user-data-dir=${profile}`,
    `--log-net-log=${netLog}`,
    `--screenshot=${png}`,
    '--window-size=1200,2000',
    `file://${file}`,
  ];
  return new Promise((resolve, reject) => {
    execFile(CHROMIUM, args, { timeout: 90_000 }, (error, _stdout, stderr) => {
      rmSync(profile, { recursive: true, force: true });
      if (error && !existsSync(png)) reject(new Error(`chromium failed: ${error.message}\n${stderr}`));
      else resolve();
    });
  });
}

/**
 * URLs of the requests a page made, from a Chromium net log: URL requests with
 * an initiator. The browser's own background requests (update checks, account
 * probes) carry the initiator "not an origin" and are not the page's.
 */
export function pageRequests(netLog: string): string[] {
  const log = JSON.parse(readFileSync(netLog, 'utf8')) as {
    constants: { logEventTypes: Record<string, number> };
    events: { type: number; params?: { url?: string; initiator?: string } }[];
  };
  const startJob = log.constants.logEventTypes['URL_REQUEST_START_JOB'];
  return log.events
    .filter((e) => e.type === startJob && e.params?.url !== undefined && e.params.initiator !== 'not an origin')
    .map((e) => e.params!.url!);
}
