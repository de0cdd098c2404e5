// Every index of the target's schemas, read once from information_schema.STATISTICS (the same on MySQL 8 and MariaDB).
import type { DbSession } from '../db/connection';
import { tableKey } from './types';

export interface IndexColumn {
  /** null for a functional key part (MySQL 8): such an index is left out of the comparisons. */
  readonly name: string | null;
  readonly subPart: number | null;
  /** 'A' ascending, 'D' descending, null not sorted (HASH). */
  readonly collation: string | null;
  readonly nullable: boolean;
}

export interface IndexDef {
  readonly name: string;
  readonly unique: boolean;
  readonly primary: boolean;
  /** BTREE, HASH, FULLTEXT, SPATIAL, RTREE. */
  readonly type: string;
  readonly columns: readonly IndexColumn[];
  /** Invisible (MySQL 8) or IGNORED (MariaDB 10.6+): the optimizer does not use it. */
  readonly usable: boolean;
}

export interface TableIndexes {
  readonly schema: string;
  readonly table: string;
  /** In name order (the query's), which is also the tie-breaker between otherwise equal indexes. */
  readonly indexes: readonly IndexDef[];
}

export async function readIndexes(db: DbSession, schemas: readonly string[]): Promise<Map<string, TableIndexes>> {
  const out = new Map<string, TableIndexes>();
  if (schemas.length === 0) return out;
  // SELECT *: IS_VISIBLE and EXPRESSION exist on MySQL 8 only, IGNORED on MariaDB 10.6+ only.
  const rows = await db.query<Record<string, unknown>>(
    `SELECT * FROM information_schema.STATISTICS WHERE TABLE_SCHEMA IN (?) ORDER BY TABLE_SCHEMA, TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
    [schemas],
  );
  const building = new Map<string, { schema: string; table: string; indexes: Map<string, IndexDef & { columns: IndexColumn[] }> }>();
  for (const r of rows) {
    const schema = String(r['TABLE_SCHEMA']);
    const table = String(r['TABLE_NAME']);
    const k = tableKey(schema, table);
    const t = building.get(k) ?? { schema, table, indexes: new Map() };
    building.set(k, t);
    const name = String(r['INDEX_NAME']);
    let idx = t.indexes.get(name);
    if (!idx) {
      idx = {
        name,
        unique: Number(r['NON_UNIQUE']) === 0,
        primary: name === 'PRIMARY',
        type: String(r['INDEX_TYPE'] ?? 'BTREE').toUpperCase(),
        columns: [],
        usable: String(r['IS_VISIBLE'] ?? 'YES').toUpperCase() !== 'NO' && String(r['IGNORED'] ?? 'NO').toUpperCase() !== 'YES',
      };
      t.indexes.set(name, idx);
    }
    idx.columns.push({
      name: r['COLUMN_NAME'] == null ? null : String(r['COLUMN_NAME']),
      subPart: r['SUB_PART'] == null ? null : Number(r['SUB_PART']),
      collation: r['COLLATION'] == null ? null : String(r['COLLATION']),
      nullable: String(r['NULLABLE'] ?? '').toUpperCase() === 'YES',
    });
  }
  for (const [k, t] of building) out.set(k, { schema: t.schema, table: t.table, indexes: [...t.indexes.values()] });
  return out;
}

/** `a, b(10), c DESC` — how an index's columns read in a message. */
export function columnList(columns: readonly IndexColumn[]): string {
  return columns.map((c) => `${c.name ?? '(expression)'}${c.subPart !== null ? `(${c.subPart})` : ''}${c.collation === 'D' ? ' DESC' : ''}`).join(', ');
}

/**
 * A usable index whose first column is `column`, as the retention engine requires of a date index
 * (exact name match, no prefix): the primary key first, then the shortest.
 */
export function indexLeadingWith(t: TableIndexes | undefined, column: string): IndexDef | undefined {
  return (t?.indexes ?? [])
    .filter((i) => i.usable && i.columns[0]?.name === column && i.columns.every((c) => c.subPart === null))
    .sort((a, b) => Number(b.primary) - Number(a.primary) || a.columns.length - b.columns.length)[0];
}
