/**
 * PostgreSQL's text form of date and timestamp values (DateStyle ISO, the default and what the
 * plv8 wrappers cast with) read into calendar fields and written back. Years are astronomical
 * (1 BC = 0, 2 BC = −1) as PostgreSQL computes them; the text says `0001-… BC` for year 0.
 * JavaScript Date is never used: it would bring the server's time zone in (ARCHITECTURE.md).
 */
export interface CivilDateTime {
  /** astronomical year */
  readonly year: number;
  readonly month: number;
  readonly day: number;
  /** `HH:MM:SS[.ffffff]` for a timestamp, null for a date */
  readonly time: string | null;
}

const PG_DATE = /^(\d{4,7})-(\d\d)-(\d\d)(?: (\d\d:\d\d:\d\d(?:\.\d{1,6})?))?( BC)?$/;

/** null for `infinity` / `-infinity` (callers return those unchanged); throws on anything else not in ISO DateStyle. */
export function parseCivil(text: string): CivilDateTime | null {
  if (text === 'infinity' || text === '-infinity') return null;
  const m = PG_DATE.exec(text);
  if (!m) throw new Error(`not a date or timestamp in ISO DateStyle: ${text.slice(0, 40)}`);
  const y = Number(m[1]);
  return { year: m[5] ? 1 - y : y, month: Number(m[2]), day: Number(m[3]), time: m[4] ?? null };
}

function pad(n: number, width: number): string {
  let s = String(n);
  while (s.length < width) s = '0' + s;
  return s;
}

export function formatCivil(d: CivilDateTime): string {
  const bc = d.year <= 0;
  const text = `${pad(bc ? 1 - d.year : d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}`;
  return (d.time === null ? text : `${text} ${d.time}`) + (bc ? ' BC' : '');
}

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  return month === 2 ? (isLeapYear(year) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

/** −1, 0, 1 comparing the calendar days (time ignored). */
export function compareDays(a: CivilDateTime, b: CivilDateTime): number {
  return Math.sign(a.year - b.year || a.month - b.month || a.day - b.day);
}
