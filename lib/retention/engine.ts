// The retention engine: delete or archive rows older than a rule's cutoff, in short index-walking chunks.
import { createHash } from 'node:crypto';
import type { DbSession } from '../db/connection';
import { errno, isFatal, sqlMessage } from '../db/errors';
import { ContentionSensor, OWN_WRITES_PER_CHUNK, serverActivity, type ServerActivity } from './contention';
import { qualifiedName, quoteIdentifier } from '../db/identifiers';
import type { Log } from '../runtime/log';
import { archiveLayout, checkArchiveTable, ensureArchiveTable, type ArchiveLayout } from './archive-table';
import { ChunkSizer } from './chunk-size';
import { BoundaryPrefetch, WalkCursor, type WalkState } from './walk-state';
import { diagnosisOf, LockWatch } from '../db/lock-diagnostics';
import { RestBudget } from './nice';
import type { SqlPart } from './keyset';
import { deleteUpToBound } from './bounded-delete';
import { cutoffValue } from './date-format';
import { addChildRows, checkCascadeCount, countChunkCascade, countRunCascade, noChildRows } from './cascade';
import { ChunkContentMismatchError, ChunkCountMismatchError, RuleRefusedError } from './rule-errors';
import { describeChecksum, readChecksum, rowChecksumSelect, sameContent } from './row-checksum';
import { copyRefusedMessage, restoreSqlMode, useStrictSqlMode } from './strict-mode';
import { archiveOptions, boundedCount, chooseWalk, plannedChunkSizing, planRule, readingTable, refuseZeroDates, type Plan, type WalkChoice } from './plan';
import { round, type EngineOptions, type RetentionRule, type RuleResult, type RuleStatus } from './rule-result';
import { Walker } from './walk-sql';

export type { EngineOptions, RetentionRule, RuleResult, RuleStatus, WalkKind } from './rule-result';
export { checkRule, planRule } from './plan';
export { ChunkContentMismatchError, ChunkCountMismatchError, RuleRefusedError } from './rule-errors';

const DAY_MS = 86_400_000;
const RETRYABLE = new Set([1205, 1213]); // lock wait timeout, deadlock
const FK_ERRORS = new Set([1451, 1217]);
const MAX_CHUNK_RETRIES = 5;


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

    if (opts.dryRun) {
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


async function chooseIsolation(db: DbSession): Promise<string> {
  // READ COMMITTED takes no gap locks and releases non-matching rows: fewer waits for the application.
  // With statement-based binary logging the server refuses it for DELETE, so keep REPEATABLE READ there.
  const [v] = await db.query<{ logBin: number; format: string }>('SELECT @@log_bin AS logBin, @@binlog_format AS format');
  const level = Number(v?.logBin) === 1 && String(v?.format).toUpperCase() === 'STATEMENT' ? 'REPEATABLE READ' : 'READ COMMITTED';
  await db.exec(`SET SESSION TRANSACTION ISOLATION LEVEL ${level}`);
  return level;
}

/** One rule's run once it holds its lock: what the walk works with and reports into. */
interface RuleRun {
  readonly db: DbSession;
  readonly rule: RetentionRule;
  readonly plan: Plan;
  readonly opts: EngineOptions;
  readonly result: RuleResult;
  readonly finish: () => RuleResult;
}

async function walkAndMove(run: RuleRun): Promise<RuleResult> {
  const { db, rule, plan, opts, result, finish } = run;
  const log = opts.log;
  const name = `${rule.schema}.${rule.table}`;
  if (rule.action === 'archive') {
    result.archiveTableCreated = await ensureArchiveTable(db, plan.shape, rule.archiveSchema, rule.archiveTable, opts.runLog, archiveOptions(rule, plan));
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

async function walkChunks(run: RuleRun, choice: WalkChoice, beforeChoice: ServerActivity, isolation: string): Promise<RuleResult> {
  const { db, rule, plan, opts, result, finish } = run;
  const log = opts.log;
  const name = `${rule.schema}.${rule.table}`;
  const table = qualifiedName(rule.schema, rule.table);
  // The throttle is shared by the rules of a run: this rule reports only its own waiting.
  const throttledBefore = opts.throttle.throttledSeconds;
  const walker = new Walker(db, table, choice, plan.shape, plan.key.columns, rule, plan.predicate, plan.before);
  // A chunk that gives up on a lock says which lock and who held it.
  const locks = opts.lockWatch ?? new LockWatch(undefined, log);
  const sizing = await locks.during(db, readingTable(rule), () => plannedChunkSizing(db, rule, plan, opts.settings));
  result.chunkSizing = sizing;
  const sizer = new ChunkSizer({
    targetSeconds: rule.chunkTimeSeconds ?? opts.settings.chunkTimeSeconds,
    contendedSeconds: Math.min(opts.settings.contendedChunkTimeSeconds, rule.chunkTimeSeconds ?? opts.settings.chunkTimeSeconds),
    initialRows: opts.settings.initialChunkRows,
    minRows: opts.settings.minChunkRows,
    maxRows: opts.settings.maxChunkRows,
    maxBytes: opts.settings.maxChunkBytes,
    ...(sizing.rowBytes !== null ? { rowBytes: sizing.rowBytes } : {}),
  });
  log.info('chunk sizing', { table: name, ...sizing });
  const keyOrder = plan.key.columns.map(quoteIdentifier).join(', ');
  // With two walkers on key ranges, a bounded chunk's DELETE ends at its `size`-th row (see deleteUpToBound).
  // Single-column keys only: that form takes no index hint, and the optimizer's choice was checked on such keys alone.
  const countedDeletes = rule.action === 'delete' && choice.kind === 'primary-key' && plan.key.columns.length === 1 && isolation === 'READ COMMITTED';
  const layout = rule.action === 'archive' ? await archiveLayout(db, plan.shape, rule.archiveSchema, rule.archiveTable, choice.index) : undefined;
  // Every chunk statement walks the chosen index. Left to itself the optimizer switches to a full table scan
  // once a chunk's range is a large share of the table's (shrinking) row estimate: the chunk then reads and
  // locks every row of the table, waiting for application rows far outside its range. MySQL and MariaDB
  // accept index hints in DELETE only in the multi-table form.
  const source = `${table} FORCE INDEX (${quoteIdentifier(choice.index.name)})`;
  const type = rule.action === 'delete' ? 'PURGE-CHUNK' : 'ARCHIVE-CHUNK';
  const lockContext = {
    tables: [{ schema: rule.schema, table: rule.table }, ...(rule.action === 'archive' ? [{ schema: rule.archiveSchema, table: rule.archiveTable }] : [])],
    wants: 'write' as const,
  };
  const start = await ContentionSensor.start(db, beforeChoice, () => OWN_WRITES_PER_CHUNK(rule.action, opts.runLog.writesTable));
  if (start.live) sizer.startContended();
  const sensor = start.sensor;
  const rest = new RestBudget(opts.settings.niceRatio);
  const reader = opts.settings.prefetchBoundaries ? await strictOrNone(opts.reader, log, name, 'boundary reader') : undefined;
  const prefetch = new BoundaryPrefetch(walker, reader, log, name);
  const cursor = new WalkCursor();
  const state: WalkState = { retries: 0, collapse: false, stopped: false };

  /** One session taking chunks from the cursor and running them until the walk ends, stops, or (`single` false) collapses. */
  const lane = async (session: DbSession, single: boolean): Promise<void> => {
    for (;;) {
      if (state.stopped || (!single && state.collapse)) return;
      const reserveMs = sizer.expectedSeconds() * 2000 + 2000;
      if (opts.deadline.isNear(reserveMs)) {
        result.status = 'stopped-at-deadline';
        state.stopped = true;
        return;
      }
      const t = await opts.throttle.wait(opts.deadline, reserveMs);
      result.throttledSeconds = round(opts.throttle.throttledSeconds - throttledBefore, 1);
      if (t.stopped) {
        result.status = 'stopped-at-deadline';
        state.stopped = true;
        return;
      }
      if (state.stopped || (!single && state.collapse)) return;
      const chunkStart = Date.now();
      const startedAt = new Date();
      if (single) cursor.rewind();
      const claim = await cursor.take(async (after) => {
        const next = await locks.during(session, readingTable(rule), () => prefetch.next(after, sizer.next, session, sizer.maxRows));
        // The next chunk's size is not known before this one's time is: guess a little under the sizer's forecast.
        if (next.upTo) prefetch.start(next.upTo, Math.max(sizer.minRows, Math.round(sizer.forecast() * 0.9)));
        return next;
      });
      if (!claim) return;
      const { after, upTo, size, no: chunkNo } = claim;
      const where = walker.chunkWhere({ ...(after ? { after } : {}), ...(upTo ? { upTo } : {}) });
      const extra = { chunk: chunkNo, ...(claim.retryOf !== undefined ? { retryOf: claim.retryOf } : {}), chunkRows: size, walk: choice.kind, after: after ?? null, upTo: upTo ?? null };
      const counted = countedDeletes && !single && upTo !== undefined;
      const rangeDelete = `DELETE ${table} FROM ${source} WHERE ${where.sql}`;
      const sqlText =
        rule.action === 'archive'
          ? `INSERT INTO … SELECT … / ${rangeDelete}`
          : counted
            ? `DELETE FROM ${table} WHERE ${where.sql} ORDER BY ${keyOrder} LIMIT ${size}`
            : rangeDelete;
      let moved: number;
      try {
        // Cascading children are counted in the chunk's transaction, its rows locked, before its DELETE (lib/retention/cascade.ts).
        let cascaded: Awaited<ReturnType<typeof countChunkCascade>> | undefined;
        moved = await locks.during(session, lockContext, async () => {
          if (plan.cascade && rule.action === 'delete') cascaded = await countChunkCascade(session, plan.cascade, source, where);
          return rule.action === 'delete'
            ? counted
              ? await deleteUpToBound(session, table, source, keyOrder, where, size)
              : (await session.exec(rangeDelete, where.params)).affectedRows
            : await archiveChunk(session, table, source, qualifiedName(rule.archiveSchema, rule.archiveTable), layout!, where, startedAt, chunkNo, opts);
        });
        if (cascaded) checkCascadeCount(cascaded, moved);
        const endedAt = new Date();
        const spec = { type, sql: sqlText, schema: rule.schema, table: rule.table, extra: { ...extra, seconds: round((endedAt.getTime() - chunkStart) / 1000), ...(cascaded ? { childRows: cascaded.rows } : {}) } };
        // The chunk's run-log row commits with the chunk itself: one commit (one log flush) per chunk.
        await opts.runLog.writeCompleted(spec, startedAt, endedAt, { rowsAffected: moved }, session);
        await session.exec('COMMIT');
        cursor.settle(claim, 'committed');
        if (cascaded) addChildRows(result.childRows!, cascaded.rows);
        opts.runLog.remember(spec, startedAt, endedAt, { rowsAffected: moved });
      } catch (err) {
        cursor.settle(claim, 'failed');
        // A dead connection ends the run: the server has rolled the open chunk back, and nothing else can be done on it.
        if (isFatal(err)) throw err;
        await session.exec('ROLLBACK');
        const code = errno(err);
        const spec = { type, sql: sqlText, schema: rule.schema, table: rule.table, extra };
        await opts.runLog.recordCompleted(spec, startedAt, { ...(code !== undefined ? { errorNumber: code } : {}), errorMessage: sqlMessage(err) }, session);
        await session.exec('COMMIT'); // the failure's run-log row (autocommit is off)
        const retryable = (code !== undefined && RETRYABLE.has(code)) || err instanceof ChunkCountMismatchError;
        if (retryable && state.retries < MAX_CHUNK_RETRIES) {
          state.retries++;
          result.retries++;
          sizer.shrink();
          // Two lanes: both stop, and the walk goes on on one session from this chunk's lower bound.
          if (!single) state.collapse = true;
          const blocker = diagnosisOf(err);
          log.warn('chunk rolled back; retrying smaller', { table: name, chunk: chunkNo, errno: code, reason: sqlMessage(err), nextChunkRows: sizer.next, ...(blocker ? { blocker } : {}) });
          continue;
        }
        result.status = 'failed';
        const blocker = diagnosisOf(err);
        if (blocker) result.blocker = blocker;
        result.message =
          code !== undefined && FK_ERRORS.has(code)
            ? `chunk ${chunkNo} refused by a foreign key (${sqlMessage(err)}); child rows must go first. Not retried.`
            : `chunk ${chunkNo} failed: ${(rule.action === 'archive' ? copyRefusedMessage(code, sqlMessage(err), name) : undefined) ?? sqlMessage(err)}`;
        state.stopped = true;
        return;
      }
      state.retries = 0;
      const seconds = (Date.now() - chunkStart) / 1000;
      result.chunks++;
      if (rule.action === 'delete') result.rowsDeleted += moved;
      else result.rowsArchived += moved;
      const { contended, foregroundWrites, lockWaitsSeen, contendedChunks } = await sensor.afterChunk(session, single, sizer.contended, !upTo);
      if (contended === true) result.contendedChunks = (result.contendedChunks ?? 0) + contendedChunks;
      sizer.observe(size, seconds, contended);
      if (!single && contended === true && !state.collapse) {
        // The application is back: one session from here on, and the short chunks of a live server.
        state.collapse = true;
        log.info('application activity: walking on one session again', { table: name, chunk: chunkNo, foregroundWrites, lockWaits: lockWaitsSeen });
      }
      // Under a live load, leave the server some room between chunks (an unsampled chunk runs only while the
      // contended target is in force). Measured in bench:purge on 2 cores: resting 5% lowered the foreground's
      // p99 and maximum latency at a cost in time smaller than the noise between runs.
      if (single && contended !== false) {
        rest.owe(seconds);
        const due = rest.dueMs();
        if (due > 0 && !opts.deadline.isNear(due + reserveMs)) {
          const t0 = performance.now();
          await new Promise((r) => setTimeout(r, due));
          rest.paid(performance.now() - t0);
        }
      }
      log.info('chunk done', {
        table: name,
        chunk: chunkNo,
        rows: moved,
        scanned: size,
        seconds: round(seconds),
        done: result.rowsDeleted + result.rowsArchived,
        ...(foregroundWrites !== undefined ? { foregroundWrites, lockWaits: lockWaitsSeen } : {}),
        nextChunkRows: sizer.next,
        ...(!single ? { session: session === db ? 1 : 2 } : {}),
      });
    }
  };

  try {
    const second = opts.second;
    let twoLanes = false;
    if (second && opts.settings.idleWalkers > 1 && !sizer.contended) {
      // The application is not writing: a second session runs every other chunk, so that two chunks are in flight.
      // Its chunks are transactions like the walk's own, so it runs with the same isolation and autocommit off.
      twoLanes = await second
        .exec(`SET SESSION TRANSACTION ISOLATION LEVEL ${isolation}`)
        .then(() => useStrictSqlMode(second))
        .then(() => second.exec('SET autocommit = 0'))
        .then(
          () => true,
          (err: unknown) => {
            log.warn('second session unusable; walking on one', { table: name, error: sqlMessage(err) });
            return false;
          },
        );
    }
    if (second && twoLanes) {
      log.info('server idle: two chunks at a time', { table: name });
      // A lane that fails stops the other after its chunk: without the walk's own session (which holds the run's lock)
      // nothing may go on, and without the second one the walk goes on alone.
      const stopBoth = (err: unknown) => {
        state.collapse = true;
        throw err;
      };
      const [own, other] = await Promise.allSettled([lane(db, false).catch(stopBoth), lane(second, false).catch(stopBoth)]);
      // Back to a session without a transaction and with autocommit on (a chunk always ends in COMMIT or ROLLBACK;
      // this is for one cut short): the session may serve the next rule.
      const restored = await second
        .exec('ROLLBACK')
        .then(() => second.exec('SET autocommit = 1'))
        .then(
          () => true,
          () => false,
        );
      if (own.status === 'rejected') throw own.reason;
      if (other.status === 'rejected' || !restored) {
        // The walk does not depend on the second session: go on without it.
        log.warn('second session failed; walking on one', { table: name, error: other.status === 'rejected' ? sqlMessage(other.reason) : 'could not restore autocommit' });
      }
      if (!state.stopped && (state.collapse || cursor.behind)) await lane(db, true);
    } else {
      await lane(db, true);
    }
  } finally {
    await prefetch.settle();
    if (prefetch.used + prefetch.missed > 0) log.info('boundary prefetch', { table: name, used: prefetch.used, readAgain: prefetch.missed });
  }

  // One lane may see the deadline while the other runs the walk's last chunk: then nothing is left.
  if (result.status === 'stopped-at-deadline' && cursor.finished) result.status = 'completed';
  if (result.status === 'completed') {
    // The walk covered every key that matched at the start: nothing matching is left by
    // construction (a row written into the range meanwhile goes with the next run). Counting
    // would re-read the index range, now full of delete-marked entries, for nothing.
    result.rowsRemaining = 0;
  } else if (result.status === 'stopped-at-deadline' && !opts.deadline.isNear(1_000)) {
    const left = await boundedCount(db, table, plan.predicate, opts.settings.dryRunExactCountLimit);
    result.rowsRemaining = left.n;
    result.rowsRemainingEstimated = left.estimated;
  }
  return finish();
}

/** `session` in the walk's strict sql_mode, or undefined (with a warning) when that fails: the walk goes on without it. */
async function strictOrNone(session: DbSession | undefined, log: Log, table: string, what: string): Promise<DbSession | undefined> {
  if (!session) return undefined;
  return useStrictSqlMode(session).then(
    () => session,
    (err: unknown) => {
      log.warn(`${what} unusable; going on without it`, { table, error: sqlMessage(err) });
      return undefined;
    },
  );
}

/**
 * The body of one archive chunk, inside the caller's transaction: lock the rows and checksum them, copy them, checksum
 * the copies, delete the originals. Counts or checksums that disagree throw, and the caller rolls the chunk back. A kill
 * or timeout at any point rolls the whole chunk back: a row is in the source or in the archive, never both.
 */
async function archiveChunk(
  db: DbSession,
  table: string,
  source: string,
  archive: string,
  layout: ArchiveLayout,
  where: SqlPart,
  archivedAt: Date,
  chunk: number,
  opts: EngineOptions,
): Promise<number> {
  const checksum = rowChecksumSelect(layout.compared);
  const copied = layout.copied.map(quoteIdentifier).join(', ');
  // `source`: the table with its index hint. The checksum is read by the statement that locks the rows: what it sums is what is copied.
  const [lockedRow] = await db.query<Record<string, unknown>>(`SELECT ${checksum} FROM ${source} WHERE ${where.sql} FOR UPDATE`, where.params);
  const locked = readChecksum(lockedRow);
  const inserted = (await db.exec(`INSERT INTO ${archive} (${copied}, \`archived_at\`) SELECT ${copied}, ? FROM ${source} WHERE ${where.sql}`, [archivedAt, ...where.params])).affectedRows;
  await opts.faults?.betweenInsertAndDelete?.(chunk);
  if (inserted !== locked.rows) {
    throw new ChunkCountMismatchError(`archive counts disagree (locked ${locked.rows}, copied ${inserted}); chunk rolled back`);
  }
  // This chunk's copies: its key range (the same WHERE) and its archived_at. Earlier copies in the range have another archived_at.
  const [copiedRow] = await db.query<Record<string, unknown>>(`SELECT ${checksum} FROM ${layout.verifyFrom} WHERE \`archived_at\` = ? AND ${where.sql}`, [archivedAt, ...where.params]);
  const copies = readChecksum(copiedRow);
  if (!sameContent(locked, copies)) {
    throw new ChunkContentMismatchError(
      `the archive does not hold the chunk's rows as the source did (source ${describeChecksum(locked)}; archive ${describeChecksum(copies)}): ` +
        `a trigger or a conversion on ${archive} changed them. Chunk rolled back, nothing deleted. Not retried.`,
    );
  }
  const deleted = (await db.exec(`DELETE ${table} FROM ${source} WHERE ${where.sql}`, where.params)).affectedRows;
  if (deleted !== locked.rows) {
    throw new ChunkCountMismatchError(`archive counts disagree (locked ${locked.rows}, copied ${inserted}, deleted ${deleted}); chunk rolled back`);
  }
  return deleted;
}
