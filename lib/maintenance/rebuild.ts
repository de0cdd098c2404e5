// Online table rebuilds (ALTER TABLE … FORCE, ALGORITHM=INPLACE, LOCK=NONE) behind metadata-lock, time-budget and engine guards.
import type { OptimizeSettings } from '../config/schema';
import type { DbSession } from '../db/connection';
import { errno, sqlMessage } from '../db/errors';
import { qualifiedName } from '../db/identifiers';
import type { RunLog } from '../runlog/command-log';
import type { Deadline } from '../runtime/deadline';
import type { Log } from '../runtime/log';
import { readTableSizes, type TableSize } from '../stats/sizes';
import { describeIdentity, readTableIdentity, sameTable } from './table-identity';
import { blockingHolders, describeHolder, lockVisibility, longTransactions, tableLockHolders, type LockVisibility } from './metadata-locks';
import { diagnosisOf, LockWatch, type LockDiagnosis } from '../db/lock-diagnostics';
import { withLockWaitTimeout } from '../db/session-lock-wait';
import type { PtOscRun } from './pt-osc';
import { rebuildRate, type RebuildRate } from './rebuild-rate';

export type RebuildAction = 'rebuilt' | 'would-rebuild' | 'skipped' | 'deferred' | 'failed';

export interface SpaceSnapshot {
  readonly dataBytes: number;
  readonly indexBytes: number;
  readonly freeBytes: number;
  readonly totalBytes: number;
  readonly fragmentationPercent: number | null;
}

export interface RebuildTableResult {
  readonly schema: string;
  readonly table: string;
  readonly action: RebuildAction;
  /** Why it was chosen (optimize: fragmentation and size; rebuild-indexes: named). */
  readonly reason: string;
  /** Why it was skipped, deferred or failed. */
  readonly detail?: string;
  /** `busy`: another session held the table; the ALTER gave up instead of queueing the application behind it. */
  readonly busy?: boolean;
  readonly statement?: string;
  readonly estimatedSeconds?: number;
  readonly durationSeconds?: number;
  readonly before: SpaceSnapshot;
  readonly after?: SpaceSnapshot;
  /** totalBytes before − after (the tablespace file shrinks by this much). */
  readonly reclaimedBytes?: number;
  /** An ALTER that gave up on its metadata lock: who held the table. */
  readonly blocker?: LockDiagnosis;
}

export interface RebuildResult {
  readonly tables: readonly RebuildTableResult[];
  readonly counts: Readonly<Record<RebuildAction, number>>;
  readonly bytesReclaimed: number;
  /** Bytes per second used for estimates, and where it came from. */
  readonly rate: RebuildRate;
  readonly lockVisibility: LockVisibility;
  readonly stoppedAtDeadline: boolean;
  readonly remaining: readonly string[];
}

export interface RebuildRequest {
  readonly size: TableSize;
  readonly reason: string;
}

export interface RebuildOptions {
  readonly settings: OptimizeSettings;
  readonly dryRun: boolean;
  /** optimize-tables: a table in a shared tablespace gives nothing back, so skip it. rebuild-indexes rebuilds it anyway. */
  readonly skipSharedTablespace: boolean;
  /** Skip tables rebuilt (successfully, by any dbmaint run on this target) more recently than this many days; 0: never skip. */
  readonly minDaysBetweenRebuilds?: number;
  readonly now?: Date;
  /** Test hook: ignore metadata-lock visibility (as on a server without it). */
  readonly lockVisibility?: LockVisibility;
  /** Watches each ALTER's lock wait from another session, to name the holder when it times out. */
  readonly lockWatch?: LockWatch;
  /** Rebuild with pt-online-schema-change instead of ALTER (the long runner's engine; lib/maintenance/pt-osc.ts). */
  readonly ptOsc?: PtOscEngine;
}

/** pt-online-schema-change bound to the target: its by-hand command text (for the run log) and its run. */
export interface PtOscEngine {
  commandText(schema: string, table: string): string;
  run(schema: string, table: string, deadlineMs: number): Promise<PtOscRun>;
}

const MB = 1024 * 1024;
/** Time kept free after a rebuild's estimated end: reporting, and the estimate being wrong. */
const SAFETY_MS = 20_000;

function snapshot(t: TableSize): SpaceSnapshot {
  return { dataBytes: t.dataBytes, indexBytes: t.indexBytes, freeBytes: t.freeBytes, totalBytes: t.totalBytes, fragmentationPercent: t.fragmentationPercent };
}

/** A rebuilt table measured again: its space now, and what the rebuild gave back (either engine). */
async function measuredAfter(db: DbSession, t: TableSize): Promise<{ after?: SpaceSnapshot; reclaimedBytes?: number }> {
  const [afterSize] = await readTableSizes(db, { schemas: [t.schema], only: [{ schema: t.schema, table: t.table }] });
  if (!afterSize) return {};
  const after = snapshot(afterSize);
  return { after, reclaimedBytes: Math.max(0, t.totalBytes - after.totalBytes) };
}

function alterStatement(t: TableSize, lock: 'NONE' | 'SHARED'): string {
  return `ALTER TABLE ${qualifiedName(t.schema, t.table)} FORCE, ALGORITHM=INPLACE, LOCK=${lock}`;
}

export async function rebuildTables(
  db: DbSession,
  runLog: RunLog,
  deadline: Deadline,
  log: Log,
  requests: readonly RebuildRequest[],
  opts: RebuildOptions,
): Promise<RebuildResult> {
  const history = await runLog.history(
    'REBUILD',
    500,
    opts.minDaysBetweenRebuilds ? `no measured rebuild rate, and optimize.minDaysBetweenRebuilds cannot be applied: a fragmented table is rebuilt on every run` : 'no measured rebuild rate (the default is used)',
  );
  const rate = rebuildRate(history, opts.settings);
  // By name, with the identity the table had right after that rebuild: a table recreated under the name since is another table.
  const lastRebuilt = new Map<string, { at: Date; identity: unknown }>();
  for (const h of history) {
    const name = `${h.schema}.${h.table}`;
    if (h.schema && h.table && !lastRebuilt.has(name)) lastRebuilt.set(name, { at: h.startedAt, identity: h.extra?.['identity'] });
  }
  const visibility = opts.lockVisibility ?? (await lockVisibility(db));
  const watch = opts.lockWatch ?? new LockWatch(undefined, log);
  const results: RebuildTableResult[] = [];
  const remaining: string[] = [];
  let stoppedAtDeadline = false;
  // The ALTER's lock request may queue the application only this long; the session's own setting comes back after.
  await withLockWaitTimeout(db, opts.dryRun ? undefined : opts.settings.lockWaitTimeoutSeconds, async () => {
    for (const { size: t, reason } of requests) {
      const base = { schema: t.schema, table: t.table, reason, before: snapshot(t) };
      const name = `${t.schema}.${t.table}`;
      const estimatedSeconds = Math.max(1, Math.round((t.totalBytes / rate.bytesPerSecond) * 10) / 10);
      const skip = (detail: string, extra: Partial<RebuildTableResult> = {}) => results.push({ ...base, action: 'skipped', detail, ...extra });

      if ((t.engine ?? '').toLowerCase() !== 'innodb') {
        skip(`${t.engine ?? 'unknown'} engine: a rebuild would lock the table for its whole duration`);
        continue;
      }
      const last = lastRebuilt.get(name);
      const minDays = opts.minDaysBetweenRebuilds ?? 0;
      let recreated: string | undefined;
      if (last && minDays > 0 && opts.now && opts.now.getTime() - last.at.getTime() < minDays * 86_400_000) {
        const ago = `${((opts.now.getTime() - last.at.getTime()) / 86_400_000).toFixed(1)} days ago`;
        const now = await readTableIdentity(db, t.schema, t.table);
        if (sameTable(last.identity, now) !== false) {
          skip(`rebuilt ${ago}; optimize waits ${minDays} days between rebuilds of a table`);
          continue;
        }
        recreated = `a table of this name was rebuilt ${ago}, but this one was created since (${describeIdentity(now)}): not the same table`;
      }
      if (t.sharedTablespace && opts.skipSharedTablespace) {
        skip('in the system or a general tablespace: a rebuild returns no space to the operating system');
        continue;
      }
      let lock: 'NONE' | 'SHARED' = 'NONE';
      if (opts.ptOsc) {
        // A copy kept in step by triggers: a FULLTEXT index is no obstacle, but referencing children and triggers are.
        const obstacle = await ptOscObstacle(db, t.schema, t.table);
        if (obstacle) {
          skip(`${obstacle}: pt-online-schema-change would not rebuild it safely; rebuild it with engine 'alter' or by hand`);
          continue;
        }
      } else if (t.hasFulltextOrSpatial) {
        if (!opts.settings.allowLockingRebuild) {
          skip('FULLTEXT or SPATIAL index: no LOCK=NONE rebuild possible (optimize.allowLockingRebuild allows LOCK=SHARED: reads go on, writes wait)');
          continue;
        }
        lock = 'SHARED';
      }
      const statement = opts.ptOsc ? opts.ptOsc.commandText(t.schema, t.table) : alterStatement(t, lock);
      if (opts.dryRun) {
        results.push({ ...base, action: 'would-rebuild', statement, estimatedSeconds });
        continue;
      }
      // Ola Hallengren's TimeLimit: never start what cannot finish in the time left.
      if (stoppedAtDeadline || deadline.remainingMs() < estimatedSeconds * 1000 + SAFETY_MS) {
        stoppedAtDeadline = true;
        remaining.push(name);
        results.push({ ...base, action: 'deferred', statement, estimatedSeconds, detail: `estimated ${estimatedSeconds} s at ${Math.round(rate.bytesPerSecond / MB)} MB/s; ${Math.round(deadline.remainingMs() / 1000)} s left` });
        continue;
      }

      // Whoever holds the table now would make the ALTER's lock request queue everyone behind it.
      if (visibility === 'none') {
        const long = await longTransactions(db, opts.settings.longTransactionSeconds);
        if (!long) log.warn('neither metadata locks nor transactions are visible (no PROCESS privilege): only lock_wait_timeout guards the ALTER', { table: name });
        if (long?.length) {
          skip(
            `busy: ${long.map((l) => `thread ${l.threadId} has a transaction open ${l.seconds} s`).join(', ')} (metadata locks are not visible on this server, so any long transaction may hold the table)`,
            { busy: true, statement },
          );
          continue;
        }
      } else {
        const holders = blockingHolders(await tableLockHolders(db, visibility, t.schema, t.table), opts.settings.lockWaitTimeoutSeconds);
        if (holders.length) {
          skip(`busy: held by ${holders.map(describeHolder).join(', ')}`, { busy: true, statement });
          continue;
        }
      }

      if (opts.ptOsc) {
        const done = await rebuildWithPtOsc(db, runLog, opts.ptOsc, t, { reason, estimatedSeconds, statement, deadline, log });
        if (done.action === 'deferred') {
          stoppedAtDeadline = true;
          remaining.push(name);
        }
        results.push({ ...base, ...done, ...(recreated && done.action === 'rebuilt' ? { detail: recreated } : {}) });
        continue;
      }

      // MariaDB can abort the ALTER itself at the deadline (it rolls back cleanly); MySQL relies on the estimate.
      const remainingMs = deadline.remainingMs();
      const maxSeconds = Math.max(1, Math.floor((remainingMs - SAFETY_MS / 2) / 1000));
      const sql = db.flavour.kind === 'mariadb' && Number.isFinite(remainingMs) ? `SET STATEMENT max_statement_time = ${maxSeconds} FOR ${statement}` : statement;
      const started = Date.now();
      log.info('rebuilding table', { table: name, estimatedSeconds, totalBytes: t.totalBytes, lock });
      try {
        await runLog.command(
          { type: 'REBUILD', sql, schema: t.schema, table: t.table, extra: { reason, totalBytes: t.totalBytes, freeBytes: t.freeBytes, estimatedSeconds } },
          () => watch.during(db, { tables: [{ schema: t.schema, table: t.table }], wants: 'ddl' }, () => db.exec(sql)),
          undefined,
          // The rebuild itself gives the table a new id and CREATE_TIME: what is recorded is the table as we left it.
          async () => ({ identity: await readTableIdentity(db, t.schema, t.table) }),
        );
      } catch (err) {
        const durationSeconds = Math.round((Date.now() - started) / 100) / 10;
        const n = errno(err);
        const blocker = diagnosisOf(err);
        if (n === 1205) {
          skip(`busy: metadata lock not granted within ${opts.settings.lockWaitTimeoutSeconds} s (lock_wait_timeout); nothing changed${blocker ? `: ${blocker.summary}` : ''}`, {
            busy: true,
            statement,
            durationSeconds,
            ...(blocker ? { blocker } : {}),
          });
        } else if (n === 1845 || n === 1846) skip(`online rebuild impossible: ${sqlMessage(err)}`, { statement, durationSeconds });
        else if (n === 1969) {
          stoppedAtDeadline = true;
          remaining.push(name);
          results.push({ ...base, action: 'deferred', statement, durationSeconds, detail: 'stopped at the time budget (max_statement_time); the server rolled the rebuild back' });
        } else results.push({ ...base, action: 'failed', statement, durationSeconds, detail: sqlMessage(err) });
        if (n !== undefined && ![1205, 1845, 1846, 1969].includes(n)) log.error('rebuild failed', { table: name, errno: n, error: sqlMessage(err) });
        continue;
      }
      const durationSeconds = Math.round((Date.now() - started) / 100) / 10;
      const { after, reclaimedBytes } = await measuredAfter(db, t);
      results.push({
        ...base,
        action: 'rebuilt',
        statement,
        estimatedSeconds,
        durationSeconds,
        ...(after ? { after } : {}),
        ...(reclaimedBytes !== undefined ? { reclaimedBytes } : {}),
        ...(recreated ? { detail: recreated } : {}),
      });
      log.info('table rebuilt', { table: name, durationSeconds, reclaimedBytes });
    }
  });

  const counts: Record<RebuildAction, number> = { rebuilt: 0, 'would-rebuild': 0, skipped: 0, deferred: 0, failed: 0 };
  for (const r of results) counts[r.action]++;
  return {
    tables: results,
    counts,
    bytesReclaimed: results.reduce((n, r) => n + (r.reclaimedBytes ?? 0), 0),
    rate,
    lockVisibility: visibility,
    stoppedAtDeadline,
    remaining,
  };
}

/** Why pt-online-schema-change must not rebuild a table: children referencing it (their keys would follow the old table), or triggers of its own. */
async function ptOscObstacle(db: DbSession, schema: string, table: string): Promise<string | undefined> {
  const [fk] = await db.query<{ n: number }>(
    'SELECT COUNT(*) AS n FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE UNIQUE_CONSTRAINT_SCHEMA = ? AND REFERENCED_TABLE_NAME = ?',
    [schema, table],
  );
  if (Number(fk?.n) > 0) return `referenced by ${fk?.n} foreign key(s)`;
  const [tr] = await db.query<{ n: number }>('SELECT COUNT(*) AS n FROM information_schema.TRIGGERS WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ?', [schema, table]);
  if (Number(tr?.n) > 0) return `has ${tr?.n} trigger(s) of its own`;
  return undefined;
}

/** One table through pt-online-schema-change, logged as its REBUILD command; stopped at the deadline, it is deferred unchanged. */
async function rebuildWithPtOsc(
  db: DbSession,
  runLog: RunLog,
  engine: PtOscEngine,
  t: TableSize,
  a: { reason: string; estimatedSeconds: number; statement: string; deadline: Deadline; log: Log },
): Promise<Pick<RebuildTableResult, 'action' | 'statement' | 'estimatedSeconds' | 'durationSeconds' | 'detail' | 'after' | 'reclaimedBytes'>> {
  const name = `${t.schema}.${t.table}`;
  const started = Date.now();
  a.log.info('rebuilding table with pt-online-schema-change', { table: name, estimatedSeconds: a.estimatedSeconds, totalBytes: t.totalBytes });
  const deadlineMs = Date.now() + Math.max(0, a.deadline.remainingMs() - SAFETY_MS / 2);
  const tail = (out: string) => out.trim().split('\n').slice(-3).join(' | ');
  let interrupted = false;
  try {
    await runLog.command(
      { type: 'REBUILD', sql: a.statement, schema: t.schema, table: t.table, extra: { engine: 'pt-online-schema-change', reason: a.reason, totalBytes: t.totalBytes, freeBytes: t.freeBytes, estimatedSeconds: a.estimatedSeconds } },
      async () => {
        const run = await engine.run(t.schema, t.table, deadlineMs);
        interrupted = run.interrupted;
        if (run.exitCode !== 0) throw new Error(run.interrupted ? `stopped at the time budget: ${tail(run.output)}` : `pt-online-schema-change exited with ${run.exitCode}: ${tail(run.output)}`);
        return run;
      },
      undefined,
      async () => ({ identity: await readTableIdentity(db, t.schema, t.table) }),
    );
  } catch (err) {
    const durationSeconds = Math.round((Date.now() - started) / 100) / 10;
    const detail = (err as Error).message;
    if (interrupted) return { action: 'deferred', statement: a.statement, durationSeconds, detail: `${detail}; pt-online-schema-change dropped its triggers and copy, the table is unchanged` };
    a.log.error('rebuild failed', { table: name, engine: 'pt-online-schema-change', error: detail });
    return { action: 'failed', statement: a.statement, durationSeconds, detail };
  }
  const durationSeconds = Math.round((Date.now() - started) / 100) / 10;
  const { after, reclaimedBytes } = await measuredAfter(db, t);
  a.log.info('table rebuilt', { table: name, engine: 'pt-online-schema-change', durationSeconds, reclaimedBytes });
  return { action: 'rebuilt', statement: a.statement, estimatedSeconds: a.estimatedSeconds, durationSeconds, ...(after ? { after } : {}), ...(reclaimedBytes !== undefined ? { reclaimedBytes } : {}) };
}
