// The walk's SQL over the table: where a chunk ends and the WHERE of its rows, with bound values that round-trip exactly.
import type { DbSession } from '../db/connection';
import { quoteIdentifier } from '../db/identifiers';
import { and, keyAfter, keyAtMost, TRUE_PART, type SqlPart } from './keyset';
import type { IndexInfo, TableShape } from './inspect';
import type { RetentionRule, WalkKind } from './rule-result';

/** How the walk cuts chunks: the index it follows and, on a primary-key walk, the key bounds of the matching rows. */
export interface WalkChoice {
  readonly kind: WalkKind;
  readonly reason: string;
  readonly index: IndexInfo;
  /** Bounds of the first key column among matching rows (primary-key walk). */
  readonly low?: unknown;
  readonly high?: unknown;
}

/**
 * A column as a bound value that round-trips exactly: temporal and floating-point values are read
 * as text, since a JS Date keeps milliseconds only (a DATETIME(6) bound would be truncated and the
 * walk would stall or skip rows) and doubles may not print back identically.
 */
export function exactValue(shape: TableShape, column: string, aggregate?: 'MIN' | 'MAX'): string {
  const q = aggregate ? `${aggregate}(${quoteIdentifier(column)})` : quoteIdentifier(column);
  return /^(datetime|timestamp|time|date|float|double|real)$/.test(dataTypeOf(shape, column)) ? `CAST(${q} AS CHAR)` : q;
}

export function dataTypeOf(shape: TableShape, column: string): string {
  return shape.columns.find((c) => c.name === column)?.dataType.toLowerCase() ?? '';
}

/** Rows of a chunk: scanned from the walked index, bounded by the previous and the next key. */
export interface ChunkBounds {
  readonly after?: readonly unknown[];
  readonly upTo?: readonly unknown[];
}

/** The walk's one range DELETE: every row of `where`, read through `source` (the table with its index hint). */
export function rangeDelete(table: string, source: string, where: SqlPart): SqlPart {
  return { sql: `DELETE ${table} FROM ${source} WHERE ${where.sql}`, params: where.params };
}

/**
 * A range DELETE that ends at its `size`-th row in key order (bounded-delete.ts says when and why). The single-table
 * form takes no index hint. The LIMIT is written out, not bound, so that the run log shows the statement that ran.
 */
export function deleteFirstRows(table: string, keyOrder: string, where: SqlPart, size: number): SqlPart {
  if (!Number.isSafeInteger(size) || size < 1) throw new Error(`chunk size must be a positive integer, not ${size}`);
  return { sql: `DELETE FROM ${table} WHERE ${where.sql} ORDER BY ${keyOrder} LIMIT ${size}`, params: where.params };
}

export class Walker {
  readonly kind: WalkKind;
  readonly columns: readonly string[];
  /**
   * The table with the walked index forced, for every chunk statement. Left to itself the optimizer switches to a full
   * table scan once a chunk's range is a large share of the table's (shrinking) row estimate: the chunk then reads and
   * locks every row of the table, waiting for application rows far outside its range. MySQL and MariaDB accept index
   * hints in DELETE only in the multi-table form.
   */
  readonly source: string;
  /** The key's columns in order, for ORDER BY. */
  readonly keyOrder: string;
  private readonly range: SqlPart;

  constructor(
    private readonly db: DbSession,
    table: string,
    choice: WalkChoice,
    private readonly shape: TableShape,
    keyColumns: readonly string[],
    rule: RetentionRule,
    private readonly predicate: SqlPart,
    beforeCutoff: SqlPart,
  ) {
    // Walk order: the key, or (date, key) on the date index. Only NOT NULL columns take part, so
    // every comparison in the keyset is true or false (a NULL in a bound would skip rows).
    this.columns =
      choice.kind === 'primary-key' ? [...keyColumns] : [rule.dateColumn, ...keyColumns.filter((c) => c !== rule.dateColumn)];
    this.kind = choice.kind;
    this.source = `${table} FORCE INDEX (${quoteIdentifier(choice.index.name)})`;
    this.keyOrder = keyColumns.map(quoteIdentifier).join(', ');
    const k1 = quoteIdentifier(keyColumns[0]!);
    this.range =
      choice.kind === 'primary-key' && choice.low !== undefined
        ? { sql: `${k1} >= ? AND ${k1} <= ?`, params: [choice.low, choice.high] }
        : choice.kind === 'date-index' || keyColumns[0] === rule.dateColumn
          ? beforeCutoff // a date-led key: key ranges below the cutoff are exactly the rows to visit
          : TRUE_PART;
  }

  /** The key `size` rows further along the walked index, or undefined when fewer remain. */
  async nextBoundary(after: readonly unknown[] | undefined, size: number, on: DbSession = this.db): Promise<unknown[] | undefined> {
    const where = and(this.range, after ? keyAfter(this.columns, after) : TRUE_PART);
    const cols = this.columns.map(quoteIdentifier).join(', ');
    const values = this.columns.map((c, i) => `${exactValue(this.shape, c)} AS v${i}`).join(', ');
    const rows = await on.query<Record<string, unknown>>(
      `SELECT ${values} FROM ${this.source}
        WHERE ${where.sql} ORDER BY ${cols} LIMIT 1 OFFSET ?`,
      [...where.params, size - 1],
    );
    return rows[0] ? this.columns.map((_, i) => rows[0]![`v${i}`]) : undefined;
  }

  /** The WHERE of one chunk: the rule's predicate within the chunk's key bounds. */
  chunkWhere(b: ChunkBounds): SqlPart {
    return and(this.range, b.after ? keyAfter(this.columns, b.after) : TRUE_PART, b.upTo ? keyAtMost(this.columns, b.upTo) : TRUE_PART, this.predicate);
  }
}
