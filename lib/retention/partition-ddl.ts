// One partition DDL of a retention rule (DROP, ADD/REORGANIZE) behind the rebuilds' guards: a busy table is skipped, the lock waited for briefly, the statement logged.
import type { DbSession } from '../db/connection';
import { errno, sqlMessage } from '../db/errors';
import { withLockWaitTimeout } from '../db/session-lock-wait';
import { blockingHolders, describeHolder, lockVisibility, tableLockHolders } from '../maintenance/metadata-locks';
import type { RunLog } from '../runlog/command-log';
import type { Log } from '../runtime/log';
import type { RetentionRule } from './rule-result';

export interface PartitionDdlOptions {
  readonly lockWaitSeconds: number;
  readonly runLog: RunLog;
  readonly log: Log;
}

/**
 * Runs `sql` unless the table's metadata-lock holders would make it queue the application (then nothing is tried), with
 * lock_wait_timeout at `lockWaitSeconds`; a lock not granted in time or a server refusal changes nothing and says why.
 */
export async function guardedPartitionDdl(
  db: DbSession,
  rule: RetentionRule,
  ddl: { readonly type: string; readonly sql: string; readonly extra: Record<string, unknown> },
  opts: PartitionDdlOptions,
): Promise<{ readonly done: true; readonly seconds: number } | { readonly done: false; readonly reason: string }> {
  const name = `${rule.schema}.${rule.table}`;
  const holders = blockingHolders(await tableLockHolders(db, await lockVisibility(db), rule.schema, rule.table), opts.lockWaitSeconds);
  if (holders.length) {
    opts.log.warn('partition DDL skipped: table busy', { table: name, type: ddl.type });
    return { done: false, reason: `busy: held by ${holders.map(describeHolder).join(', ')}` };
  }
  const started = Date.now();
  try {
    await withLockWaitTimeout(db, opts.lockWaitSeconds, () => opts.runLog.command({ type: ddl.type, sql: ddl.sql, schema: rule.schema, table: rule.table, extra: ddl.extra }, () => db.exec(ddl.sql)));
  } catch (err) {
    if (errno(err) === undefined) throw err;
    opts.log.warn('partition DDL not done; the row engine goes on', { table: name, type: ddl.type, errno: errno(err), error: sqlMessage(err) });
    return { done: false, reason: errno(err) === 1205 ? `busy: metadata lock not granted within ${opts.lockWaitSeconds} s; nothing changed` : sqlMessage(err) };
  }
  return { done: true, seconds: Math.round((Date.now() - started) / 10) / 100 };
}
