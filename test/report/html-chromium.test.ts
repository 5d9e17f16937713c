import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyText } from '../../src/cli/pipeline.ts';
import { runReport } from '../../src/report/run-report.ts';
import { CLASS_COLORS, REPORT_CSP, renderReportHtml } from '../../src/report/render-html.ts';
import { ERROR_BAR_COLOR } from '../../src/report/svg-charts.ts';
import type { Report } from '../../src/report/report.ts';
import { createReportFixture, type ReportFixture } from './report-fixture.ts';
import { chromiumPresent, pageRequests, screenshot } from './chromium.ts';
import { countColor, decodePng } from './png.ts';

/**
 * The --html page in headless Chromium: it renders its charts (bar pixels in
 * the screenshot) and makes no request (a CSP that forbids loading anything,
 * no URL in the page, and a net log with no request from the page — checked
 * against a control page that does make one).
 */
const dir = mkdtempSync(join(tmpdir(), 'pgmask-report-html-'));
const htmlFile = join(dir, 'report.html');
let f: ReportFixture;
let report: Report;
let html: string;

// CI installs chromium (.ci/run) and must run this; elsewhere a missing browser is said, not hidden
const runBrowser = chromiumPresent() || process.env.CI === 'true';
if (!runBrowser) console.warn('[report] chromium test skipped: /usr/bin/chromium is absent (apt-get install chromium)');

beforeAll(async () => {
  f = await createReportFixture();
  await f.apply(f.safeHarborPolicy);
  report = await runReport(f.db.url, await loadPolicyText(f.safeHarborPolicy, 'safe.yaml'), { minK: 5 });
  html = renderReportHtml(report);
  writeFileSync(htmlFile, html);
}, 120_000);
afterAll(async () => {
  await f?.drop();
  rmSync(dir, { recursive: true, force: true });
});

describe('the HTML report', () => {
  it('is self-contained: a CSP that loads nothing, no script, no URL, no external reference', () => {
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}">`);
    expect(REPORT_CSP).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    expect(html).not.toMatch(/https?:/i);
    expect(html).not.toMatch(/<script|<link|<iframe|<object|<embed|@import|url\(/i);
    expect(html).not.toMatch(/\s(src|href)=/i);
    // the charts are inline SVG made by pgmask
    expect(html).toContain('<svg id="class-sizes-0"');
    expect(html).toContain('<svg id="error-relative"');
    expect(html).toContain('<svg id="error-days"');
  });

  it('shows the failing classes, the fidelity table and the Safe Harbor checklist', () => {
    const t = report.risk.tables.find((x) => x.table === 'people')!;
    expect(t.status === 'measured' && t.failingClasses.length).toBeGreaterThan(0);
    if (t.status !== 'measured') return;
    for (const c of t.failingClasses) expect(html).toContain(`<td class="num">${c.size}</td><td>${c.values.birth_date}</td><td>${c.values.zip}</td>`);
    expect(html).toContain('generalize_date');
    expect(html).toContain('3. HIPAA Safe Harbor checklist');
    expect(html.match(/<tr><td class="num"( rowspan="\d+")?>\d+<\/td>/g)!.length).toBeGreaterThanOrEqual(18);
  });

  it.skipIf(!runBrowser)('opens in headless Chromium: charts render and the page makes no request', async () => {
    const png = join(dir, 'report.png');
    const netLog = join(dir, 'net.json');
    await screenshot(htmlFile, png, netLog);
    const image = decodePng(readFileSync(png));
    expect([image.width, image.height]).toEqual([1200, 2000]);
    // every chart bar has its own color: count its pixels in the screenshot
    const histogram = [CLASS_COLORS.below, CLASS_COLORS.partly, CLASS_COLORS.above].map((c) => countColor(image, c));
    const errors = countColor(image, ERROR_BAR_COLOR);
    expect(histogram.reduce((a, h) => a + h.count, 0)).toBeGreaterThan(5_000);
    expect(histogram[2]!.count).toBeGreaterThan(2_000); // most records are in classes ≥ 5
    expect(errors.count).toBeGreaterThan(3_000);
    // the histogram is drawn above the error bars, both within the page
    expect(histogram[2]!.bottom).toBeLessThan(errors.top);
    let white = 0;
    for (let i = 0; i < image.pixels.length; i += 4) if (image.pixels[i]! > 245 && image.pixels[i + 1]! > 245 && image.pixels[i + 2]! > 245) white++;
    expect(white / (image.width * image.height)).toBeLessThan(0.97);
    expect(pageRequests(netLog)).toEqual([]);
  }, 120_000);

  it.skipIf(!runBrowser)('control: the net log check sees a request that a page without the CSP makes', async () => {
    const control = join(dir, 'control.html');
    writeFileSync(control, '<!DOCTYPE html><html><body><img src="http://pgmask-report-control.invalid/pixel.png" alt="x"></body></html>');
    const netLog = join(dir, 'control-net.json');
    await screenshot(control, join(dir, 'control.png'), netLog);
    expect(pageRequests(netLog)).toContain('http://pgmask-report-control.invalid/pixel.png');
  }, 120_000);
});
