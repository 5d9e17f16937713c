import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { queryAs } from '../support/db.ts';
import { loadPolicyText } from '../../src/cli/pipeline.ts';
import { runReport } from '../../src/report/run-report.ts';
import { CLASS_SIZE_BUCKETS, type DeclaredTableRisk, type Report } from '../../src/report/report.ts';
import { createReportFixture, type ReportFixture } from './report-fixture.ts';

/**
 * The report's figures against an independent computation: the test reads the
 * masked rows as the login member (a small dataset) and computes k-anonymity,
 * the class histogram, uniqueness, l-diversity and small cells in TypeScript;
 * utility from raw rows (admin) joined with masked rows (member) by the kept
 * person_id. The report computes all of it in SQL without reading rows.
 */

type Row = Record<string, string | null>;

interface Expected {
  records: number;
  classes: number;
  k: number;
  histogram: { classes: number; records: number }[];
  atRiskClasses: number;
  atRiskRecords: number;
  unique: number;
  distinctL: number;
  entropyL: number;
  oneValue: number;
  smallCells: { column: string; distinctValues: number; smallCells: number; records: number }[];
  failing: { values: Record<string, string | null>; size: number }[];
}

const QIS = ['birth_date', 'zip', 'sex'];

function independentRisk(rows: Row[], threshold: number): Expected {
  const classes = new Map<string, Row[]>();
  for (const r of rows) {
    const key = JSON.stringify(QIS.map((q) => r[q]));
    classes.set(key, [...(classes.get(key) ?? []), r]);
  }
  const sizes = [...classes.values()].map((c) => c.length);
  const histogram = CLASS_SIZE_BUCKETS.map((b) => {
    const inBucket = sizes.filter((n) => n >= b.min && (b.max === null || n <= b.max));
    return { classes: inBucket.length, records: inBucket.reduce((a, n) => a + n, 0) };
  });
  let distinctL = Infinity;
  let minEntropy = Infinity;
  let oneValue = 0;
  for (const members of classes.values()) {
    const counts = new Map<string | null, number>();
    for (const m of members) counts.set(m.diagnosis ?? null, (counts.get(m.diagnosis ?? null) ?? 0) + 1);
    distinctL = Math.min(distinctL, counts.size);
    if (counts.size === 1) oneValue++;
    let h = 0;
    for (const n of counts.values()) h -= (n / members.length) * Math.log(n / members.length);
    minEntropy = Math.min(minEntropy, h);
  }
  const smallCells = QIS.map((q) => {
    const counts = new Map<string | null, number>();
    for (const r of rows) counts.set(r[q] ?? null, (counts.get(r[q] ?? null) ?? 0) + 1);
    const small = [...counts.values()].filter((n) => n < 11);
    return { column: q, distinctValues: counts.size, smallCells: small.length, records: small.reduce((a, n) => a + n, 0) };
  });
  const failing = [...classes.values()]
    .filter((c) => c.length < threshold)
    .map((c) => ({ values: Object.fromEntries(QIS.map((q) => [q, c[0]![q] ?? null])), size: c.length }));
  const atRisk = sizes.filter((n) => n < threshold);
  return {
    records: rows.length,
    classes: classes.size,
    k: Math.min(...sizes),
    histogram,
    atRiskClasses: atRisk.length,
    atRiskRecords: atRisk.reduce((a, n) => a + n, 0),
    unique: sizes.filter((n) => n === 1).length,
    distinctL,
    entropyL: Math.exp(minEntropy),
    oneValue,
    smallCells,
    failing,
  };
}

function checkRisk(t: DeclaredTableRisk, e: Expected): void {
  expect(t.records).toBe(e.records);
  expect(t.classes).toBe(e.classes);
  expect(t.k).toBe(e.k);
  expect(t.histogram.map((b) => ({ classes: b.classes, records: b.records }))).toEqual(e.histogram);
  expect(t.atRisk.classes).toBe(e.atRiskClasses);
  expect(t.atRisk.records).toBe(e.atRiskRecords);
  expect(t.atRisk.percent).toBeCloseTo((100 * e.atRiskRecords) / e.records, 9);
  expect(t.sampleUniqueness.records).toBe(e.unique);
  expect(t.sampleUniqueness.share).toBeCloseTo(e.unique / e.records, 12);
  expect(t.lDiversity).toHaveLength(1);
  expect(t.lDiversity[0]!.distinctL).toBe(e.distinctL);
  expect(t.lDiversity[0]!.entropyL).toBeCloseTo(e.entropyL, 9);
  expect(t.lDiversity[0]!.classesWithOneValue).toBe(e.oneValue);
  expect(t.smallCells).toEqual(e.smallCells);
  const byKey = (f: { values: Record<string, string | null>; size: number }) => `${f.size}:${JSON.stringify(QIS.map((q) => f.values[q]))}`;
  expect(t.failingClasses.map(byKey).sort()).toEqual(e.failing.map(byKey).sort());
  expect(t.failingClassesTruncated).toBe(false);
}

const maskedRows = (f: ReportFixture) =>
  queryAs<Row>(f.readerUrl, 'SELECT person_id::text, birth_date::text AS birth_date, zip, sex, diagnosis, weight_kg::float8::text AS weight_kg, height_cm::text AS height_cm FROM masked.people');

let f: ReportFixture;

beforeAll(async () => {
  f = await createReportFixture();
}, 120_000);
afterAll(async () => {
  await f?.drop();
});

describe('risk equals an independent computation', () => {
  let exact: Report;
  let safe: Report;
  let exactRows: Row[];
  let safeRows: Row[];

  beforeAll(async () => {
    await f.apply(f.exactPolicy);
    exactRows = await maskedRows(f);
    exact = await runReport(f.db.url, await loadPolicyText(f.exactPolicy, 'exact.yaml'), { minK: 5 });
    await f.apply(f.safeHarborPolicy);
    safeRows = await maskedRows(f);
    safe = await runReport(f.db.url, await loadPolicyText(f.safeHarborPolicy, 'safe.yaml'), { minK: 3 });
  }, 120_000);

  it('exact birth dates and ZIPs: k, classes, histogram, uniqueness, l-diversity, small cells', () => {
    const t = exact.risk.tables.find((x) => x.table === 'people') as DeclaredTableRisk;
    expect(t.status).toBe('measured');
    const e = independentRisk(exactRows, 5);
    // the filter removed opted-out people: the report measured what analysts see
    expect(e.records).toBe(600 - Math.floor(600 / 17));
    expect(e.k).toBe(1);
    checkRisk(t, e);
    expect(t.meetsMinK).toBe(false);
    expect(exact.ok).toBe(false);
  });

  it('Safe Harbor generalization: the same figures on year and ZIP3 classes', () => {
    const t = safe.risk.tables.find((x) => x.table === 'people') as DeclaredTableRisk;
    const e = independentRisk(safeRows, 3);
    expect(e.classes).toBeLessThan(100);
    checkRisk(t, e);
    expect(t.meetsMinK).toBe(e.k >= 3);
  });

  it('reads the views as the masking role, and reports undeclared tables as such', () => {
    expect(safe.risk.role).toBe(f.role);
    expect(safe.risk.impersonation).toBe('session authorization');
    expect(safe.risk.tables.find((x) => x.table === 'visits')).toEqual({ table: 'visits', status: 'not declared' });
  });

  it('through a real login of a member (--login-url): the same risk figures, read as that user', async () => {
    const viaLogin = await runReport(f.db.url, await loadPolicyText(f.safeHarborPolicy, 'safe.yaml'), { minK: 3, loginUrl: f.readerUrl });
    expect(viaLogin.risk.impersonation).toBe('login');
    expect(viaLogin.risk.role).toBe(f.reader);
    expect(viaLogin.risk.tables).toEqual(safe.risk.tables);
  });

  it('utility: errors, sd ratio, overlap, distinct counts and correlation equal a computation over joined rows', async () => {
    const raw = await f.db.query<Row>(
      'SELECT person_id::text, birth_date::text AS birth_date, weight_kg::float8::text AS weight_kg, height_cm::text AS height_cm FROM public.people WHERE NOT opted_out',
    );
    const masked = new Map(safeRows.map((r) => [r.person_id, r]));
    const pairs = raw.rows.map((r) => ({ r, m: masked.get(r.person_id)! }));
    expect(pairs.every((p) => p.m !== undefined)).toBe(true);

    const weight = safe.utility.columns.find((c) => c.column === 'weight_kg')!;
    // NULL weights: left out of errors and spreads, and of the histogram bins (not counted in the first)
    const value = (v: string | null | undefined) => (v === null || v === undefined ? null : Number(v));
    expect(pairs.filter((p) => p.r.weight_kg === null).length).toBeGreaterThan(10);
    const rw = pairs.map((p) => value(p.r.weight_kg)).filter((v) => v !== null);
    const mw = pairs.map((p) => value(p.m.weight_kg)).filter((v) => v !== null);
    const both = pairs.filter((p) => p.r.weight_kg !== null && p.m.weight_kg !== null);
    const rel = both.map((p) => Math.abs(Number(p.m.weight_kg) - Number(p.r.weight_kg)) / Math.abs(Number(p.r.weight_kg)));
    expect(weight.technique).toBe('perturbed');
    expect(weight.error!.unit).toBe('relative');
    expect(weight.error!.mean).toBeCloseTo(mean(rel), 9);
    expect(weight.error!.median).toBeCloseTo(median(rel), 9);
    // noise of mean absolute error 5%: the measured mean is near it
    expect(weight.error!.mean).toBeGreaterThan(0.03);
    expect(weight.error!.mean).toBeLessThan(0.07);
    expect(weight.sdRatio).toBeCloseTo(sd(mw) / sd(rw), 9);
    expect(weight.histogramOverlap).toBeCloseTo(overlap(rw, mw), 9);
    // distinct counts describe generalization only
    expect(weight.distinctRaw).toBeNull();
    expect(weight.distinctMasked).toBeNull();
    expect(weight.informationLoss).toBeNull();

    const birth = safe.utility.columns.find((c) => c.column === 'birth_date')!;
    const day = (d: string) => Date.parse(`${d}T00:00:00Z`) / 86_400_000;
    const days = pairs.map((p) => Math.abs(day(p.m.birth_date!) - day(p.r.birth_date!)));
    expect(birth.technique).toBe('generalized');
    expect(birth.error!.unit).toBe('days');
    expect(birth.error!.mean).toBeCloseTo(mean(days), 6);
    expect(birth.distinctRaw).toBe(new Set(pairs.map((p) => p.r.birth_date)).size);
    expect(birth.distinctMasked).toBe(new Set(pairs.map((p) => p.m.birth_date)).size);
    expect(birth.distinctMasked).toBe(10);
    expect(birth.informationLoss).toBeCloseTo(1 - 10 / birth.distinctRaw!, 12);

    const zip = safe.utility.columns.find((c) => c.column === 'zip')!;
    expect(zip.error).toBeNull();
    expect(zip.distinctRaw).toBe(14);
    expect(zip.distinctMasked).toBe(2);

    const height = safe.utility.columns.find((c) => c.column === 'height_cm')!;
    expect(height.distinctMasked).toBe(new Set(pairs.map((p) => p.m.height_cm)).size);

    // not measured: keep, redact, pseudonymize
    expect(safe.utility.columns.map((c) => c.column).sort()).toEqual(['birth_date', 'height_cm', 'weight_kg', 'zip']);

    const c = safe.utility.correlations.find((x) => x.table === 'people' && [x.a, x.b].sort().join() === 'height_cm,weight_kg')!;
    const rPairs = pairs.filter((p) => p.r.weight_kg !== null);
    const mPairs = pairs.filter((p) => p.m.weight_kg !== null);
    expect(c.raw).toBeCloseTo(corr(rPairs.map((p) => Number(p.r.weight_kg)), rPairs.map((p) => Number(p.r.height_cm))), 9);
    expect(c.masked).toBeCloseTo(corr(mPairs.map((p) => Number(p.m.weight_kg)), mPairs.map((p) => Number(p.m.height_cm))), 9);
    expect(c.a === 'person_id' || c.b === 'person_id').toBe(false);
    expect(safe.utility.correlations.some((x) => x.a === 'person_id' || x.b === 'person_id')).toBe(false);
  });

  it('Safe Harbor checklist: raw identifiers flagged, generalizations accepted', () => {
    const all = exact.safeHarbor.kinds.flatMap((k) => k.columns.map((c) => ({ ...c, number: k.number })));
    expect(exact.safeHarbor.kinds).toHaveLength(18);
    const birth = all.find((c) => c.column === 'birth_date')!;
    expect(birth).toMatchObject({ number: 3, handling: 'kept raw', flagged: true, meetsSafeHarbor: false });
    const zip = all.find((c) => c.column === 'zip')!;
    expect(zip).toMatchObject({ number: 2, handling: 'kept raw', flagged: true });
    expect(all.find((c) => c.column === 'mrn')).toMatchObject({ number: 8, handling: 'pseudonymized', flagged: false });
    expect(all.find((c) => c.column === 'full_name')).toMatchObject({ number: 1, handling: 'removed', meetsSafeHarbor: true });

    const safeAll = safe.safeHarbor.kinds.flatMap((k) => k.columns);
    // the year of a birth date still shows the birth year of someone over 89: Safe Harbor wants it top-coded too
    expect(safeAll.find((c) => c.column === 'birth_date')).toMatchObject({ handling: 'generalized', meetsSafeHarbor: false, flagged: false });
    expect(safeAll.find((c) => c.column === 'birth_date')!.note).toContain('age { year_only: true }');
    expect(safeAll.find((c) => c.column === 'zip')).toMatchObject({ handling: 'generalized', meetsSafeHarbor: true, flagged: false });
    expect(safe.safeHarbor.flagged).toBeLessThan(exact.safeHarbor.flagged);
  });
});

function mean(xs: number[]): number {
  return xs.reduce((a, x) => a + x, 0) / xs.length;
}
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length / 2;
  return s.length % 2 ? s[Math.floor(mid)]! : (s[mid - 1]! + s[mid]!) / 2;
}
function sd(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}
function corr(xs: number[], ys: number[]): number {
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  xs.forEach((x, i) => {
    sxy += (x - mx) * (ys[i]! - my);
    sxx += (x - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  });
  return sxy / Math.sqrt(sxx * syy);
}
/** 20 equal bins over the raw range; values outside fall into the edge bins. */
function overlap(raw: number[], masked: number[]): number {
  const lo = Math.min(...raw);
  const hi = Math.max(...raw);
  const bin = (v: number) => Math.min(20, Math.max(1, Math.floor(((v - lo) / (hi - lo)) * 20) + 1));
  const share = (xs: number[]) => {
    const counts = new Array<number>(21).fill(0);
    for (const x of xs) counts[bin(x)]!++;
    return counts.map((n) => n / xs.length);
  };
  const a = share(raw);
  const b = share(masked);
  return a.reduce((s, x, i) => s + Math.min(x, b[i]!), 0);
}
