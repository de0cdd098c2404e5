// The content checksum of an archive chunk's rows: its SQL built here only, read on the source (under the chunk's lock) and on the archive.
import { quoteIdentifier } from '../db/identifiers';
import type { ColumnInfo } from './inspect';

/** What the checksum select list yields: the row count and two aggregates of one CRC32 per row. */
export interface RowChecksum {
  readonly rows: number;
  readonly xor: string;
  readonly sum: string;
}

/**
 * The row's text for CRC32, as pt-table-checksum builds it: `CONCAT_WS('#', c1, c2, …, CONCAT(ISNULL(c1), …))`.
 * CONCAT_WS skips NULLs, so the markers of the nullable columns tell NULL from '' and from 'NULL'. Character
 * columns are taken as their bytes (CAST … AS BINARY): a collation cannot make two values equal, and columns of
 * different character sets mix without "Illegal mix of collations". Everything else is compared as the server
 * prints it, which is why the archive must have the source's scale and fractional seconds (see archive-compat).
 */
function rowText(columns: readonly ColumnInfo[]): string {
  const parts = columns.map((c) => (c.characterSet ? `CAST(${quoteIdentifier(c.name)} AS BINARY)` : quoteIdentifier(c.name)));
  const nullable = columns.filter((c) => c.nullable || c.generated);
  const markers = nullable.length > 0 ? [`CONCAT(${nullable.map((c) => `ISNULL(${quoteIdentifier(c.name)})`).join(', ')})`] : [];
  return `CONCAT_WS('#', ${[...parts, ...markers].join(', ')})`;
}

/**
 * The select list `COUNT(*) AS n, BIT_XOR(h) AS x, SUM(h) AS s`, h the row's CRC32. BIT_XOR alone is linear: the same
 * change made to an even number of rows of the same layout (a flag set by a trigger) cancels out; SUM does not cancel
 * that way. Both cost one CRC32 each per row (the server does not share the expression), measured in docs/archive-safety.md.
 */
export function rowChecksumSelect(columns: readonly ColumnInfo[]): string {
  const h = `CRC32(${rowText(columns)})`;
  return `COUNT(*) AS n, BIT_XOR(${h}) AS x, SUM(${h}) AS s`;
}

/** The checksum from a row of `rowChecksumSelect` (SUM is NULL over no rows). */
export function readChecksum(row: Record<string, unknown> | undefined): RowChecksum {
  return { rows: Number(row?.['n'] ?? -1), xor: String(row?.['x'] ?? 0), sum: String(row?.['s'] ?? 0) };
}

export function sameContent(a: RowChecksum, b: RowChecksum): boolean {
  return a.rows === b.rows && a.xor === b.xor && a.sum === b.sum;
}

export function describeChecksum(c: RowChecksum): string {
  return `${c.rows} rows, crc32 xor ${c.xor} sum ${c.sum}`;
}
