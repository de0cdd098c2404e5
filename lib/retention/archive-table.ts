// The archive table: created from the source's definition when missing (plus archived_at), checked when present.
import type { DbSession } from '../db/connection';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import type { RunLog } from '../runlog/command-log';
import { inspectTable, type TableShape } from './inspect';
import { RuleRefusedError } from './rule-errors';

export const ARCHIVED_AT = 'archived_at';

/**
 * 'ok' when a usable archive table exists, 'missing' when it would be created, 'unfinished' when an earlier
 * run was stopped between creating it (CREATE TABLE … LIKE) and adding archived_at: exactly the source's
 * columns, no archived_at, no rows — it is finished rather than refused. Refuses an unusable one.
 */
export async function checkArchiveTable(db: DbSession, source: TableShape, schema: string, table: string): Promise<'ok' | 'missing' | 'unfinished'> {
  const sourceColumns = source.columns.filter((c) => !c.generated).map((c) => c.name);
  if (sourceColumns.includes(ARCHIVED_AT)) {
    throw new RuleRefusedError(`${source.schema}.${source.table} already has a column ${ARCHIVED_AT}; archive it into a table you create yourself`);
  }
  const existing = await inspectTable(db, schema, table);
  if (!existing) return 'missing';
  const have = new Set(existing.columns.filter((c) => !c.generated).map((c) => c.name));
  const missing = [...sourceColumns, ARCHIVED_AT].filter((c) => !have.has(c));
  if (missing.length === 1 && missing[0] === ARCHIVED_AT && have.size === sourceColumns.length) {
    const [row] = await db.query<{ one: number }>(`SELECT 1 AS one FROM ${qualifiedName(schema, table)} LIMIT 1`);
    if (!row) return 'unfinished';
  }
  if (missing.length > 0) {
    throw new RuleRefusedError(`archive table ${schema}.${table} lacks column(s) ${missing.join(', ')} of ${source.schema}.${source.table}`);
  }
  return 'ok';
}

/** Returns true when the table was created (or an unfinished one finished) by this call. */
export async function ensureArchiveTable(db: DbSession, source: TableShape, schema: string, table: string, runLog: RunLog): Promise<boolean> {
  const state = await checkArchiveTable(db, source, schema, table);
  if (state === 'ok') return false;
  const target = qualifiedName(schema, table);
  const ddl = [
    ...(state === 'missing'
      ? [`CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(schema)}`, `CREATE TABLE IF NOT EXISTS ${target} LIKE ${qualifiedName(source.schema, source.table)}`]
      : []),
    // Secondary unique keys of a live table need not hold across years of archive; the key still forbids duplicates.
    `ALTER TABLE ${target} ${[
      `ADD COLUMN ${quoteIdentifier(ARCHIVED_AT)} DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)`,
      ...source.indexes
        .filter((i) => i.unique && i.name !== 'PRIMARY' && i !== source.key)
        .flatMap((i) => [`DROP INDEX ${quoteIdentifier(i.name)}`, `ADD INDEX ${quoteIdentifier(i.name)} (${i.columns.map(quoteIdentifier).join(', ')})`]),
    ].join(', ')}`,
  ];
  for (const sql of ddl) await runLog.command({ type: 'ARCHIVE-DDL', sql, schema, table }, () => db.exec(sql));
  return true;
}
