import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { ident, sql, type Sql } from '../sql/index.ts';
import { databaseError, usageError } from '../errors.ts';
import {
  areaCodes,
  commonZip3,
  emailDomains,
  femaleFirstNames,
  lastNames,
  maleFirstNames,
  neutralFirstNames,
  restrictedZip3,
} from './synthetic-data/people.ts';
import { clinicianTitles, departments, labCodes, noteFindings, notePlans, type LabCode } from './synthetic-data/clinical.ts';
import { query } from '../db/query.ts';
import { copyIn } from '../db/copy-stream.ts';

/**
 * Deterministic synthetic clinical data: patients, encounters, observations and
 * free-text notes, with no real people in them. The same seed and scale give the
 * same bytes in every table, so benchmarks and demos are reproducible.
 *
 * @example
 *   await createClinicalSchema(client);                 // public.patients, … with PKs, FKs, FK indexes
 *   await loadClinicalData(client, { scale: 10_000 });  // 10k encounters and observations, 1k patients and notes
 */

export interface ClinicalDataOptions {
  readonly schema?: string;
  /** rows in `encounters` and in `observations`; patients = max(20, scale/10), notes = scale/10 */
  readonly scale: number;
  readonly seed?: number;
}

export interface ClinicalDataCounts {
  readonly patients: number;
  readonly encounters: number;
  readonly observations: number;
  readonly notes: number;
}

/** Row counts for a scale, without generating anything. */
export function clinicalRowCounts(scale: number): ClinicalDataCounts {
  checkScale(scale);
  return {
    patients: Math.max(20, Math.floor(scale / 10)),
    encounters: scale,
    observations: scale,
    notes: Math.floor(scale / 10),
  };
}

/**
 * Parses a scale as written on a command line: `10k`, `100k`, `1m`, `2.5m`, `250000`, `250_000`.
 *
 * @example parseScale('1m') // 1000000
 */
export function parseScale(text: string): number {
  const match = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim().replaceAll('_', ''));
  const factor = match?.[2]?.toLowerCase() === 'm' ? 1_000_000 : match?.[2]?.toLowerCase() === 'k' ? 1_000 : 1;
  const exact = match ? Number(match[1]) * factor : NaN;
  const value = Math.round(exact);
  // 1.1k is 1100 (floating point gives 1100.0000000000002); 1.5 rows is not a scale
  if (!Number.isSafeInteger(value) || value < 1 || Math.abs(exact - value) > 1e-6) {
    throw usageError('INVALID_SCALE', `invalid scale ${JSON.stringify(text)}`, 'write a row count such as 10k, 100k, 1m or 250000');
  }
  return value;
}

function checkScale(scale: number): void {
  if (!Number.isSafeInteger(scale) || scale < 1) {
    throw usageError('INVALID_SCALE', `invalid scale ${scale}: expected a whole number of rows ≥ 1`, 'use parseScale() for texts like 10k or 1m');
  }
}

const foreignKeys = [
  { table: 'encounters', name: 'encounters_patient_id_fkey', column: 'patient_id', references: 'patients' },
  { table: 'observations', name: 'observations_encounter_id_fkey', column: 'encounter_id', references: 'encounters' },
  { table: 'observations', name: 'observations_patient_id_fkey', column: 'patient_id', references: 'patients' },
  { table: 'notes', name: 'notes_encounter_id_fkey', column: 'encounter_id', references: 'encounters' },
  { table: 'notes', name: 'notes_patient_id_fkey', column: 'patient_id', references: 'patients' },
] as const;

function fkIndexName(fk: (typeof foreignKeys)[number]): string {
  return `${fk.table}_${fk.column}_idx`;
}

function addForeignKeys(schema: string): Sql[] {
  return foreignKeys.flatMap((fk) => [
    sql`ALTER TABLE ${ident(schema, fk.table)} ADD CONSTRAINT ${ident(fk.name)} FOREIGN KEY (${ident(fk.column)}) REFERENCES ${ident(schema, fk.references)}`,
    sql`CREATE INDEX ${ident(fkIndexName(fk))} ON ${ident(schema, fk.table)} (${ident(fk.column)})`,
  ]);
}

function dropForeignKeys(schema: string): Sql[] {
  return foreignKeys.flatMap((fk) => [
    sql`ALTER TABLE ${ident(schema, fk.table)} DROP CONSTRAINT IF EXISTS ${ident(fk.name)}`,
    sql`DROP INDEX IF EXISTS ${ident(schema, fkIndexName(fk))}`,
  ]);
}

/** Creates the four clinical tables (with primary keys, foreign keys and indexes on them) in `schema`. */
export async function createClinicalSchema(client: pg.ClientBase, schema = 'public'): Promise<void> {
  const s = (table: string) => ident(schema, table);
  const statements: Sql[] = [
    sql`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`,
    sql`CREATE TABLE ${s('patients')} (
  patient_id text PRIMARY KEY,
  mrn text NOT NULL UNIQUE,
  first_name text,
  last_name text,
  birth_date date,
  zip text,
  sex text,
  weight_kg numeric(5,1),
  email text,
  phone text,
  research_opt_out boolean NOT NULL DEFAULT false
)`,
    sql`CREATE TABLE ${s('encounters')} (
  encounter_id bigint PRIMARY KEY,
  patient_id text NOT NULL,
  admitted_at timestamptz NOT NULL,
  discharged_at timestamptz,
  department text,
  reason text
)`,
    sql`CREATE TABLE ${s('observations')} (
  observation_id bigint PRIMARY KEY,
  encounter_id bigint NOT NULL,
  patient_id text NOT NULL,
  loinc_code text NOT NULL,
  value_num double precision,
  unit text,
  observed_at timestamptz NOT NULL
)`,
    sql`CREATE TABLE ${s('notes')} (
  note_id bigint PRIMARY KEY,
  encounter_id bigint NOT NULL,
  patient_id text NOT NULL,
  written_at timestamptz NOT NULL,
  author text,
  body text
)`,
    ...addForeignKeys(schema),
  ];
  try {
    for (const statement of statements) await query(client, statement);
  } catch (cause) {
    throw databaseError(cause, `cannot create the synthetic clinical tables in schema ${schema}`, 'use an empty schema (or a fresh database)');
  }
}

/**
 * Replaces the contents of the clinical tables with deterministic synthetic rows,
 * streamed with COPY FROM STDIN in one transaction, then runs ANALYZE. Foreign keys
 * and their indexes are dropped for the load and re-created after it (one
 * validating join instead of a trigger per row), as pg_restore does.
 */
export async function loadClinicalData(client: pg.ClientBase, opts: ClinicalDataOptions): Promise<ClinicalDataCounts> {
  const schema = opts.schema ?? 'public';
  const counts = clinicalRowCounts(opts.scale);
  const generator = new ClinicalGenerator(counts, opts.seed ?? 1);
  const s = (table: string) => ident(schema, table);
  try {
    await query(client, sql`BEGIN`);
    await query(client, sql`TRUNCATE ${s('notes')}, ${s('observations')}, ${s('encounters')}, ${s('patients')}`);
    for (const statement of dropForeignKeys(schema)) await query(client, statement);
    await copyRows(client, s('patients'), ['patient_id', 'mrn', 'first_name', 'last_name', 'birth_date', 'zip', 'sex', 'weight_kg', 'email', 'phone', 'research_opt_out'], generator.patients());
    await copyRows(client, s('encounters'), ['encounter_id', 'patient_id', 'admitted_at', 'discharged_at', 'department', 'reason'], generator.encounters());
    await copyRows(client, s('observations'), ['observation_id', 'encounter_id', 'patient_id', 'loinc_code', 'value_num', 'unit', 'observed_at'], generator.observations());
    await copyRows(client, s('notes'), ['note_id', 'encounter_id', 'patient_id', 'written_at', 'author', 'body'], generator.notes());
    for (const statement of addForeignKeys(schema)) await query(client, statement);
    await query(client, sql`COMMIT`);
    await query(client, sql`ANALYZE ${s('patients')}, ${s('encounters')}, ${s('observations')}, ${s('notes')}`);
  } catch (cause) {
    await query(client, sql`ROLLBACK`).catch(() => {});
    throw databaseError(cause, `cannot load synthetic clinical data into schema ${schema}`, 'create the tables first with createClinicalSchema()');
  }
  return counts;
}

/** Streams rows (one COPY text line each) in ~64 KB chunks, with back-pressure: memory stays flat at any scale. */
async function copyRows(client: pg.ClientBase, table: Sql, columns: readonly string[], rows: Iterable<string>): Promise<void> {
  function* chunks(): Generator<string> {
    let chunk = '';
    for (const row of rows) {
      chunk += row;
      if (chunk.length >= 65_536) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  }
  const stream = copyIn(client, table, columns.map((c) => ident(c)), 'text');
  await pipeline(Readable.from(chunks(), { objectMode: false }), stream);
}

// ——— deterministic randomness ———

/** mulberry32: tiny, fast, and good enough for test data; the same seed gives the same sequence everywhere. */
export class SeededRandom {
  private state: number;
  private spare: number | undefined;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniform number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A whole number in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** A standard normal deviate (Box–Muller, using both values). */
  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare;
      this.spare = undefined;
      return v;
    }
    const u = 1 - this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    const theta = 2 * Math.PI * this.next();
    this.spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  }
}

/** An independent stream per table: changing one table's generator leaves the others' bytes unchanged. */
function streamSeed(seed: number, stream: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

// ——— the generator ———

const DAY = 86_400_000;
const YEAR = 365.2425 * DAY;
/** Ages are measured at this date, the end of the data's time span. */
const REFERENCE = Date.UTC(2025, 11, 31);
const SPAN_START = Date.UTC(2015, 0, 1);
const SPAN_END = Date.UTC(2026, 0, 1);
const NULL = '\\N';
/** ~3% of every optional column is NULL, as in real extracts. */
const NULL_RATE = 0.03;

const departmentWeights = cumulative(departments.map((d) => d.weight));
const labWeights = cumulative(labCodes.map((l) => l.weight));
const pediatrics = departments.findIndex((d) => d.name === 'Pediatrics');
const obstetrics = departments.findIndex((d) => d.name === 'Obstetrics');
const internalMedicine = departments.findIndex((d) => d.name === 'Internal Medicine');

function cumulative(weights: readonly number[]): Float64Array {
  const total = weights.reduce((a, b) => a + b, 0);
  const out = new Float64Array(weights.length);
  let sum = 0;
  weights.forEach((w, i) => (out[i] = sum += w / total));
  return out;
}

function pickWeighted(random: SeededRandom, cdf: Float64Array): number {
  const u = random.next();
  for (let i = 0; i < cdf.length; i++) if (u < cdf[i]!) return i;
  return cdf.length - 1;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** COPY text format: backslash, tab, newline and carriage return are escaped; null is \N. */
function text(value: string | null): string {
  if (value === null) return NULL;
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => copyEscapes[c]!) : value;
}
const copyEscapes: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function usDate(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}/${d.getUTCFullYear()}`;
}

function timestamp(ms: number): string {
  return new Date(ms).toISOString();
}

function asciiLower(name: string): string {
  return name.normalize('NFD').replace(/[^A-Za-z]/g, '').toLowerCase();
}

function patientId(index: number): string {
  return `P${String(index + 1).padStart(7, '0')}`;
}

export class ClinicalGenerator {
  private readonly counts: ClinicalDataCounts;
  private readonly seed: number;
  // what later tables need to know about earlier rows, kept in flat arrays
  private readonly firstName: (string | null)[];
  private readonly lastName: (string | null)[];
  private readonly sex: (string | null)[];
  private readonly birth: Float64Array;
  private readonly weight: Float64Array;
  private readonly phone: (string | null)[];
  private readonly encPatient: Int32Array;
  private readonly encAdmitted: Float64Array;
  private readonly encDischarged: Float64Array;
  private readonly encDepartment: Int8Array;
  private readonly encReason: Int8Array;
  private readonly mrnMultiplier: number;
  private readonly patientMultiplier: number;

  constructor(counts: ClinicalDataCounts, seed: number) {
    this.counts = counts;
    this.seed = seed;
    const p = counts.patients;
    this.firstName = new Array(p).fill(null);
    this.lastName = new Array(p).fill(null);
    this.sex = new Array(p).fill(null);
    this.phone = new Array(p).fill(null);
    this.birth = new Float64Array(p);
    this.weight = new Float64Array(p);
    const e = counts.encounters;
    this.encPatient = new Int32Array(e);
    this.encAdmitted = new Float64Array(e);
    this.encDischarged = new Float64Array(e);
    this.encDepartment = new Int8Array(e);
    this.encReason = new Int8Array(e);
    // i ↦ (i·a + b) mod m is a bijection when gcd(a, m) = 1: unique MRNs, and heavy users spread over the id range
    this.mrnMultiplier = 48_271;
    let a = Math.floor(p * 0.618_033_988) + 1;
    while (gcd(a, p) !== 1) a++;
    this.patientMultiplier = a;
  }

  private mrn(index: number): string {
    return `MRN${String((index * this.mrnMultiplier + 10_000_019) % 100_000_000).padStart(8, '0')}`;
  }

  *patients(): Generator<string> {
    const random = new SeededRandom(streamSeed(this.seed, 1));
    for (let i = 0; i < this.counts.patients; i++) {
      const sexDraw = random.next();
      const sex = sexDraw < 0.52 ? 'F' : sexDraw < 0.98 ? 'M' : 'X';
      const pool = sex === 'F' ? femaleFirstNames : sex === 'M' ? maleFirstNames : neutralFirstNames;
      const first = random.pick(pool);
      const last = random.pick(lastNames);
      const firstName = random.chance(0.01) ? null : first;
      const lastName = random.chance(0.005) ? null : last;

      // ages skewed old, as hospital populations are; ~3% over 89 (a HIPAA identifier on its own)
      const ageBand = random.next();
      let age: number;
      if (ageBand < 0.06) age = random.next() * 18;
      else if (ageBand < 0.26) age = 18 + random.next() * 27;
      else if (ageBand < 0.56) age = 45 + random.next() * 20;
      else if (ageBand < 0.97) age = 65 + random.next() * 25;
      else age = 90 + random.next() * 15;
      if (i === 5) age = 96.4; // small scales still show an over-89 patient
      let birth = Math.floor((REFERENCE - age * YEAR) / DAY) * DAY;
      if (random.chance(0.004) || i === 3) {
        // leap-day birthdays break naive date shifting and age arithmetic
        let year = new Date(birth).getUTCFullYear();
        while (!(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) year--;
        birth = Date.UTC(year, 1, 29);
      }
      const birthNull = random.chance(0.01);

      const zipDraw = random.next();
      const zip3 = zipDraw < 0.02 || i === 7 ? random.pick(restrictedZip3) : random.pick(commonZip3);
      let zip = `${zip3}${String(random.int(100)).padStart(2, '0')}`;
      if (random.chance(0.1)) zip += `-${String(random.int(10_000)).padStart(4, '0')}`;
      const zipNull = random.chance(NULL_RATE);

      const ageYears = (REFERENCE - birth) / YEAR;
      let kg: number;
      if (ageYears < 18) kg = 3.5 + ageYears * 3.6 + random.normal() * (1 + ageYears * 0.5);
      else kg = (sex === 'F' ? 74 : sex === 'M' ? 88 : 80) + random.normal() * 17;
      kg = Math.min(250, Math.max(2, Math.round(kg * 10) / 10));
      const weightNull = random.chance(NULL_RATE);

      const domain = random.pick(emailDomains);
      const email = `${asciiLower(first)}.${asciiLower(last)}${random.int(100)}@${domain}`;
      const emailNull = random.chance(NULL_RATE);
      // 555-01xx numbers are reserved for fiction
      const area = random.pick(areaCodes);
      const line = `555-01${String(random.int(100)).padStart(2, '0')}`;
      const format = random.int(3);
      const phone = format === 0 ? `(${area}) ${line}` : format === 1 ? `${area}-${line}` : `+1 ${area} ${line.replace('-', ' ')}`;
      const phoneNull = random.chance(NULL_RATE);
      const optOut = random.chance(0.08);

      this.firstName[i] = firstName;
      this.lastName[i] = lastName;
      this.sex[i] = sex;
      this.birth[i] = birthNull ? NaN : birth;
      this.weight[i] = weightNull ? NaN : kg;
      this.phone[i] = phoneNull ? null : phone;
      yield `${patientId(i)}\t${this.mrn(i)}\t${text(firstName)}\t${text(lastName)}\t${birthNull ? NULL : isoDate(birth)}\t${zipNull ? NULL : zip}\t${sex}\t${weightNull ? NULL : kg.toFixed(1)}\t${emailNull ? NULL : text(email)}\t${phoneNull ? NULL : phone}\t${optOut ? 't' : 'f'}\n`;
    }
  }

  /** A patient index, Zipf-like: most patients have a handful of encounters, a few chronic patients have very many. */
  private encounterPatient(random: SeededRandom): number {
    const p = this.counts.patients;
    const rank = random.chance(0.06) ? Math.floor(p * random.next() ** 5) : random.int(p);
    return (rank * this.patientMultiplier + Math.floor(p / 3)) % p;
  }

  *encounters(): Generator<string> {
    const random = new SeededRandom(streamSeed(this.seed, 2));
    for (let i = 0; i < this.counts.encounters; i++) {
      const patient = this.encounterPatient(random);
      // slightly more visits in later years, as hospitals grow
      let admitted = SPAN_START + (SPAN_END - SPAN_START) * random.next() ** 0.85;
      const birth = this.birth[patient]!;
      if (admitted < birth) admitted = birth + (SPAN_END - birth) * random.next();
      admitted = Math.floor(admitted / 60_000) * 60_000;

      let department = pickWeighted(random, departmentWeights);
      const ageYears = Number.isNaN(birth) ? 50 : (admitted - birth) / YEAR;
      if (ageYears < 18 && random.chance(0.7)) department = pediatrics;
      else if (department === pediatrics && ageYears >= 18) department = internalMedicine;
      if (department === obstetrics && this.sex[patient] !== 'F') department = internalMedicine;
      const dept = departments[department]!;
      const reason = random.int(dept.reasons.length);

      let stay: number;
      if (dept.stay === 'outpatient') stay = (15 + random.int(76)) * 60_000;
      else if (dept.stay === 'emergency') stay = Math.min(48, Math.exp(1.3 + 0.6 * random.normal())) * 3_600_000;
      else stay = Math.min(60, Math.max(0.3, Math.exp(1.1 + 0.7 * random.normal()))) * DAY;
      const discharged = Math.floor((admitted + stay) / 60_000) * 60_000;
      const dischargedNull = random.chance(NULL_RATE);
      const departmentNull = random.chance(NULL_RATE);
      const reasonNull = random.chance(NULL_RATE);

      this.encPatient[i] = patient;
      this.encAdmitted[i] = admitted;
      this.encDischarged[i] = dischargedNull ? NaN : discharged;
      this.encDepartment[i] = department;
      this.encReason[i] = reasonNull ? -1 : reason;
      yield `${i + 1}\t${patientId(patient)}\t${timestamp(admitted)}\t${dischargedNull ? NULL : timestamp(discharged)}\t${departmentNull ? NULL : dept.name}\t${reasonNull ? NULL : text(dept.reasons[reason]!)}\n`;
    }
  }

  private encounterEnd(encounter: number): number {
    const discharged = this.encDischarged[encounter]!;
    return Number.isNaN(discharged) ? this.encAdmitted[encounter]! + 6 * 3_600_000 : discharged;
  }

  private labValue(random: SeededRandom, lab: LabCode, patient: number): number {
    const weight = this.weight[patient]!;
    let value: number;
    if (lab.loinc === '29463-7' && !Number.isNaN(weight)) value = weight * (1 + 0.02 * random.normal());
    else if (lab.distribution === 'lognormal') value = Math.exp(lab.mean + lab.sd * random.normal());
    else value = lab.mean + lab.sd * random.normal();
    const scale = 10 ** lab.decimals;
    return Math.min(lab.max, Math.max(lab.min, Math.round(value * scale) / scale));
  }

  *observations(): Generator<string> {
    const random = new SeededRandom(streamSeed(this.seed, 3));
    for (let i = 0; i < this.counts.observations; i++) {
      const encounter = random.int(this.counts.encounters);
      const patient = this.encPatient[encounter]!;
      const lab = labCodes[pickWeighted(random, labWeights)]!;
      const value = this.labValue(random, lab, patient);
      const admitted = this.encAdmitted[encounter]!;
      const observed = Math.floor((admitted + (this.encounterEnd(encounter) - admitted) * random.next()) / 1000) * 1000;
      const valueNull = random.chance(NULL_RATE);
      const unitNull = random.chance(NULL_RATE);
      yield `${i + 1}\t${encounter + 1}\t${patientId(patient)}\t${lab.loinc}\t${valueNull ? NULL : value.toFixed(lab.decimals)}\t${unitNull ? NULL : lab.unit}\t${timestamp(observed)}\n`;
    }
  }

  *notes(): Generator<string> {
    const random = new SeededRandom(streamSeed(this.seed, 4));
    for (let i = 0; i < this.counts.notes; i++) {
      const encounter = random.int(this.counts.encounters);
      const patient = this.encPatient[encounter]!;
      const admitted = this.encAdmitted[encounter]!;
      const written = Math.floor((admitted + (this.encounterEnd(encounter) - admitted) * random.next() + 30 * 60_000) / 60_000) * 60_000;
      const author = `${random.pick(clinicianTitles)} ${random.pick(random.chance(0.5) ? femaleFirstNames : maleFirstNames)} ${random.pick(lastNames)}`;
      const authorNull = random.chance(NULL_RATE);
      const body = this.noteBody(random, patient, encounter);
      const bodyNull = random.chance(NULL_RATE);
      yield `${i + 1}\t${encounter + 1}\t${patientId(patient)}\t${timestamp(written)}\t${authorNull ? NULL : text(author)}\t${bodyNull ? NULL : text(body)}\n`;
    }
  }

  /** Free text that names the patient, the MRN and dates, as real notes do: what free-text masking must catch. */
  private noteBody(random: SeededRandom, patient: number, encounter: number): string {
    const first = this.firstName[patient];
    const last = this.lastName[patient];
    const sex = this.sex[patient];
    const honorific = sex === 'F' ? 'Ms.' : sex === 'M' ? 'Mr.' : 'Mx.';
    const name = first && last ? `${first} ${last}` : last ? `${honorific} ${last}` : 'The patient';
    const shortName = last ? `${honorific} ${last}` : name;
    const mrn = this.mrn(patient);
    const birth = this.birth[patient]!;
    const admitted = this.encAdmitted[encounter]!;
    const departmentIndex = this.encDepartment[encounter]!;
    const department = departments[departmentIndex]!;
    const reasonIndex = this.encReason[encounter]!;
    const reason = reasonIndex >= 0 ? department.reasons[reasonIndex]! : 'evaluation';
    const age = Number.isNaN(birth) ? null : Math.floor((admitted - birth) / YEAR);
    const sexWord = sex === 'F' ? 'woman' : sex === 'M' ? 'man' : 'patient';

    let header: string;
    switch (random.int(3)) {
      case 0:
        header = `${department.name} note for ${name} (MRN ${mrn})${Number.isNaN(birth) ? '' : `, DOB ${isoDate(birth)}`}. Seen ${isoDate(admitted)} for ${reason}.`;
        break;
      case 1:
        header = `Pt ${name}, MRN: ${mrn}${Number.isNaN(birth) ? '' : `, born ${usDate(birth)}`}, admitted ${usDate(admitted)} with ${reason}.`;
        break;
      default:
        header = `${name} is a ${age === null ? '' : `${age}-year-old `}${sexWord} presenting on ${isoDate(admitted)} with ${reason}. MRN ${mrn}.`;
    }
    const findings: string[] = [];
    const findingCount = 1 + random.int(3);
    for (let k = 0; k < findingCount; k++) findings.push(random.pick(noteFindings).replaceAll('{name}', shortName));
    const followUp = admitted + (7 + random.int(60)) * DAY;
    let plan = `Plan: ${random.pick(notePlans)}. Follow-up with ${shortName} on ${usDate(followUp)}.`;
    const phone = this.phone[patient];
    if (phone && random.chance(0.3)) plan += ` Call back at ${phone}.`;
    return `${header}\n${findings.join(' ')}\n${plan}`;
  }
}
