// What cleanup-data and archive-orders share: retention rules run one after another within the run's time budget, their digest and summary.
import { openTargetSession, type DbSession } from '../db/connection';
import { METRIC, point, type MetricPoint } from '../metrics/names';
import { initialRuleResult, runRule, type RetentionRule, type RuleResult } from '../retention/engine';
import { auroraLagProbe, replicaLagProbe, Throttle, threadsRunningProbe, type LoadProbe } from '../retention/throttle';
import type { DigestBody, TaskContext, TaskOutcome, TaskStatus } from './task-module';
import { childRowsText } from '../reporting/child-rows';
import { textTable } from '../reporting/text-table';
import { TaskRuns } from '../runlog/task-runs';
import { LockWatch } from '../db/lock-diagnostics';
import { RowBudget } from '../retention/row-budget';
import type { PartitionAction } from '../retention/rule-result';
import type { WorkLeft } from '../routines/window';
import { retentionRefusals, serverSameName } from './exclusions';

export interface RetentionResult {
  readonly rules: readonly RuleResult[];
  readonly rowsDeleted: number;
  readonly rowsArchived: number;
  readonly throttledSeconds: number;
  /** Tables whose remaining rows did not shrink since the previous run of this task (the purge is not keeping up). */
  readonly fallingBehind?: readonly string[];
}

/**
 * Rules that still leave rows behind and left at least as many as the previous recorded run of the
 * same task: the input grows as fast as the purge removes it (or faster). The alarm wants several
 * such runs in a row before it pages. Undefined when the earlier runs cannot be read: not known is not "none".
 */
async function fallingBehind<E>(ctx: TaskContext<E>, results: readonly RuleResult[]): Promise<string[] | undefined> {
  let unreadable = false;
  const runs = new TaskRuns(ctx.db, ctx.config.runLog.schema, ctx.log, (p) => {
    unreadable = true;
    ctx.runLog.note(p);
  });
  const earlier = await runs.since(ctx.target.name, new Date(ctx.now.getTime() - 8 * 86_400_000), [ctx.runLog.context.task], 'no earlier run to compare with: tables falling behind are not detected');
  if (unreadable) return undefined;
  const previous = earlier
    .filter((r) => !r.dryRun && r.runId !== ctx.runLog.runId)
    .pop();
  if (!previous) return [];
  const before = new Map(previous.rows.map((row) => [row.table, row.remaining ?? null]));
  return results
    .filter((r) => {
      const prev = before.get(r.table);
      return r.rowsRemaining !== null && r.rowsRemaining > 0 && prev !== undefined && prev !== null && r.rowsRemaining >= prev;
    })
    .map((r) => r.table);
}

const DONE: ReadonlySet<RuleResult['status']> = new Set(['completed', 'dry-run', 'already-running']);

/** What the runner reads of the event: cleanup-data's payload, or archive-orders' (no tables, no force). */
interface RetentionEvent {
  readonly dryRun: boolean;
  readonly source?: string | undefined;
  readonly routine?: { readonly startedAt?: string | undefined } | undefined;
  readonly force?: boolean | undefined;
  readonly tables?: readonly string[] | undefined;
}

export async function runRetention<E extends RetentionEvent>(
  ctx: TaskContext<E>,
  rules: readonly RetentionRule[],
  faults?: Parameters<typeof runRule>[2]['faults'],
): Promise<TaskOutcome<RetentionResult>> {
  const settings = ctx.config.purge;
  const deadline = ctx.deadline.capped(settings.maxRunSeconds);
  const budget = settings.maxRowsPerRun !== undefined && !ctx.event.dryRun ? new RowBudget(settings.maxRowsPerRun) : undefined;
  // In a routine the cutoff is fixed at the window's start: a later invocation never removes rows that aged during the window.
  const windowStart = ctx.event.routine?.startedAt ? new Date(ctx.event.routine.startedAt) : undefined;
  const cutoffNow = windowStart && windowStart.getTime() < ctx.now.getTime() ? windowStart : ctx.now;
  const replicas: { name: string; session: DbSession }[] = [];
  let reader: DbSession | undefined;
  let second: DbSession | undefined;
  // Opens its session only once a chunk statement has run a quarter second (it may be waiting for a lock).
  const lockWatch = new LockWatch(() => openTargetSession(ctx.credentials, ctx.target.secretArn, ctx.config.session, ctx.target.tls), ctx.log);
  try {
    // Before any session or lock: an excluded table (or a second rule on one table) is refused, in dry runs too.
    const refusals = retentionRefusals(ctx.target, ctx.event, rules, await serverSameName(ctx.db));
    const probes: LoadProbe[] = [threadsRunningProbe(ctx.db, settings.maxThreadsRunning)];
    if (ctx.db.flavour.kind === 'aurora-mysql') probes.push(auroraLagProbe(ctx.db, settings.maxReplicaLagSeconds));
    if (!ctx.event.dryRun) {
      for (const arn of ctx.target.replicaSecretArns) {
        replicas.push({ name: arn.split(':').pop() ?? arn, session: await openTargetSession(ctx.credentials, arn, ctx.config.session, ctx.target.tls) });
      }
      if (replicas.length > 0) probes.push(replicaLagProbe(replicas, settings.maxReplicaLagSeconds));
    }
    const throttle = new Throttle(probes, ctx.log);
    if (!ctx.event.dryRun && settings.prefetchBoundaries && rules.length > 0) {
      // The walk reads its next chunk's boundary on this session while a chunk runs; it is an optimisation only.
      reader = await openTargetSession(ctx.credentials, ctx.target.secretArn, ctx.config.session, ctx.target.tls).catch((err: unknown) => {
        ctx.log.warn('no second session for boundary reads; reading them between chunks', { error: err instanceof Error ? err.message : String(err) });
        return undefined;
      });
    }
    if (!ctx.event.dryRun && settings.idleWalkers > 1 && rules.length > 0) {
      // While the server is idle this session runs every other chunk; also an optimisation only.
      second = await openTargetSession(ctx.credentials, ctx.target.secretArn, ctx.config.session, ctx.target.tls).catch((err: unknown) => {
        ctx.log.warn('no session for a second walker; chunks run one at a time', { error: err instanceof Error ? err.message : String(err) });
        return undefined;
      });
    }

    const results: RuleResult[] = [];
    for (const rule of rules) {
      const refusal = refusals.get(rule);
      if (refusal) {
        results.push({ ...initialRuleResult(rule, cutoffNow, 'refused'), message: refusal });
        ctx.log.error('retention rule refused', { table: `${rule.schema}.${rule.table}`, reason: refusal });
        continue;
      }
      if (results.some((r) => r.status === 'stopped-at-deadline') || deadline.isNear(5_000) || budget?.spent) {
        const why = budget?.spent ? `purge.maxRowsPerRun (${budget.limit.toLocaleString('en')} rows) reached before this rule` : 'time budget exhausted before this rule';
        results.push({ ...initialRuleResult(rule, cutoffNow, 'not-started'), message: `${why}; the next run starts it` });
        continue;
      }
      const r = await runRule(ctx.db, rule, {
        dryRun: ctx.event.dryRun,
        now: cutoffNow,
        ...(budget ? { rowBudget: budget } : {}),
        settings,
        deadline,
        throttle,
        log: ctx.log,
        runLog: ctx.runLog,
        lockWatch,
        ...(reader ? { reader } : {}),
        ...(second ? { second } : {}),
        ...(faults ? { faults } : {}),
      });
      results.push(r);
    }

    const behind = ctx.event.dryRun ? [] : await fallingBehind(ctx, results);
    const failed = results.filter((r) => r.status === 'failed' || r.status === 'refused').length;
    const unfinished = results.some((r) => !DONE.has(r.status) && r.status !== 'failed' && r.status !== 'refused');
    const status: TaskStatus = failed > 0 ? 'failed' : unfinished ? 'stopped-at-deadline' : 'succeeded';
    const sum = (f: (r: RuleResult) => number) => results.reduce((a, r) => a + f(r), 0);
    // Only rules with `cascade` carry child counts (a metric per child table would multiply billed metrics): totals per rule and per run.
    const childSum = (r: RuleResult, action: 'deleted' | 'set-null') => (r.childRows ?? []).filter((c) => c.action === action).reduce((a, c) => a + c.rows, 0);
    const childPoints = (rs: readonly RuleResult[]) =>
      rs.some((r) => r.childRows)
        ? [point(METRIC.ChildRowsDeleted, rs.reduce((a, r) => a + childSum(r, 'deleted'), 0)), point(METRIC.ChildRowsSetNull, rs.reduce((a, r) => a + childSum(r, 'set-null'), 0))]
        : [];
    const tableMetrics = ctx.event.dryRun
      ? results.map((r) => ({ table: r.table, points: [point(METRIC.RowsRemaining, r.rowsRemaining ?? 0)] }))
      : results.map((r) => ({
          table: r.table,
          points: [
            point(METRIC.RowsDeleted, r.rowsDeleted),
            point(METRIC.RowsArchived, r.rowsArchived),
            ...childPoints([r]),
            ...(r.rowsRemaining !== null ? [point(METRIC.RowsRemaining, r.rowsRemaining)] : []),
            ...(r.partitionsAhead !== undefined ? [point(METRIC.PartitionsAhead, r.partitionsAhead)] : []),
            point(METRIC.Chunks, r.chunks),
            point(METRIC.ThrottledSeconds, r.throttledSeconds),
            point(METRIC.DurationSeconds, r.durationSeconds),
          ] satisfies MetricPoint[],
        }));
    return {
      result: {
        rules: results,
        rowsDeleted: sum((r) => r.rowsDeleted),
        rowsArchived: sum((r) => r.rowsArchived),
        throttledSeconds: Math.round(throttle.throttledSeconds * 10) / 10,
        ...(behind?.length ? { fallingBehind: behind } : {}),
      },
      status,
      metrics: [
        point(METRIC.RowsDeleted, sum((r) => r.rowsDeleted)),
        point(METRIC.RowsArchived, sum((r) => r.rowsArchived)),
        ...(ctx.event.dryRun ? [] : childPoints(results)),
        point(METRIC.RulesFailed, failed),
        // The alarm's: the fewest future partitions of any partitioned rule's table (only when some rule asks for them).
        ...(results.some((r) => r.partitionsAhead !== undefined) ? [point(METRIC.MinPartitionsAhead, Math.min(...results.flatMap((r) => (r.partitionsAhead !== undefined ? [r.partitionsAhead] : []))))] : []),
        // No zero an alarm would read as "keeping up" when the earlier runs could not be read.
        ...(ctx.event.dryRun || behind === undefined ? [] : [point(METRIC.TablesFallingBehind, behind.length)]),
        point(METRIC.ThrottledSeconds, Math.round(throttle.throttledSeconds * 10) / 10),
      ],
      tableMetrics,
    };
  } finally {
    await reader?.close();
    await second?.close();
    await lockWatch.close();
    for (const r of replicas) await r.session.close();
  }
}

export function retentionDigest(r: RetentionResult): DigestBody {
  const n = (x: number) => x.toLocaleString('en');
  const remaining = r.rules.reduce((s, x) => s + (x.rowsRemaining ?? 0), 0);
  return {
    headline: `deleted ${n(r.rowsDeleted)} and archived ${n(r.rowsArchived)} rows in ${r.rules.length} rule(s), ${n(remaining)} remaining`,
    rows: r.rules.map((x) => ({
      table: x.table,
      action: `${x.action}: ${x.status}`,
      rows: x.rowsDeleted + x.rowsArchived,
      remaining: x.rowsRemaining,
      durationSeconds: x.durationSeconds,
      ...(x.message || childRowsText(x) || x.partitions?.length
        ? { detail: [x.partitions?.length ? partitionsText(x.partitions) : undefined, x.message, childRowsText(x)].filter(Boolean).join('; ') }
        : {}),
    })),
  };
}

export function retentionSummary(r: RetentionResult): string {
  const n = (x: number | null | undefined, estimated?: boolean) => (x === null || x === undefined ? '-' : `${estimated ? '≥' : ''}${x.toLocaleString('en')}`);
  const rows = r.rules.map((x) => [
    x.table,
    x.action,
    // The value bound against the date column where it is not the instant (a DATE's day, an integer in its unit).
    `${x.cutoff.replace('T', ' ').slice(0, 19)}${x.cutoffValue !== undefined ? ` (< ${x.cutoffValue})` : ''}`,
    x.status,
    x.status === 'dry-run' ? `would ${x.action === 'delete' ? 'delete' : 'archive'} ${n(x.wouldRemove, x.wouldRemoveEstimated)}` : n(x.rowsDeleted + x.rowsArchived),
    n(x.rowsRemaining, x.rowsRemainingEstimated),
    x.walk ? `${x.walk} (${x.index})` : '-',
    String(x.chunks),
    x.throttledSeconds ? `${x.throttledSeconds} s` : '',
    `${x.durationSeconds.toFixed(2)} s`,
  ]);
  const notes = r.rules.flatMap((x) => [
    ...(x.partitions?.length ? [`${x.table}: ${partitionsText(x.partitions)}`] : []),
    ...(x.partitionPath ? [`${x.table}: partitions left to the row engine (${x.partitionPath})`] : []),
    ...(x.partitionsAhead !== undefined ? [`${x.table}: ${x.partitionsAhead} future partition(s)${x.runwayProblem ? `; none created: ${x.runwayProblem}` : ''}`] : []),
    ...(x.walkReason ? [`${x.table}: ${x.walkReason}`] : []),
    ...(x.chunkSizing ? [`${x.table}: ${x.chunkSizing.reason}`] : []),
    ...(x.message ? [x.message.startsWith(x.table) ? x.message : `${x.table}: ${x.message}`] : []),
    ...(childRowsText(x) ? [`${x.table}: ${childRowsText(x)}`] : []),
    ...(x.childTables.length ? [`${x.table}: referenced by ${x.childTables.map((c) => `${c.schema}.${c.table} (ON DELETE ${c.deleteRule})`).join(', ')}`] : []),
  ]);
  return [
    textTable(['table', 'action', 'cutoff (UTC)', 'status', 'rows', 'remaining', 'walk', 'chunks', 'throttled', 'took'], rows),
    `Rows deleted ${r.rowsDeleted.toLocaleString('en')}, archived ${r.rowsArchived.toLocaleString('en')}${r.throttledSeconds ? `, throttled ${r.throttledSeconds} s` : ''}`,
    ...notes,
  ].join('\n');
}

/** What a stopped cleanup or archive run leaves: the rows still older than the cutoff (at least, where estimated). */
export function retentionLeft(r: RetentionResult): WorkLeft {
  const open = r.rules.filter((x) => x.status === 'stopped-at-deadline' || x.status === 'not-started');
  const known = open.filter((x) => x.rowsRemaining !== null);
  const rows = known.reduce((s, x) => s + (x.rowsRemaining ?? 0), 0);
  const unknown = open.length - known.length;
  const text = `${rows.toLocaleString('en')} rows in ${known.length} rule(s)${unknown ? `, ${unknown} rule(s) not counted` : ''}`;
  // A run that moved nothing and left no rule unstarted would move nothing next time either (throttled, or locked out).
  const progress = r.rowsDeleted + r.rowsArchived > 0 || open.some((x) => x.status === 'not-started');
  return progress ? { text, again: open.length > 0 } : { text, again: false, why: 'this invocation moved no row (throttled or blocked the whole time)' };
}

/** `dropped partitions p20261101 (41,200 rows), p20261102 (40,987 rows)`; a dry run's `would drop … (~rows)`; a skipped one with its reason. */
function partitionsText(parts: readonly PartitionAction[]): string {
  const n = (x: number) => x.toLocaleString('en');
  const dropped = parts.filter((p) => p.action === 'dropped');
  const created = parts.filter((p) => p.action === 'created' || p.action === 'would-create');
  const exchanged = parts.filter((p) => p.action === 'exchanged' || p.action === 'would-exchange');
  const would = parts.filter((p) => p.action === 'would-drop');
  const skipped = parts.filter((p) => p.action === 'skipped');
  return [
    created.length ? `${created[0]!.action === 'created' ? 'created' : 'would create'} partitions ${created.map((p) => p.partition).join(', ')}` : '',
    exchanged.length ? `${exchanged[0]!.action === 'exchanged' ? 'archived partitions' : 'would archive partitions'} ${exchanged.map((p) => `${p.partition} (${p.action === 'exchanged' ? '' : '~'}${n(p.rows)} rows)`).join(', ')}` : '',
    dropped.length ? `dropped partitions ${dropped.map((p) => `${p.partition} (${p.rowsEstimated ? '~' : ''}${n(p.rows)} rows)`).join(', ')}` : '',
    would.length ? `would drop partitions ${would.map((p) => `${p.partition} (~${n(p.rows)} rows)`).join(', ')}` : '',
    skipped.length ? `partition ${skipped.map((p) => `${p.partition} not dropped: ${p.reason}`).join('; ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
}
