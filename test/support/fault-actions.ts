// What the fault tests do to the server from the outside: kill a session, wait for it to be gone,
// wait for it to block on a lock, and fingerprint a table to prove it unchanged.
import type mysql from 'mysql2/promise';
import { openSession, type DbSession, type SessionSettings } from '../../lib/db/connection';
import { credentialsFromUrl } from '../../lib/db/credentials';
import { RunLog } from '../../lib/runlog/command-log';
import { runRule, type EngineOptions, type RetentionRule, type RuleResult } from '../../lib/retention/engine';
import { Throttle } from '../../lib/retention/throttle';
import { Deadline } from '../../lib/runtime/deadline';
import { silentLog } from '../../lib/runtime/log';
import type { TableName } from './row-conservation';
import { interceptStatements, type StatementKind } from './statement-interceptor';

type Queryable = Pick<mysql.Connection, 'query'>;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** KILL CONNECTION from another session; a session that is already gone is fine. */
export async function killConnection(admin: Queryable, threadId: number): Promise<void> {
  await admin.query(`KILL CONNECTION ${Number(threadId)}`).catch((err: { errno?: number }) => {
    if (err.errno !== 1094) throw err; // unknown thread: it ended by itself
  });
}

/** Until the server has finished with a killed session (rolled its transaction back, released its locks). */
export async function waitUntilGone(admin: Queryable, threadId: number, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE ID = ?', [threadId]);
    if (Number(rows[0]!['n']) === 0) return;
    if (Date.now() > until) throw new Error(`thread ${threadId} still present after ${timeoutMs} ms`);
    await sleep(20);
  }
}

/**
 * True once `threadId`'s transaction waits for a row lock; false if `settled` comes first. InnoDB refreshes
 * information_schema.INNODB_TRX only when it was not read for 0.1 s, so it is polled less often than that.
 */
export async function waitForLockWait(monitor: Queryable, threadId: number, settled: Promise<void>, timeoutMs = 4_000): Promise<boolean> {
  let done = false;
  void settled.then(() => {
    done = true;
  });
  const until = Date.now() + timeoutMs;
  while (!done && Date.now() < until) {
    const [rows] = await monitor.query<mysql.RowDataPacket[]>('SELECT trx_state AS s FROM information_schema.INNODB_TRX WHERE trx_mysql_thread_id = ?', [threadId]);
    if (rows[0]?.['s'] === 'LOCK WAIT') return true;
    await Promise.race([sleep(150), settled]);
  }
  return false;
}

/** The statements of a chunk that lock its rows. */
const ROW_LOCKING: readonly StatementKind[] = ['lock-rows', 'copy', 'delete'];

/**
 * `db` where the first chunk statement that locks rows and then waits for a row lock runs `action`
 * once, while it waits (to release the holder, or to make it wait for us in turn).
 */
export function onFirstRowLockWait(db: DbSession, monitor: Queryable, action: () => Promise<void>): { session: DbSession; fired: () => boolean } {
  let fired = false;
  const session = interceptStatements(db, {
    during: async (e, settled) => {
      if (fired || !ROW_LOCKING.includes(e.kind) || !(await waitForLockWait(monitor, db.threadId, settled))) return;
      fired = true;
      await action();
    },
  });
  return { session, fired: () => fired };
}

/** Until a statement of another session waits for a metadata lock. */
export async function waitForMetadataLockWait(monitor: Queryable, infoLike: string, timeoutMs = 10_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const [rows] = await monitor.query<mysql.RowDataPacket[]>(
      "SELECT 1 FROM information_schema.PROCESSLIST WHERE STATE = 'Waiting for table metadata lock' AND INFO LIKE ?",
      [infoLike],
    );
    if (rows.length > 0) return true;
    await sleep(10);
  }
  return false;
}

export interface TableFingerprint {
  /** SHOW CREATE TABLE without the AUTO_INCREMENT counter. */
  readonly definition: string;
  readonly rows: number;
  readonly checksum: string;
  /** InnoDB's table id: a rebuild (even a rolled-back one that got far enough to swap) changes it. */
  readonly tableId: number;
}

export async function tableFingerprint(db: Queryable, t: TableName): Promise<TableFingerprint> {
  const name = `\`${t.schema}\`.\`${t.table}\``;
  const [[create]] = await db.query<mysql.RowDataPacket[]>(`SHOW CREATE TABLE ${name}`);
  const [[count]] = await db.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${name}`);
  const [[sum]] = await db.query<mysql.RowDataPacket[]>(`CHECKSUM TABLE ${name}`);
  const [[id]] = await db.query<mysql.RowDataPacket[]>('SELECT TABLE_ID AS id FROM information_schema.INNODB_SYS_TABLES WHERE NAME = ?', [`${t.schema}/${t.table}`]);
  return {
    definition: String(create!['Create Table']).replace(/ AUTO_INCREMENT=\d+/, ''),
    rows: Number(count!['n']),
    checksum: String(sum!['Checksum']),
    tableId: Number(id?.['id'] ?? -1),
  };
}

export function sessionFor(url: string, settings: Partial<SessionSettings> = {}): Promise<DbSession> {
  return openSession(credentialsFromUrl(url), { lockWaitTimeoutSeconds: 5, innodbLockWaitTimeoutSeconds: 5, connectTimeoutSeconds: 5, ...settings }, 'disabled');
}

export interface LoggedRun {
  readonly runId: string;
  readonly result?: RuleResult;
  readonly error?: Error;
}

/**
 * One rule on `db` with a run log in `logTable`; the run id is known even when the run throws
 * (a killed connection), so the run log of a failed run can be read back.
 */
export async function runRuleLogged(
  db: DbSession,
  rule: RetentionRule,
  opts: { readonly now: Date; readonly settings: EngineOptions['settings']; readonly logTable: TableName; readonly deadline?: Deadline; readonly reader?: DbSession },
): Promise<LoggedRun> {
  const runLog = new RunLog(db, { enabled: true, schema: opts.logTable.schema, table: opts.logTable.table }, { task: 'fault-test', target: 't', dryRun: false }, silentLog);
  await runLog.prepare();
  try {
    const result = await runRule(db, rule, {
      dryRun: false,
      now: opts.now,
      settings: opts.settings,
      deadline: opts.deadline ?? Deadline.unlimited(),
      throttle: new Throttle([], silentLog),
      log: silentLog,
      runLog,
      ...(opts.reader ? { reader: opts.reader } : {}),
    });
    return { runId: runLog.runId, result };
  } catch (err) {
    return { runId: runLog.runId, error: err as Error };
  }
}

/**
 * runRuleLogged on a session of its own, closed afterwards: an ordinary run, as the cleanup-data task makes it
 * (with a second session for boundary reads). The faulted runs go without one, so that every statement of the
 * walk, boundary reads included, is on the session the fault is injected into.
 */
export async function runOnNewSession(url: string, rule: RetentionRule, opts: Parameters<typeof runRuleLogged>[2]): Promise<LoggedRun> {
  const db = await sessionFor(url);
  const reader = await sessionFor(url);
  try {
    return await runRuleLogged(db, rule, { ...opts, reader });
  } finally {
    await db.close();
    await reader.close();
  }
}
