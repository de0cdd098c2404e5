// The table history's window index: growth sums read the growth window's snapshots, not every snapshot kept.
import type { DbSession } from '../db/connection';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import { isPrivilegeError } from '../db/privileges';
import type { Log } from '../runtime/log';

export const WINDOW_INDEX = 'ix_window';

/**
 * Covering for the per-table sums: with the primary key (target, schema, table, captured_at) the server
 * reads every snapshot of the schema kept (400 days by default) to sum the last 30; through this
 * index only the window. Not covering, the window's rows cost a primary-key lookup each (20× slower).
 */
const WINDOW_INDEX_COLUMNS = ['target', 'schema_name', 'captured_at', 'total_bytes', 'rows_estimate', 'rows_exact'] as const;

export function windowIndexDefinition(): string {
  return `KEY ${quoteIdentifier(WINDOW_INDEX)} (${WINDOW_INDEX_COLUMNS.map(quoteIdentifier).join(', ')})`;
}

export async function hasWindowIndex(db: DbSession, schema: string, table: string): Promise<boolean> {
  // STATISTICS answers INDEX_NAME from the table's definition: nothing is opened.
  const rows = await db.query('SELECT 1 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = ? LIMIT 1', [schema, table, WINDOW_INDEX]);
  return rows.length > 0;
}

const ER_LOCK_WAIT_TIMEOUT = 1205;

/**
 * Add the index to a history table created before it existed (online: ALGORITHM=INPLACE, LOCK=NONE; once).
 * Whether the index is there afterwards: without ALTER on the history schema, or when its metadata lock is not
 * granted within lock_wait_timeout, the sums are read without it this run (same figures, slower).
 */
export async function ensureWindowIndex(db: DbSession, schema: string, table: string, log: Log): Promise<boolean> {
  if (await hasWindowIndex(db, schema, table)) return true;
  const started = Date.now();
  try {
    await db.exec(`ALTER TABLE ${qualifiedName(schema, table)} ADD ${windowIndexDefinition()}, ALGORITHM=INPLACE, LOCK=NONE`);
  } catch (err) {
    const errno = Number((err as { errno?: unknown }).errno);
    if (!isPrivilegeError(err) && errno !== ER_LOCK_WAIT_TIMEOUT) throw err;
    log.warn('history window index not added: growth sums read every snapshot kept', {
      table: `${schema}.${table}`,
      error: (err as Error).message,
      fix: `ALTER TABLE ${qualifiedName(schema, table)} ADD ${windowIndexDefinition()}, ALGORITHM=INPLACE, LOCK=NONE`,
    });
    return false;
  }
  log.info('history window index added', { table: `${schema}.${table}`, seconds: Math.round((Date.now() - started) / 100) / 10 });
  return true;
}
