// A rule's row predicate: the fixed cutoff on the date column plus structured extra criteria, values always bound.
import type { WhereClause } from '../config/schema';
import { quoteIdentifier } from '../db/identifiers';
import { beforeCutoff, type DateEncoding } from './date-format';
import { and, type SqlPart } from './keyset';

export function clauseSql(w: WhereClause): SqlPart {
  const col = quoteIdentifier(w.column);
  switch (w.op) {
    case 'IS NULL':
    case 'IS NOT NULL':
      return { sql: `${col} ${w.op}`, params: [] };
    case 'IN':
    case 'NOT IN': {
      const values = w.value as readonly unknown[];
      return { sql: `${col} ${w.op} (${values.map(() => '?').join(', ')})`, params: values };
    }
    default:
      return { sql: `${col} ${w.op} ?`, params: [w.value] };
  }
}

/** `date < cutoff AND extra…` — the cutoff is a bound parameter computed once per run (in the column's unit), never NOW(). */
export function rulePredicate(date: DateEncoding, cutoff: Date, where: readonly WhereClause[]): SqlPart {
  return and(beforeCutoff(date, cutoff), ...where.map(clauseSql));
}
