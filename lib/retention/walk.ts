// The walk of one rule: chunks taken from the cursor and run on one session, or two while the server is idle.
import type { DbSession } from '../db/connection';
import { sqlMessage } from '../db/errors';
import { qualifiedName } from '../db/identifiers';
import { diagnosisOf, LockWatch } from '../db/lock-diagnostics';
import type { Log } from '../runtime/log';
import { archiveLayout } from './archive-table';
import { addChildRows } from './cascade';
import { ChunkSizer } from './chunk-size';
import { runChunk, type ChunkJob, type ChunkOutcome } from './chunk-run';
import { ContentionSensor, OWN_WRITES_PER_CHUNK, type ServerActivity } from './contention';
import { RestBudget } from './nice';
import { BUDGET_SPENT } from './row-budget';
import { boundedCount, plannedChunkSizing, readingTable, type Plan } from './plan';
import { round, type EngineOptions, type RetentionRule, type RuleResult } from './rule-result';
import { useStrictSqlMode } from './strict-mode';
import { BoundaryPrefetch, WalkCursor, type WalkState } from './walk-state';
import { Walker, type WalkChoice } from './walk-sql';

const MAX_CHUNK_RETRIES = 5;

/** One rule's run once it holds its lock: what the walk works with and reports into. */
export interface RuleRun {
  readonly db: DbSession;
  readonly rule: RetentionRule;
  readonly plan: Plan;
  readonly opts: EngineOptions;
  readonly result: RuleResult;
  readonly finish: () => RuleResult;
}

/** Walk the rule's rows in chunks until none is left, the deadline nears or a chunk fails for good; the result says which. */
export async function walkChunks(run: RuleRun, choice: WalkChoice, beforeChoice: ServerActivity, isolation: string): Promise<RuleResult> {
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
  // With two walkers on key ranges, a bounded chunk's DELETE ends at its `size`-th row (see deleteUpToBound).
  // Single-column keys only: that form takes no index hint, and the optimizer's choice was checked on such keys alone.
  const countedDeletes = rule.action === 'delete' && choice.kind === 'primary-key' && plan.key.columns.length === 1 && isolation === 'READ COMMITTED';
  const layout = rule.action === 'archive' ? await archiveLayout(db, plan.shape, rule.archiveSchema, rule.archiveTable, choice.index) : undefined;
  const job: ChunkJob = { rule, plan, opts, walker, locks, ...(layout ? { layout } : {}) };
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
      if (single) cursor.rewind();
      const budget = opts.rowBudget;
      let reserved = 0;
      let claim: Awaited<ReturnType<WalkCursor['take']>>;
      try {
        claim = await cursor.take(async (after) => {
          // Reserved here, where chunks are taken one at a time: two lanes never both take the budget's last rows.
          const wanted = budget ? budget.reserve(sizer.next) : sizer.next;
          if (wanted === 0) throw BUDGET_SPENT;
          reserved = budget ? wanted : 0;
          const next = await locks.during(session, readingTable(rule), () => prefetch.next(after, wanted, session, Math.min(sizer.maxRows, wanted)));
          // The next chunk's size is not known before this one's time is: guess a little under the sizer's forecast.
          if (next.upTo) prefetch.start(next.upTo, Math.max(sizer.minRows, Math.round(sizer.forecast() * 0.9)));
          return next;
        });
      } catch (err) {
        if (err !== BUDGET_SPENT) {
          budget?.settle(reserved, 0);
          throw err;
        }
        result.status = 'stopped-at-deadline';
        result.message = `purge.maxRowsPerRun (${budget!.limit.toLocaleString('en')} rows) reached; the next invocation goes on`;
        state.stopped = true;
        return;
      }
      if (!claim) {
        budget?.settle(reserved, 0);
        return;
      }
      const { upTo, size, no: chunkNo } = claim;
      const where = walker.chunkWhere({ ...(claim.after ? { after: claim.after } : {}), ...(upTo ? { upTo } : {}) });
      let outcome: ChunkOutcome;
      try {
        outcome = await runChunk(job, session, { claim, where, bounded: countedDeletes && !single && upTo !== undefined, started: chunkStart });
      } catch (err) {
        cursor.settle(claim, 'failed');
        budget?.settle(reserved, 0);
        throw err;
      }
      cursor.settle(claim, outcome.committed ? 'committed' : 'failed');
      budget?.settle(reserved, outcome.committed ? outcome.moved : 0);
      if (!outcome.committed) {
        const blocker = diagnosisOf(outcome.error);
        if (outcome.retryable && state.retries < MAX_CHUNK_RETRIES) {
          state.retries++;
          result.retries++;
          sizer.shrink();
          // Two lanes: both stop, and the walk goes on on one session from this chunk's lower bound.
          if (!single) state.collapse = true;
          log.warn('chunk rolled back; retrying smaller', { table: name, chunk: chunkNo, errno: outcome.errno, reason: sqlMessage(outcome.error), nextChunkRows: sizer.next, ...(blocker ? { blocker } : {}) });
          continue;
        }
        result.status = 'failed';
        if (blocker) result.blocker = blocker;
        result.message = outcome.message;
        state.stopped = true;
        return;
      }
      const moved = outcome.moved;
      if (outcome.childRows) addChildRows(result.childRows!, outcome.childRows);
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
