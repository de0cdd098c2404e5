// collect-statistics on partitioned tables: rows and bytes per partition from information_schema.PARTITIONS, summed up per table.
import type { DbSession } from '../db/connection';
import type { TableSize } from './sizes';

export interface PartitionFigures {
  readonly name: string;
  /** PARTITION_DESCRIPTION: the RANGE bound (`VALUES LESS THAN`), a LIST's values, null for HASH/KEY. */
  readonly bound: string | null;
  readonly rowsEstimate: number;
  readonly bytes: number;
}

export interface PartitionedTable {
  readonly table: string;
  readonly method: string;
  readonly partitions: number;
  readonly rowsEstimate: number;
  readonly bytes: number;
  readonly largest: PartitionFigures;
  readonly oldest: PartitionFigures;
  readonly newest: PartitionFigures;
}

/** At most this many partitioned tables are read (the largest): one information_schema lookup each. */
const MAX_TABLES = 50;

/**
 * One lookup per partitioned table, by schema and name: the server then reads only that table's partitions (a scan of
 * PARTITIONS over thousands of tables would open every one of them).
 */
export async function readPartitionedTables(db: DbSession, tables: readonly TableSize[]): Promise<PartitionedTable[]> {
  const partitioned = tables.filter((t) => t.partitioned).sort((a, b) => b.totalBytes - a.totalBytes).slice(0, MAX_TABLES);
  const out: PartitionedTable[] = [];
  for (const t of partitioned) {
    const rows = await db.query<{ name: string; sub: string | null; method: string; bound: string | null; rowsEstimate: number | null; bytes: number | null }>(
      `SELECT PARTITION_NAME AS name, SUBPARTITION_NAME AS sub, PARTITION_METHOD AS method, PARTITION_DESCRIPTION AS bound, TABLE_ROWS AS rowsEstimate,
              DATA_LENGTH + INDEX_LENGTH AS bytes
         FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND PARTITION_NAME IS NOT NULL
        ORDER BY PARTITION_ORDINAL_POSITION, SUBPARTITION_ORDINAL_POSITION`,
      [t.schema, t.table],
    );
    const byName = new Map<string, PartitionFigures>();
    for (const r of rows) {
      const seen = byName.get(r.name);
      byName.set(r.name, { name: r.name, bound: r.bound, rowsEstimate: Number(r.rowsEstimate ?? 0) + (seen?.rowsEstimate ?? 0), bytes: Number(r.bytes ?? 0) + (seen?.bytes ?? 0) });
    }
    const parts = [...byName.values()];
    if (parts.length === 0) continue;
    out.push({
      table: `${t.schema}.${t.table}`,
      method: rows[0]!.method,
      partitions: parts.length,
      rowsEstimate: parts.reduce((n, p) => n + p.rowsEstimate, 0),
      bytes: parts.reduce((n, p) => n + p.bytes, 0),
      largest: parts.reduce((a, b) => (b.bytes > a.bytes ? b : a)),
      oldest: parts[0]!,
      newest: parts.at(-1)!,
    });
  }
  return out;
}
