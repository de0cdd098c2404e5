// The retention engine: delete or archive rows older than a rule's cutoff, in short index-walking chunks.
import { createHash } from 'node:crypto';
import type { DbSession } from '../db/connection';
import { errno, isFatal, sqlMessage } from '../db/errors';
import { qualifiedName } from '../db/identifiers';
import { diagnosisOf, LockWatch } from '../db/lock-diagnostics';
import { checkArchiveTable, ensureArchiveTable } from './archive-table';
import { countRunCascade, noChildRows } from './cascade';
import { serverActivity } from './contention';
import { cutoffValue } from './date-format';
import { archiveOptions, boundedCount, chooseWalk, plannedChunkSizing, planRule, readingTable, refuseZeroDates, type Plan } from './plan';
import { exchangePartitions } from './partition-exchange';
import { createRunway, planRunway } from './partition-runway';
import { dropPartitions, expiredPartitions, partitionPathRefusal, readPartitions, type TablePartition } from './partitions';
import { RuleRefusedError } from './rule-errors';
import { round, type EngineOptions, type RetentionRule, type RuleResult, type RuleStatus } from './rule-result';
import { restoreSqlMode, useStrictSqlMode } from './strict-mode';
import { type RuleRun, walkChunks } from './walk';

export type { EngineOptions, RetentionRule, RuleResult, RuleStatus, WalkKind } from './rule-result';
export { checkRule } from './plan';
export { RuleRefusedError } from './rule-errors';

const DAY_MS = 86_400_000;


/** GET_LOCK names are limited to 64 characters: long table names are hashed. */
export function lockName(schema: string, table: string): string {
  const name = `dbmaint:purge:${schema}.${table}`;
  return name.length <= 64 ? name : `dbmaint:purge:${createHash('sha1').update(`${schema}.${table}`).digest('hex')}`;
}

/** The cutoff of a rule for a run that started at `now`: fixed once, UTC. */
export function cutoffOf(rule: RetentionRule, now: Date): Date {
  return new Date(now.getTime() - rule.retentionDays * DAY_MS);
}

/** A rule's result before anything has happened (also what a rule that never started reports). */
export function initialRuleResult(rule: RetentionRule, now: Date, status: RuleStatus = 'completed'): RuleResult {
  return {
    table: `${rule.schema}.${rule.table}`,
    action: rule.action,
    cutoff: cutoffOf(rule, now).toISOString(),
    status,
    rowsDeleted: 0,
    rowsArchived: 0,
    rowsRemaining: null,
    chunks: 0,
    retries: 0,
    throttledSeconds: 0,
    durationSeconds: 0,
    childTables: [],
    ...(rule.action === 'archive' ? { archiveTable: `${rule.archiveSchema}.${rule.archiveTable}` } : {}),
  };
}

export async function runRule(db: DbSession, rule: RetentionRule, opts: EngineOptions): Promise<RuleResult> {
  const started = Date.now();
  const cutoff = cutoffOf(rule, opts.now);
  const name = `${rule.schema}.${rule.table}`;
  const table = qualifiedName(rule.schema, rule.table);
  const result = initialRuleResult(rule, opts.now);
  const log = opts.log;
  const finish = () => {
    result.durationSeconds = round((Date.now() - started) / 1000);
    log.info('retention rule finished', { ...result, childTables: result.childTables.length });
    return result;
  };
  log.info('retention rule started', { table: name, action: rule.action, cutoff: result.cutoff, dryRun: opts.dryRun });

  let locked = false;
  try {
    const plan = await planRule(db, rule, cutoff);
    result.childTables = plan.shape.children;
    const unit = cutoffValue(plan.date, cutoff);
    if (unit !== undefined) result.cutoffValue = unit;
    if (plan.cascade) result.childRows = noChildRows(plan.cascade);

    const parts = await readPartitions(db, rule.schema, rule.table);
    const refusal = parts.length > 0 && !opts.settings.partitionPath ? 'purge.partitionPath is off' : partitionPathRefusal(rule, parts);
    if (parts.length > 0 && refusal) result.partitionPath = refusal;

    const runway = rule.partitioning ? await planRunway(db, rule, parts, opts.now) : undefined;
    if (runway) {
      result.partitionsAhead = runway.ahead;
      if (runway.problem) result.runwayProblem = runway.problem;
    }

    if (opts.dryRun) {
      if (runway) result.partitions = runway.create.map((c) => ({ partition: c.name, action: 'would-create' as const, rows: 0 }));
      if (!refusal) {
        const action = rule.action === 'delete' ? ('would-drop' as const) : ('would-exchange' as const);
        result.partitions = [...(result.partitions ?? []), ...(await expiredPartitions(db, rule, plan, parts, cutoff)).map((p) => ({ partition: p.name, action, rows: p.rowsEstimate, rowsEstimated: true }))];
      }
      const choice = await chooseWalk(db, rule, plan, opts.settings);
      const count = await boundedCount(db, table, plan.predicate, opts.settings.dryRunExactCountLimit);
      result.status = 'dry-run';
      result.wouldRemove = count.n;
      result.wouldRemoveEstimated = count.estimated;
      result.rowsRemaining = count.n;
      result.rowsRemainingEstimated = count.estimated;
      if (plan.cascade) result.childRows = await countRunCascade(db, plan.cascade, table, plan.predicate, opts.settings.dryRunExactCountLimit);
      if (choice) Object.assign(result, { walk: choice.kind, walkReason: choice.reason, index: choice.index.name });
      else result.walkReason = 'no rows older than the cutoff';
      if (choice) result.chunkSizing = await plannedChunkSizing(db, rule, plan, opts.settings);
      if (rule.action === 'archive') {
        const state = await checkArchiveTable(db, plan.shape, rule.archiveSchema, rule.archiveTable, archiveOptions(rule, plan));
        await refuseZeroDates(db, rule, plan, opts.settings.dryRunExactCountLimit);
        result.message = state === 'ok' ? 'archive table exists' : state === 'missing-schema' ? 'archive schema and table would be created' : 'archive table would be created';
      }
      return finish();
    }

    const [lock] = await db.query<{ got: number | null }>('SELECT GET_LOCK(?, 0) AS got', [lockName(rule.schema, rule.table)]);
    if (Number(lock?.got) !== 1) {
      result.status = 'already-running';
      result.message = `another dbmaint run holds the lock on ${name}; skipped`;
      log.warn('retention rule skipped: already running', { table: name });
      return finish();
    }
    locked = true;
    if (runway) {
      // Future partitions first: an insert into a range with no partition fails the application.
      const created = await createRunway(db, rule, runway, { lockWaitSeconds: opts.settings.partitionLockWaitSeconds, runLog: opts.runLog, log });
      if (created.some((c) => c.action === 'created')) result.partitionsAhead = runway.aheadAfter;
      result.partitions = created;
    }
    if (!refusal && (await wholePartitions(db, rule, plan, await readPartitions(db, rule.schema, rule.table), cutoff, opts, result)) === 'stopped') return finish();
    return await walkAndMove({ db, rule, plan, opts, result, finish });
  } catch (err) {
    // One rule's problem must not stop the other rules; a dead connection stops everything.
    if (err instanceof RuleRefusedError) {
      result.status = 'refused';
      result.message = err.message;
      log.error('retention rule refused', { table: name, reason: err.message });
      return finish();
    }
    if (isFatal(err) || errno(err) === undefined) throw err;
    result.status = 'failed';
    result.message = sqlMessage(err);
    const blocker = diagnosisOf(err);
    if (blocker) result.blocker = blocker;
    log.error('retention rule failed', { table: name, errno: errno(err), error: sqlMessage(err) });
    return finish();
  } finally {
    if (locked) await db.query('SELECT RELEASE_LOCK(?) AS released', [lockName(rule.schema, rule.table)]).catch(() => undefined);
  }
}


/**
 * Under the rule's lock, before the row walk: a delete rule drops its wholly expired partitions, an archive rule exchanges
 * them out into the archive (and first finishes what a killed run left). What is left for the walk is the boundary partition.
 */
async function wholePartitions(db: DbSession, rule: RetentionRule, plan: Plan, parts: readonly TablePartition[], cutoff: Date, opts: EngineOptions, result: RuleResult): Promise<'stopped' | 'walk'> {
  const expired = await expiredPartitions(db, rule, plan, parts, cutoff);
  const lockWaitSeconds = opts.settings.partitionLockWaitSeconds;
  if (rule.action === 'delete') {
    const dropped = await dropPartitions(db, rule, expired, { lockWaitSeconds, runLog: opts.runLog, log: opts.log });
    result.partitions = [...(result.partitions ?? []), ...dropped];
    result.rowsDeleted += dropped.reduce((n, p) => n + (p.action === 'dropped' ? p.rows : 0), 0);
    return 'walk';
  }
  if (rule.action === 'archive') result.archiveTableCreated = await ensureArchiveTable(db, plan.shape, rule.archiveSchema, rule.archiveTable, opts.runLog, archiveOptions(rule, plan));
  const moved = await exchangePartitions(db, rule, expired, {
    lockWaitSeconds,
    runLog: opts.runLog,
    log: opts.log,
    // The row engine over the staging table: the same rule, cutoff and guards; the staging table is not partitioned.
    moveStaging: (staging) => {
      const { partitioning: _runway, ...plain } = rule;
      return runRule(db, { ...plain, table: staging }, opts);
    },
    ...(opts.faults?.afterPartitionStep ? { faults: { afterPartitionStep: opts.faults.afterPartitionStep } } : {}),
  });
  result.partitions = [...(result.partitions ?? []), ...moved.actions];
  result.rowsArchived += moved.rowsArchived;
  if (moved.failed !== undefined) {
    result.status = 'failed';
    result.message = `archiving a partition's staging table failed: ${moved.failed}`;
    return 'stopped';
  }
  if (moved.stopped) {
    result.status = 'stopped-at-deadline';
    return 'stopped';
  }
  return 'walk';
}

async function chooseIsolation(db: DbSession): Promise<string> {
  // READ COMMITTED takes no gap locks and releases non-matching rows: fewer waits for the application.
  // With statement-based binary logging the server refuses it for DELETE, so keep REPEATABLE READ there.
  const [v] = await db.query<{ logBin: number; format: string }>('SELECT @@log_bin AS logBin, @@binlog_format AS format');
  const level = Number(v?.logBin) === 1 && String(v?.format).toUpperCase() === 'STATEMENT' ? 'REPEATABLE READ' : 'READ COMMITTED';
  await db.exec(`SET SESSION TRANSACTION ISOLATION LEVEL ${level}`);
  return level;
}

async function walkAndMove(run: RuleRun): Promise<RuleResult> {
  const { db, rule, plan, opts, result, finish } = run;
  const log = opts.log;
  const name = `${rule.schema}.${rule.table}`;
  if (rule.action === 'archive') {
    result.archiveTableCreated = (result.archiveTableCreated ?? false) || await ensureArchiveTable(db, plan.shape, rule.archiveSchema, rule.archiveTable, opts.runLog, archiveOptions(rule, plan));
  }
  // Choosing the walk reads the matching part of the date index: do not start it without time left.
  if (opts.deadline.isNear(5_000)) {
    result.status = 'stopped-at-deadline';
    return finish();
  }
  const isolation = await chooseIsolation(db);
  // Counters before the walk is chosen: the time that takes tells whether the application is live.
  const beforeChoice = await serverActivity(db);
  // The walk's first reads of the table wait behind LOCK TABLES … WRITE or a pending ALTER like its chunks would.
  const choice = await (opts.lockWatch ?? new LockWatch(undefined, log)).during(db, readingTable(rule), () => chooseWalk(db, rule, plan, opts.settings));
  if (!choice) {
    result.walkReason = 'no rows older than the cutoff';
    result.rowsRemaining = 0;
    return finish();
  }
  Object.assign(result, { walk: choice.kind, walkReason: choice.reason, index: choice.index.name });
  log.info('retention walk chosen', { table: name, walk: choice.kind, index: choice.index.name, reason: choice.reason, isolation });

  // Chunks run with autocommit off: the first statement of a chunk opens its transaction, which saves
  // a START TRANSACTION round trip per chunk. Every chunk ends in COMMIT or ROLLBACK; the session is
  // rolled back before autocommit comes back on, so a half-done chunk can never be committed by it.
  // The strict sql_mode only now, after the archive DDL: CREATE TABLE … LIKE a source with zero-date defaults
  // fails under NO_ZERO_DATE. The session gets its own mode back with autocommit.
  await useStrictSqlMode(db);
  await db.exec('SET autocommit = 0');
  let outcome: RuleResult | undefined;
  try {
    outcome = await walkChunks(run, choice, beforeChoice, isolation);
  } finally {
    try {
      await db.exec('ROLLBACK');
      await db.exec('SET autocommit = 1');
      await restoreSqlMode(db);
    } catch (err) {
      // A session left with autocommit off would never commit what later tasks write on it: stop the run
      // (the walk's own error, when there is one, is what propagates).
      if (outcome) throw Object.assign(new Error(`cannot restore autocommit and sql_mode after the walk: ${sqlMessage(err)}`), { fatal: true });
    }
  }
  return outcome;
}
