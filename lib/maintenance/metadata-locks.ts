// Who holds a table's metadata lock, and which transactions run long: the guard before an ALTER asks for the lock.
import type { DbSession } from '../db/connection';
import { errno } from '../db/errors';
import { isMissingProcessPrivilege } from '../db/privileges';

export type LockVisibility = 'performance_schema' | 'metadata_lock_info' | 'none';

export interface LockHolder {
  readonly threadId: number;
  readonly lockType: string;
  /** Processlist command (`Sleep` = idle, its transaction still open) and seconds in that state. */
  readonly command: string | null;
  readonly seconds: number | null;
  /** Seconds since the holder's InnoDB transaction started, if it has one. */
  readonly transactionSeconds: number | null;
}

/**
 * Where metadata locks can be seen: performance_schema.metadata_locks (MySQL 8 by default; MariaDB
 * with performance_schema on and the mdl instrument enabled), else MariaDB's METADATA_LOCK_INFO
 * plugin, else nowhere — then only long transactions can be seen.
 */
export async function lockVisibility(db: DbSession): Promise<LockVisibility> {
  try {
    const [row] = await db.query<{ on: number; enabled: string | null }>(
      `SELECT @@performance_schema AS \`on\`,
              (SELECT ENABLED FROM performance_schema.setup_instruments WHERE NAME = 'wait/lock/metadata/sql/mdl') AS enabled`,
    );
    if (Number(row?.on) === 1 && row?.enabled === 'YES') return 'performance_schema';
  } catch {
    // No access to performance_schema: try the next source.
  }
  try {
    await db.query('SELECT 1 FROM information_schema.METADATA_LOCK_INFO LIMIT 0');
    return 'metadata_lock_info';
  } catch (err) {
    if (errno(err) === 1109 /* unknown table */) return 'none';
    throw err;
  }
}

/** Other sessions holding (or waiting for) a metadata lock on the table, with their activity. */
export async function tableLockHolders(db: DbSession, visibility: LockVisibility, schema: string, table: string): Promise<LockHolder[]> {
  if (visibility === 'none') return [];
  const holders =
    visibility === 'performance_schema'
      ? await db.query<{ threadId: number; lockType: string }>(
          `SELECT t.PROCESSLIST_ID AS threadId, m.LOCK_TYPE AS lockType
             FROM performance_schema.metadata_locks m JOIN performance_schema.threads t ON t.THREAD_ID = m.OWNER_THREAD_ID
            WHERE m.OBJECT_TYPE = 'TABLE' AND m.OBJECT_SCHEMA = ? AND m.OBJECT_NAME = ? AND t.PROCESSLIST_ID <> CONNECTION_ID()`,
          [schema, table],
        )
      : await db.query<{ threadId: number; lockType: string }>(
          `SELECT THREAD_ID AS threadId, LOCK_MODE AS lockType FROM information_schema.METADATA_LOCK_INFO
            WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND THREAD_ID <> CONNECTION_ID()`,
          [schema, table],
        );
  if (holders.length === 0) return [];
  const ids = [...new Set(holders.map((h) => Number(h.threadId)))];
  const activity = await db.query<{ id: number; command: string; time: number; trxSeconds: number | null }>(
    `SELECT p.ID AS id, p.COMMAND AS command, p.TIME AS time, TIMESTAMPDIFF(SECOND, x.trx_started, NOW()) AS trxSeconds
       FROM information_schema.PROCESSLIST p LEFT JOIN information_schema.INNODB_TRX x ON x.trx_mysql_thread_id = p.ID
      WHERE p.ID IN (?)`,
    [ids],
  );
  const byId = new Map(activity.map((a) => [Number(a.id), a]));
  return holders.map((h) => {
    const a = byId.get(Number(h.threadId));
    return {
      threadId: Number(h.threadId),
      lockType: String(h.lockType),
      command: a?.command ?? null,
      seconds: a ? Number(a.time) : null,
      transactionSeconds: a?.trxSeconds != null ? Number(a.trxSeconds) : null,
    };
  });
}

/** Holders that will not let go within `withinSeconds`: idle in an open transaction, or busy for longer already. */
export function blockingHolders(holders: readonly LockHolder[], withinSeconds: number): LockHolder[] {
  return holders.filter((h) => h.command === 'Sleep' || (h.seconds ?? 0) >= withinSeconds || (h.transactionSeconds ?? 0) >= withinSeconds);
}

/** InnoDB transactions of other sessions open for at least `seconds`; undefined when they cannot be seen (no PROCESS privilege). */
export async function longTransactions(db: DbSession, seconds: number): Promise<{ threadId: number; seconds: number }[] | undefined> {
  let rows: { threadId: number; seconds: number }[];
  try {
    rows = await db.query<{ threadId: number; seconds: number }>(
      `SELECT trx_mysql_thread_id AS threadId, TIMESTAMPDIFF(SECOND, trx_started, NOW()) AS seconds
         FROM information_schema.INNODB_TRX
        WHERE trx_started <= NOW() - INTERVAL ? SECOND AND trx_mysql_thread_id <> CONNECTION_ID()`,
      [seconds],
    );
  } catch (err) {
    if (isMissingProcessPrivilege(err)) return undefined;
    throw err;
  }
  return rows.map((r) => ({ threadId: Number(r.threadId), seconds: Number(r.seconds) }));
}

export function describeHolder(h: LockHolder): string {
  const trx = h.transactionSeconds !== null ? `, transaction open ${h.transactionSeconds} s` : '';
  return `thread ${h.threadId} (${h.lockType}, ${h.command ?? 'gone'} ${h.seconds ?? '?'} s${trx})`;
}
