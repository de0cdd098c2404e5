// EventBridge Scheduler's cron dialect (six Quartz-style fields): parsed and checked field by field, then matched against wall-clock times.
import { cronExpression, type CronSpec } from '../catalogue';

const CRON_FIELDS = ['minute', 'hour', 'day', 'month', 'weekDay', 'year'] as const;
export type CronField = (typeof CRON_FIELDS)[number];

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;
const WEEKDAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

interface FieldRule {
  readonly min: number;
  readonly max: number;
  /** Names for min, min+1, … (JAN=1, SUN=1). */
  readonly names?: readonly string[];
  /** `?` (no specific value): the two day fields only. */
  readonly question: boolean;
  /** `/` increments: every field but day-of-week, as Scheduler's reference lists them. */
  readonly step: boolean;
}

const RULES: Record<CronField, FieldRule> = {
  minute: { min: 0, max: 59, question: false, step: true },
  hour: { min: 0, max: 23, question: false, step: true },
  day: { min: 1, max: 31, question: true, step: true },
  month: { min: 1, max: 12, names: MONTHS, question: false, step: true },
  weekDay: { min: 1, max: 7, names: WEEKDAYS, question: true, step: false },
  year: { min: 1970, max: 2199, question: false, step: true },
};

/** Day of month: a set of days, or one of Scheduler's relative forms. */
export type DayMatcher =
  | { readonly kind: 'any' }
  | { readonly kind: 'days'; readonly days: ReadonlySet<number> }
  | { readonly kind: 'last' } // L
  | { readonly kind: 'last-weekday' } // LW
  | { readonly kind: 'nearest-weekday'; readonly day: number }; // 15W

/** Day of week (1 = SUN … 7 = SAT). */
export type WeekDayMatcher =
  | { readonly kind: 'any' }
  | { readonly kind: 'days'; readonly days: ReadonlySet<number> }
  | { readonly kind: 'last-of-month'; readonly weekDay: number } // 6L: the last Friday
  | { readonly kind: 'nth'; readonly weekDay: number; readonly nth: number }; // 3#2: the second Tuesday

export interface ParsedCron {
  /** `cron(m h dom mon dow year)` as Scheduler receives it. */
  readonly expression: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly day: DayMatcher;
  readonly months: ReadonlySet<number>;
  readonly weekDay: WeekDayMatcher;
  readonly years: ReadonlySet<number> | 'any';
}

export interface CronIssue {
  /** The spec field at fault; undefined when the fields conflict with each other. */
  readonly field: CronField | undefined;
  readonly message: string;
}

class CronError extends Error {
  override readonly name = 'CronError';
  constructor(readonly issues: readonly CronIssue[]) {
    super(issues.map((i) => (i.field ? `${i.field}: ${i.message}` : i.message)).join('; '));
  }
}

class FieldError extends Error {}

function range(rule: FieldRule): string {
  const names = rule.names ? ` or ${rule.names[0]}-${rule.names[rule.names.length - 1]}` : '';
  return `${rule.min}-${rule.max}${names}`;
}

function value(field: CronField, token: string): number {
  const rule = RULES[field];
  if (/^\d{1,4}$/.test(token)) {
    const n = Number(token);
    if (n < rule.min || n > rule.max) throw new FieldError(`${token} is outside ${range(rule)}`);
    return n;
  }
  if (rule.names) {
    const i = rule.names.indexOf(token);
    if (i >= 0) return rule.min + i;
    // Scheduler documents the names in capitals; what it does with others is not documented, so they are refused.
    if (rule.names.includes(token.toUpperCase())) throw new FieldError(`'${token}' must be written in capitals (${token.toUpperCase()})`);
  }
  throw new FieldError(`'${token}' is not ${rule.names ? 'a number or a name' : 'a number'} in ${range(rule)}`);
}

function addStepped(out: Set<number>, from: number, to: number, step: number): void {
  for (let v = from; v <= to; v += step) out.add(v);
}

/** One list item: `5`, `MON`, `1-5`, `*`, `0/15`, `*` + `/5`, `10-40/10`. */
function item(field: CronField, token: string, out: Set<number>): void {
  const rule = RULES[field];
  const [base, stepText, extra] = token.split('/');
  if (extra !== undefined || base === '' || stepText === '') throw new FieldError(`'${token}' is not a value, a range or a step (e.g. 0/15)`);
  let step = 1;
  if (stepText !== undefined) {
    if (!rule.step) throw new FieldError(`'${token}': / (increments) is not accepted in ${field}; list the days instead (e.g. MON,WED,FRI)`);
    // Quartz, whose dialect Scheduler follows, refuses steps beyond the field's span (`*` + `/60` in minutes fails to deploy).
    const span = rule.max - rule.min;
    if (!/^\d{1,3}$/.test(stepText) || Number(stepText) < 1 || Number(stepText) > span) {
      throw new FieldError(`'${token}': the step must be a whole number from 1 to ${span}`);
    }
    step = Number(stepText);
  }
  if (base === '*') {
    addStepped(out, rule.min, rule.max, step);
    return;
  }
  const [a, b, more] = base!.split('-');
  if (more !== undefined || a === '' || b === '') throw new FieldError(`'${token}' is not a value, a range or a step (e.g. 0/15)`);
  const from = value(field, a!);
  if (b === undefined) {
    addStepped(out, from, stepText === undefined ? from : rule.max, step);
    return;
  }
  const to = value(field, b);
  if (to < from) {
    // Whether Scheduler wraps a backwards range around is not documented: refused, with the two ranges that say it.
    const named = rule.names !== undefined && !/^\d/.test(a!);
    const [top, bottom] = named ? [rule.names![rule.max - rule.min], rule.names![0]] : [rule.max, rule.min];
    throw new FieldError(`range '${base}' runs backwards; write it as ${a}-${top},${bottom}-${b}`);
  }
  addStepped(out, from, to, step);
}

function values(field: CronField, text: string): Set<number> {
  const out = new Set<number>();
  for (const token of text.split(',')) {
    if (token === '*' && text !== '*') throw new FieldError(`'*' cannot be part of a list`);
    item(field, token, out);
  }
  return out;
}

function parseDay(text: string): DayMatcher {
  if (text === '?' || text === '*') return { kind: 'any' };
  if (/[LW]/.test(text)) {
    if (text.includes(',')) throw new FieldError(`'${text}': L and W cannot be combined with other days in a list`);
    if (text === 'L') return { kind: 'last' };
    if (text === 'LW') return { kind: 'last-weekday' };
    const w = /^(\d{1,2})W$/.exec(text);
    if (w) return { kind: 'nearest-weekday', day: value('day', w[1]!) };
    throw new FieldError(`'${text}' is not L (last day), LW (last weekday) or a day followed by W (e.g. 15W, the weekday nearest the 15th)`);
  }
  return { kind: 'days', days: values('day', text) };
}

function parseWeekDay(text: string): WeekDayMatcher {
  if (text === '?' || text === '*') return { kind: 'any' };
  if (text.includes('#')) {
    const m = /^(\d)#(\d)$/.exec(text);
    if (!m) {
      const why = text.includes(',') ? 'only one day#n may stand in the field' : 'write it as a day number and an occurrence, e.g. 3#2 for the second Tuesday';
      throw new FieldError(`'${text}': ${why}`);
    }
    const nth = Number(m[2]);
    if (nth < 1 || nth > 5) throw new FieldError(`'${text}': the occurrence after # must be 1-5`);
    return { kind: 'nth', weekDay: value('weekDay', m[1]!), nth };
  }
  if (text.includes('L')) {
    if (text === 'L') return { kind: 'days', days: new Set([7]) }; // L alone: the last day of the week, Saturday
    const m = /^(\d)L$/.exec(text);
    if (!m) throw new FieldError(`'${text}': L follows one day number, e.g. 6L for the last Friday of the month, and stands alone`);
    return { kind: 'last-of-month', weekDay: value('weekDay', m[1]!) };
  }
  return { kind: 'days', days: values('weekDay', text) };
}

const isQuestion = (text: string) => text === '?';

/** Parses Scheduler cron text, `cron(0 4 ? * SUN *)`; every problem is named by its field. */
export function parseCronExpression(expression: string): ParsedCron {
  const m = /^cron\((.*)\)$/.exec(expression);
  const parts = m ? m[1]!.trim().split(/\s+/) : [];
  if (parts.length !== 6) throw new CronError([{ field: undefined, message: `'${expression}' is not cron(minutes hours day-of-month month day-of-week year)` }]);
  const fields = Object.fromEntries(CRON_FIELDS.map((f, i) => [f, parts[i]!])) as Record<CronField, string>;
  const issues: CronIssue[] = [];
  const attempt = <T>(field: CronField, parse: (text: string) => T): T | undefined => {
    const text = fields[field];
    try {
      if (isQuestion(text) && !RULES[field].question) throw new FieldError(`? (no specific value) is accepted only in day and weekDay`);
      return parse(text);
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      issues.push({ field, message: err.message });
      return undefined;
    }
  };
  const minutes = attempt('minute', (t) => values('minute', t));
  const hours = attempt('hour', (t) => values('hour', t));
  const day = attempt('day', parseDay);
  const months = attempt('month', (t) => values('month', t));
  const weekDay = attempt('weekDay', parseWeekDay);
  const years = attempt('year', (t) => (t === '*' ? ('any' as const) : values('year', t)));
  // Scheduler takes one of the two day fields; the other must be `?` (both `?` is refused as well).
  const dq = isQuestion(fields.day);
  const wq = isQuestion(fields.weekDay);
  if (dq === wq) {
    issues.push({
      field: undefined,
      message: dq
        ? 'day and weekDay are both ?: set one of them'
        : `day '${fields.day}' and weekDay '${fields.weekDay}' are both set: Scheduler takes one of them and needs ? in the other`,
    });
  }
  if (issues.length > 0 || !minutes || !hours || !day || !months || !weekDay || !years) throw new CronError(issues);
  return { expression, minutes, hours, day, months, weekDay, years };
}

/** The catalogue's or a target's spec, as the Scheduler expression the stack writes for it. */
export function parseCronSpec(spec: CronSpec): ParsedCron {
  const blank = (['minute', 'hour', 'day', 'month', 'weekDay'] as const).filter((f) => spec[f] !== undefined && !/^\S+$/.test(spec[f]!));
  if (blank.length > 0) throw new CronError(blank.map((field) => ({ field, message: 'must be one cron field without spaces' })));
  return parseCronExpression(cronExpression(spec));
}

/** Problems of a spec, each with its field: empty when Scheduler would accept it. */
export function cronSpecIssues(spec: CronSpec): CronIssue[] {
  try {
    parseCronSpec(spec);
    return [];
  } catch (err) {
    if (err instanceof CronError) return [...err.issues];
    throw err;
  }
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** 1 = SUN … 7 = SAT, as the weekDay field counts. */
function weekDayOf(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 1;
}

function isWorkday(year: number, month: number, day: number): boolean {
  const wd = weekDayOf(year, month, day);
  return wd >= 2 && wd <= 6;
}

// Quartz's W: the nearest Monday-Friday within the same month (the 1st on a Saturday moves to Monday the 3rd).
function nearestWorkday(year: number, month: number, day: number): number | undefined {
  const last = daysInMonth(year, month);
  if (day > last) return undefined;
  const wd = weekDayOf(year, month, day);
  if (wd === 7) return day === 1 ? 3 : day - 1;
  if (wd === 1) return day === last ? day - 2 : day + 1;
  return day;
}

/** Whether the schedule fires on this local date (month 1-12). */
function firesOnDate(cron: ParsedCron, year: number, month: number, day: number): boolean {
  if (cron.years !== 'any' && !cron.years.has(year)) return false;
  if (!cron.months.has(month)) return false;
  const last = daysInMonth(year, month);
  if (day > last) return false;
  const d = cron.day;
  switch (d.kind) {
    case 'days':
      if (!d.days.has(day)) return false;
      break;
    case 'last':
      if (day !== last) return false;
      break;
    case 'last-weekday': {
      let lw = last;
      while (!isWorkday(year, month, lw)) lw--;
      if (day !== lw) return false;
      break;
    }
    case 'nearest-weekday':
      if (nearestWorkday(year, month, d.day) !== day) return false;
      break;
    case 'any':
      break;
  }
  const w = cron.weekDay;
  const wd = weekDayOf(year, month, day);
  switch (w.kind) {
    case 'days':
      return w.days.has(wd);
    case 'last-of-month':
      return wd === w.weekDay && day + 7 > last;
    case 'nth':
      return wd === w.weekDay && Math.ceil(day / 7) === w.nth;
    case 'any':
      return true;
  }
}

/** A local wall-clock time; `wall` is the same fields as a UTC epoch (no zone). */
export interface LocalTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
}

export function wallOf(t: LocalTime): number {
  return Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute);
}

export function localTimeOf(wall: number): LocalTime {
  const d = new Date(wall);
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: d.getUTCHours(), minute: d.getUTCMinutes() };
}

export function formatLocal(t: LocalTime): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${t.year}-${p(t.month)}-${p(t.day)} ${p(t.hour)}:${p(t.minute)}`;
}

export function firesAt(cron: ParsedCron, t: LocalTime): boolean {
  return cron.minutes.has(t.minute) && cron.hours.has(t.hour) && firesOnDate(cron, t.year, t.month, t.day);
}

/** The local fire times of a year, in order (the zone decides which of them exist: see dst.ts). */
export function* localFireTimes(cron: ParsedCron, year: number): Generator<LocalTime> {
  const hours = [...cron.hours].sort((a, b) => a - b);
  const minutes = [...cron.minutes].sort((a, b) => a - b);
  for (let month = 1; month <= 12; month++) {
    for (let day = 1; day <= daysInMonth(year, month); day++) {
      if (!firesOnDate(cron, year, month, day)) continue;
      for (const hour of hours) for (const minute of minutes) yield { year, month, day, hour, minute };
    }
  }
}

/** The first local date on or after `from` on which the schedule fires, searching `years` years; undefined: never. */
export function nextFireDate(cron: ParsedCron, from: LocalTime, years: number): LocalTime | undefined {
  const start = Date.UTC(from.year, from.month - 1, from.day);
  const end = Date.UTC(from.year + years, from.month - 1, from.day);
  for (let wall = start; wall < end; wall += 86_400_000) {
    const t = localTimeOf(wall);
    if (firesOnDate(cron, t.year, t.month, t.day)) return t;
  }
  return undefined;
}
