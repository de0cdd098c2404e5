// The walk's SQL over the table: where a chunk ends and the WHERE of its rows, with bound values that round-trip exactly.
import type { DbSession } from '../db/connection';
import { quoteIdentifier } from '../db/identifiers';
import type { TableShape } from './inspect';
import { and, keyAfter, keyAtMost, TRUE_PART, type SqlPart } from './keyset';
import type { WalkChoice } from './plan';
import type { RetentionRule } from './rule-result';

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

export class Walker {
  readonly columns: readonly string[];
  private readonly range: SqlPart;

  constructor(
    private readonly db: DbSession,
    private readonly table: string,
    private readonly choice: WalkChoice,
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
      `SELECT ${values} FROM ${this.table} FORCE INDEX (${quoteIdentifier(this.choice.index.name)})
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
