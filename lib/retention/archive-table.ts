// The archive table: created from the source's definition when missing (plus archived_at), checked when present.
import type { DbSession } from '../db/connection';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import type { RunLog } from '../runlog/command-log';
import { inspectTable, type TableShape } from './inspect';
import { RuleRefusedError } from './rule-errors';

export const ARCHIVED_AT = 'archived_at';

/** 'ok' when a usable archive table exists, 'missing' when it would be created; refuses an unusable one. */
export async function checkArchiveTable(db: DbSession, source: TableShape, schema: string, table: string): Promise<'ok' | 'missing'> {
  const sourceColumns = source.columns.filter((c) => !c.generated).map((c) => c.name);
  if (sourceColumns.includes(ARCHIVED_AT)) {
    throw new RuleRefusedError(`${source.schema}.${source.table} already has a column ${ARCHIVED_AT}; archive it into a table you create yourself`);
  }
  const existing = await inspectTable(db, schema, table);
  if (!existing) return 'missing';
  const have = new Set(existing.columns.filter((c) => !c.generated).map((c) => c.name));
  const missing = [...sourceColumns, ARCHIVED_AT].filter((c) => !have.has(c));
  if (missing.length > 0) {
    throw new RuleRefusedError(`archive table ${schema}.${table} lacks column(s) ${missing.join(', ')} of ${source.schema}.${source.table}`);
  }
  return 'ok';
}

/** Returns true when the table was created by this call. */
export async function ensureArchiveTable(db: DbSession, source: TableShape, schema: string, table: string, runLog: RunLog): Promise<boolean> {
  if ((await checkArchiveTable(db, source, schema, table)) === 'ok') return false;
  const target = qualifiedName(schema, table);
  const ddl = [
    `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(schema)}`,
    `CREATE TABLE IF NOT EXISTS ${target} LIKE ${qualifiedName(source.schema, source.table)}`,
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
