// Bytes per row of a purge, and the chunk sizes they allow: no chunk moves more than purge.maxChunkBytes.
import type { SqlPart } from './keyset';
import type { DbSession } from '../db/connection';
import { quoteIdentifier } from '../db/identifiers';
import { formatBytes } from '../reporting/text-table';
import { rowsWithinBytes } from './chunk-size';
import type { IndexInfo, TableShape } from './inspect';

/** Rows read to measure the rows the walk starts with: about one chunk of 1 MB rows, and pages the first chunk reads anyway. */
const SAMPLE_ROWS = 10;

export interface RowBytesEstimate {
  /** The estimate used: the larger of the two below (either may be stale or unrepresentative); null when neither is known. */
  readonly rowBytes: number | null;
  /** Average stored length of the first rows the walk visits (SUM of LENGTH of every column). */
  readonly sampledBytes: number | null;
  readonly sampledRows: number;
  /** information_schema.TABLES: DATA_LENGTH / TABLE_ROWS. */
  readonly statisticsBytes: number | null;
}

export interface ChunkSizing {
  readonly firstChunkRows: number;
  /** The cap on every chunk: purge.maxChunkRows, lowered to what purge.maxChunkBytes allows at `rowBytes`. */
  readonly maxChunkRows: number;
  readonly rowBytes: number | null;
  /** Why, in one sentence, for the dry run and the log. */
  readonly reason: string;
}

/**
 * Measure the rows the walk begins with: the oldest ones by the date index (or the first by key, without one).
 * Table statistics alone are not enough: right after a bulk insert they can be 16 times low (InnoDB recalculates
 * them after 10% of the rows changed), and the rows a purge removes are often not the table's average.
 */
export async function estimateRowBytes(
  db: DbSession,
  table: string,
  shape: TableShape,
  key: IndexInfo,
  dateColumn: string,
  dateIndex: IndexInfo | undefined,
  /** `date < cutoff` in the column's unit (lib/retention/date-format.ts). */
  before: SqlPart,
): Promise<RowBytesEstimate> {
  const length = shape.columns
    .filter((c) => !c.generated)
    .map((c) => `COALESCE(LENGTH(${quoteIdentifier(c.name)}), 0)`)
    .join(' + ');
  const [s] = dateIndex
    ? await db.query<{ n: number; avgBytes: number | null }>(
        `SELECT COUNT(*) AS n, AVG(b) AS avgBytes FROM (SELECT ${length} AS b FROM ${table} FORCE INDEX (${quoteIdentifier(dateIndex.name)})
          WHERE ${before.sql} ORDER BY ${quoteIdentifier(dateColumn)} LIMIT ${SAMPLE_ROWS}) s`,
        [...before.params],
      )
    : await db.query<{ n: number; avgBytes: number | null }>(
        `SELECT COUNT(*) AS n, AVG(b) AS avgBytes FROM (SELECT ${length} AS b FROM ${table} FORCE INDEX (${quoteIdentifier(key.name)})
          ORDER BY ${key.columns.map(quoteIdentifier).join(', ')} LIMIT ${SAMPLE_ROWS}) s`,
      );
  const sampledRows = Number(s?.n ?? 0);
  const sampledBytes = sampledRows > 0 && s?.avgBytes !== null && s?.avgBytes !== undefined ? Math.ceil(Number(s.avgBytes)) : null;
  const known = [sampledBytes, shape.avgRowBytes].filter((b): b is number => b !== null && b > 0);
  return { rowBytes: known.length ? Math.max(...known) : null, sampledBytes, sampledRows, statisticsBytes: shape.avgRowBytes };
}

/** The first chunk and the cap on every chunk, from the configured rows and bytes and the row estimate. */
export function chunkSizing(
  rows: { readonly initialRows: number; readonly minRows: number; readonly maxRows: number },
  maxChunkBytes: number,
  estimate: RowBytesEstimate,
): ChunkSizing {
  const byBytes = rowsWithinBytes(maxChunkBytes, estimate.rowBytes ?? undefined);
  const maxChunkRows = Math.min(rows.maxRows, byBytes);
  const firstChunkRows = Math.max(Math.min(rows.minRows, maxChunkRows), Math.min(rows.initialRows, maxChunkRows));
  const count = (n: number) => n.toLocaleString('en');
  if (estimate.rowBytes === null) {
    return {
      firstChunkRows,
      maxChunkRows,
      rowBytes: null,
      reason: `first chunk ${count(firstChunkRows)} rows (purge.initialChunkRows); row size unknown (no rows sampled, no table statistics): chunks bounded in rows only`,
    };
  }
  const sources = [
    estimate.sampledBytes !== null ? `${formatBytes(estimate.sampledBytes)} in the first ${estimate.sampledRows} rows of the walk` : null,
    estimate.statisticsBytes !== null ? `${formatBytes(estimate.statisticsBytes)} by table statistics` : null,
  ].filter((x): x is string => x !== null);
  const perRow = `~${formatBytes(estimate.rowBytes)} a row (${sources.join(', ')}; the larger counts)`;
  const cap = `purge.maxChunkBytes ${formatBytes(maxChunkBytes)} allows ${count(byBytes)} rows a chunk`;
  const reason =
    byBytes < rows.initialRows
      ? `first chunk ${count(firstChunkRows)} rows, not purge.initialChunkRows ${count(rows.initialRows)}: ${perRow}, and ${cap}`
      : `first chunk ${count(firstChunkRows)} rows (purge.initialChunkRows); ${perRow}: ${cap}${byBytes < rows.maxRows ? ' (the cap on every chunk)' : ''}`;
  return { firstChunkRows, maxChunkRows, rowBytes: estimate.rowBytes, reason };
}
