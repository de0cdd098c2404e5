// Keyset predicates over a column list: "(a, b) > (x, y)" spelled out so that every server uses a range scan.
import { quoteIdentifier } from '../db/identifiers';

export interface SqlPart {
  readonly sql: string;
  readonly params: readonly unknown[];
}

export const TRUE_PART: SqlPart = { sql: '1=1', params: [] };

/**
 * Strictly after `values` in `columns` order: `a >= ? AND (a > ? OR (a = ? AND b > ?))`.
 * The leading `a >= ?` is redundant logically but lets MySQL and MariaDB choose a range on the index.
 */
export function keyAfter(columns: readonly string[], values: readonly unknown[]): SqlPart {
  return bound(columns, values, '>', '>=');
}

/** At or before `values`: `a <= ? AND (a < ? OR (a = ? AND b <= ?))`. */
export function keyAtMost(columns: readonly string[], values: readonly unknown[]): SqlPart {
  return bound(columns, values, '<', '<=', true);
}

function bound(columns: readonly string[], values: readonly unknown[], strict: '>' | '<', loose: '>=' | '<=', inclusiveLast = false): SqlPart {
  if (columns.length === 0 || columns.length !== values.length) throw new Error('keyset: columns and values differ in length');
  const q = columns.map(quoteIdentifier);
  const params: unknown[] = [values[0]];
  const build = (i: number): string => {
    const last = i === q.length - 1;
    const op = last && inclusiveLast ? loose : strict;
    if (last) {
      params.push(values[i]);
      return `${q[i]} ${op} ?`;
    }
    params.push(values[i], values[i]);
    return `(${q[i]} ${strict} ? OR (${q[i]} = ? AND ${build(i + 1)}))`;
  };
  const body = build(0);
  return { sql: `${q[0]} ${loose} ? AND ${body}`, params };
}

export function and(...parts: readonly SqlPart[]): SqlPart {
  const kept = parts.filter((p) => p !== TRUE_PART);
  if (kept.length === 0) return TRUE_PART;
  return { sql: kept.map((p) => `(${p.sql})`).join(' AND '), params: kept.flatMap((p) => p.params) };
}
