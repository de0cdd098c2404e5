// How a RANGE-partitioned table's bounds read as dates: TO_DAYS(), TO_SECONDS(), UNIX_TIMESTAMP() of the date column, or RANGE COLUMNS on it; and what a partition is.

export interface TablePartition {
  readonly name: string;
  readonly method: string;
  /** PARTITION_EXPRESSION as the server prints it: to_days(`created_at`), `created_at` (RANGE COLUMNS). */
  readonly expression: string | null;
  readonly description: string | null;
  readonly rowsEstimate: number;
  readonly subpartitioned: boolean;
}

const DAY_MS = 86_400_000;
/** TO_DAYS('1970-01-01'). */
const TO_DAYS_EPOCH = 719_528;

/** How partition bounds are written for this table: TO_DAYS(), TO_SECONDS(), UNIX_TIMESTAMP() of the column, or RANGE COLUMNS on it. */
interface BoundCodec {
  /** The bound of a partition ending at `d` (UTC midnight), as SQL text. */
  toSql(d: Date): string;
  /** The date a PARTITION_DESCRIPTION stands for; undefined when it cannot be read. */
  fromDescription(description: string): Date | undefined;
}

export const dayOf = (d: Date) => d.toISOString().slice(0, 10);

export function codecOf(p: TablePartition, column: string): BoundCodec | string {
  const expr = (p.expression ?? '').replace(/\s+/g, '').toLowerCase();
  const col = `\`${column.toLowerCase()}\``;
  const numeric = (encode: (d: Date) => number, decode: (n: number) => Date): BoundCodec => ({
    toSql: (d) => String(encode(d)),
    fromDescription: (text) => (/^-?\d+$/.test(text) ? decode(Number(text)) : undefined),
  });
  if (p.method === 'RANGE COLUMNS' && expr === col) {
    return {
      toSql: (d) => `'${dayOf(d)}'`,
      fromDescription: (text) => {
        const m = /^'(\d{4}-\d{2}-\d{2})(?: 00:00:00)?'$/.exec(text);
        return m ? new Date(`${m[1]}T00:00:00Z`) : undefined;
      },
    };
  }
  if (p.method !== 'RANGE') return `${p.method} partitioning: future partitions are created for RANGE and RANGE COLUMNS only`;
  if (expr === `to_days(${col})`) return numeric((d) => Math.floor(d.getTime() / DAY_MS) + TO_DAYS_EPOCH, (n) => new Date((n - TO_DAYS_EPOCH) * DAY_MS));
  if (expr === `to_seconds(${col})`) return numeric((d) => (Math.floor(d.getTime() / DAY_MS) + TO_DAYS_EPOCH) * 86_400, (n) => new Date((n / 86_400 - TO_DAYS_EPOCH) * DAY_MS));
  if (expr === `unix_timestamp(${col})`) return numeric((d) => Math.floor(d.getTime() / 1000), (n) => new Date(n * 1000));
  return `partitioned by ${p.expression}: future partitions are created for TO_DAYS(), TO_SECONDS() or UNIX_TIMESTAMP() of ${column}, or RANGE COLUMNS(${column})`;
}

/** Where a RANGE partition ends (its `VALUES LESS THAN`), as a date, where the expression is one the runway reads. */
export function partitionEnd(first: TablePartition, p: TablePartition, column: string): Date | undefined {
  const codec = codecOf(first, column);
  return typeof codec === 'string' || p.description === null || p.description === 'MAXVALUE' ? undefined : codec.fromDescription(p.description);
}

export type Interval = 'day' | 'week' | 'month';

/** The bound one interval after `d` (UTC): the next day, seven days on, the first of the next month. */
export function nextBound(d: Date, interval: Interval): Date {
  if (interval === 'day') return new Date(d.getTime() + DAY_MS);
  if (interval === 'week') return new Date(d.getTime() + 7 * DAY_MS);
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
}
