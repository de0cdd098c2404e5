// Dry run of an archive rule: rows it would copy that hold zero dates, which the strict sql_mode of the run refuses to copy.
import type { DbSession } from '../db/connection';
import { quoteIdentifier } from '../db/identifiers';
import type { TableShape } from './inspect';
import type { SqlPart } from './keyset';

const DATE_TYPES = new Set(['date', 'datetime', 'timestamp']);

/**
 * Per copied DATE/DATETIME/TIMESTAMP column, how many of the first `limit` matching rows hold '0000-00-00' or a zero
 * month or day (the run's NO_ZERO_DATE / NO_ZERO_IN_DATE). Only columns with such rows are returned.
 */
export async function zeroDateColumns(db: DbSession, table: string, shape: TableShape, predicate: SqlPart, limit: number): Promise<{ column: string; rows: number }[]> {
  const columns = shape.columns.filter((c) => !c.generated && DATE_TYPES.has(c.dataType.toLowerCase())).map((c) => c.name);
  if (columns.length === 0 || limit <= 0) return [];
  const inner = columns.map((c, i) => `${quoteIdentifier(c)} AS c${i}`).join(', ');
  const outer = columns.map((_, i) => `COALESCE(SUM(MONTH(c${i}) = 0 OR DAYOFMONTH(c${i}) = 0), 0) AS z${i}`).join(', ');
  const [row] = await db.query<Record<string, unknown>>(`SELECT ${outer} FROM (SELECT ${inner} FROM ${table} WHERE ${predicate.sql} LIMIT ?) x`, [...predicate.params, limit]);
  return columns.map((column, i) => ({ column, rows: Number(row?.[`z${i}`] ?? 0) })).filter((z) => z.rows > 0);
}
