// A key-range chunk's DELETE that ends at the chunk's last row, for two walkers deleting neighbouring ranges at once.
import type { DbSession } from '../db/connection';
import type { SqlPart } from './keyset';
import { deleteFirstRows, rangeDelete } from './walk-sql';

/**
 * One chunk of a two-walker key-range walk, deleted with `ORDER BY key LIMIT size`: the range holds `size` keys
 * (its bound is the `size`-th key), so when every one of them matches, the statement stops at the last without
 * reading the row after it. A plain range DELETE reads and locks that row, the first of the next chunk, which the
 * other walker is deleting: it then waits for that chunk's commit and walks on through its delete-marked rows to
 * the chunk after (one such chunk waited 1 s in bench:purge on `events`). Fewer rows deleted than the LIMIT: the
 * statement has already read its whole range. Exactly `size`: rows may have come into the range since its bound
 * was read, so a plain read (no locks) looks for any left, and the range DELETE takes them.
 * The single-table DELETE takes no index hint; with the key's order and a LIMIT the optimizer walks the key range
 * (EXPLAIN: range on PRIMARY for a range of 40% of `events`).
 */
export async function deleteUpToBound(db: DbSession, table: string, source: string, keyOrder: string, where: SqlPart, size: number): Promise<number> {
  const first = deleteFirstRows(table, keyOrder, where, size);
  const n = (await db.exec(first.sql, first.params)).affectedRows;
  if (n < size) return n;
  const left = await db.query<{ one: number }>(`SELECT 1 AS one FROM ${source} WHERE ${where.sql} LIMIT 1`, where.params);
  if (left.length === 0) return n;
  const rest = rangeDelete(table, source, where);
  return n + (await db.exec(rest.sql, rest.params)).affectedRows;
}
