// A rule's date column: the types accepted, the cutoff as the value bound against the column, a stored value back as a time.
import type { DateFormat } from '../config/schema';
import type { DbSession } from '../db/connection';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import type { SqlPart } from './keyset';

/** How a usable date column holds time; every comparison of it with a cutoff is built from this. */
export type DateEncoding =
  | { readonly column: string; readonly kind: 'datetime' | 'timestamp' | 'date' }
  | { readonly column: string; readonly kind: 'integer'; readonly format: DateFormat };

/** The column as information_schema.COLUMNS describes it. */
export interface DateColumnType {
  readonly dataType: string;
  readonly columnType: string;
}

/** Why a date column cannot be used, and what makes it usable. */
export interface DateColumnProblem {
  readonly problem: string;
  readonly fix: string;
}

const TEMPORAL: Readonly<Record<string, 'datetime' | 'timestamp' | 'date'>> = { datetime: 'datetime', timestamp: 'timestamp', date: 'date' };
const TEXT = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'binary', 'varbinary', 'enum', 'set']);
/** Largest value of each integer type, signed and unsigned. */
const INTEGER_MAX: Readonly<Record<string, readonly [number, number]>> = {
  tinyint: [127, 255],
  smallint: [32_767, 65_535],
  mediumint: [8_388_607, 16_777_215],
  int: [2_147_483_647, 4_294_967_295],
  bigint: [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};
const FORMATS = '"unix-seconds", "unix-millis" or "yyyymmdd"';

/** The cutoff's UTC day, as `YYYY-MM-DD`. */
function utcDay(cutoff: Date): string {
  return cutoff.toISOString().slice(0, 10);
}

/**
 * The value bound against the column for `column < ?`, in the column's own unit, so that the date index serves the range:
 * DATETIME/TIMESTAMP: the cutoff instant (sent in UTC; the session's time_zone is +00:00, see lib/db/connection.ts);
 * DATE and yyyymmdd: the cutoff's UTC day, so a row dated the cutoff day is kept (every row deleted is at least
 * retentionDays old for its whole day); unix-seconds: the smallest second not before the cutoff; unix-millis: the cutoff.
 */
function cutoffBound(enc: DateEncoding, cutoff: Date): Date | string | number {
  if (enc.kind !== 'integer') return enc.kind === 'date' ? utcDay(cutoff) : cutoff;
  if (enc.format === 'unix-seconds') return Math.ceil(cutoff.getTime() / 1000);
  if (enc.format === 'unix-millis') return cutoff.getTime();
  return Number(utcDay(cutoff).replace(/-/g, ''));
}

/** The cutoff in the column's unit where it differs from the UTC instant (shown next to it in results); undefined for DATETIME/TIMESTAMP. */
export function cutoffValue(enc: DateEncoding, cutoff: Date): string | number | undefined {
  const v = cutoffBound(enc, cutoff);
  return v instanceof Date ? undefined : v;
}

/** `column < ?`: rows older than the cutoff. The only place the date column meets the cutoff in SQL. */
export function beforeCutoff(enc: DateEncoding, cutoff: Date): SqlPart {
  return { sql: `${quoteIdentifier(enc.column)} < ?`, params: [cutoffBound(enc, cutoff)] };
}

/** A stored value as the time it stands for (a DATE or yyyymmdd value: its day's start, UTC); null when it is none. */
export function valueToDate(enc: DateEncoding, v: unknown): Date | null {
  if (v === null || v === undefined) return null;
  let d: Date;
  if (enc.kind !== 'integer') d = v instanceof Date ? v : new Date(String(v));
  else {
    const n = Number(v);
    if (!Number.isFinite(n)) return null;
    if (enc.format === 'unix-seconds') d = new Date(n * 1000);
    else if (enc.format === 'unix-millis') d = new Date(n);
    else {
      const [y, m, day] = [Math.floor(n / 10_000), Math.floor(n / 100) % 100, n % 100];
      d = new Date(Date.UTC(y, m - 1, day));
      // 20240231 is no day: Date.UTC would roll it over into March.
      if (d.getUTCFullYear() !== y || d.getUTCMonth() !== m - 1 || d.getUTCDate() !== day) return null;
    }
  }
  return Number.isNaN(d.getTime()) ? null : d;
}

/**
 * How `column` of `schema.table` holds time under the rule's `dateFormat`, or why it cannot serve as the rule's date
 * column. `cutoff` checks that an integer column can hold the format's values at all (milliseconds in an INT cannot).
 */
export function resolveDateColumn(
  schema: string,
  table: string,
  column: string,
  type: DateColumnType,
  format: DateFormat | undefined,
  cutoff: Date,
): DateEncoding | DateColumnProblem {
  const name = `${schema}.${table}.${column}`;
  const dataType = type.dataType.toLowerCase();
  const shown = type.columnType.toUpperCase();
  const temporal = TEMPORAL[dataType];
  if (temporal) {
    if (format) return { problem: `${name} is ${shown}, not an integer: dateFormat "${format}" applies to integer columns only`, fix: 'remove dateFormat from the rule' };
    return { column, kind: temporal };
  }
  const max = INTEGER_MAX[dataType];
  if (max) {
    if (!format) return { problem: `${name} is ${shown}: an integer date column needs dateFormat to say how it stores time`, fix: `set dateFormat to ${FORMATS}` };
    const enc: DateEncoding = { column, kind: 'integer', format };
    const bound = cutoffBound(enc, cutoff) as number;
    const limit = max[/unsigned/i.test(type.columnType) ? 1 : 0]!;
    if (bound > limit) {
      return {
        problem: `${name} is ${shown}: it cannot hold ${format} values (the cutoff is ${bound}, the type's largest value ${limit})`,
        fix: `check dateFormat (${FORMATS})`,
      };
    }
    return enc;
  }
  const q = qualifiedName(schema, table);
  const target = `${column}_dt`.slice(0, 64);
  const convert = (expr: string, note: string) =>
    `convert it and point the rule at the new column: ALTER TABLE ${q} ADD COLUMN ${quoteIdentifier(target)} DATETIME NULL, ALGORITHM=INPLACE, LOCK=NONE; ` +
    `UPDATE ${q} SET ${quoteIdentifier(target)} = ${expr} WHERE ${quoteIdentifier(target)} IS NULL (in batches; ${note}); ` +
    `ALTER TABLE ${q} ADD INDEX ${quoteIdentifier(`ix_${target}`.slice(0, 64))} (${quoteIdentifier(target)}), ALGORITHM=INPLACE, LOCK=NONE; ` +
    `then dateColumn: "${target}" (and have the application write it)`;
  if (TEXT.has(dataType)) {
    return {
      problem: `${name} is ${shown}: text compares with the cutoff as text (a dd/mm/YYYY value sorts by its day of the month), so the rule would delete rows by their spelling, not their age; dateColumn must be DATE, DATETIME or TIMESTAMP, or an integer with dateFormat`,
      fix: convert(`STR_TO_DATE(${quoteIdentifier(column)}, '%d/%m/%Y')`, "'%d/%m/%Y' standing for the format the column holds"),
    };
  }
  return {
    problem: `${name} is ${shown}: dateColumn must be DATE, DATETIME or TIMESTAMP, or an integer with dateFormat (${FORMATS})`,
    fix: convert(`<${quoteIdentifier(column)} as a DATETIME>`, 'e.g. FROM_UNIXTIME() for seconds held as DECIMAL'),
  };
}

export function isProblem(r: DateEncoding | DateColumnProblem): r is DateColumnProblem {
  return 'problem' in r;
}

/** A problem as one refusal sentence: what is wrong, then the fix. */
export function problemText(p: DateColumnProblem): string {
  return `${p.problem}; ${p.fix}`;
}

/**
 * TIMESTAMP values are compared in the session's time zone: dbmaint sessions run at +00:00 (openSession). Undefined when
 * this session does; otherwise the refusal, since the cutoff (sent as UTC) would be off by the zone's offset.
 */
export async function timestampZoneProblem(db: DbSession, schema: string, table: string, column: string): Promise<DateColumnProblem | undefined> {
  const [row] = await db.query<{ tz: string }>('SELECT @@session.time_zone AS tz');
  const tz = String(row?.tz ?? '');
  if (tz === '+00:00' || tz.toUpperCase() === 'UTC') return undefined;
  return {
    problem: `${schema}.${table}.${column} is TIMESTAMP and this session's time_zone is ${tz}: the cutoff would be compared off by the zone's offset`,
    fix: "run on a session with time_zone = '+00:00' (dbmaint's own sessions set it on connect)",
  };
}
