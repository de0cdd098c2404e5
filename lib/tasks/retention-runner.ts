// cleanup-data and archive-orders: run retention rules one after another within the run's time budget.
import { openTargetSession, type DbSession } from '../db/connection';
import { METRIC, point, type MetricPoint } from '../metrics/names';
import { initialRuleResult, runRule, type RetentionRule, type RuleResult } from '../retention/engine';
import { auroraLagProbe, replicaLagProbe, Throttle, threadsRunningProbe, type LoadProbe } from '../retention/throttle';
import type { TaskContext, TaskOutcome, TaskStatus } from './run-task';
import { TaskRuns } from '../runlog/task-runs';

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
 * such runs in a row before it pages.
 */
async function fallingBehind<E>(ctx: TaskContext<E>, results: readonly RuleResult[]): Promise<string[]> {
  const previous = (await new TaskRuns(ctx.db, ctx.config.runLog.schema, ctx.log).since(ctx.target.name, new Date(ctx.now.getTime() - 8 * 86_400_000), [ctx.runLog.context.task]))
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

export async function runRetention<E extends { dryRun: boolean }>(
  ctx: TaskContext<E>,
  rules: readonly RetentionRule[],
  faults?: Parameters<typeof runRule>[2]['faults'],
): Promise<TaskOutcome<RetentionResult>> {
  const settings = ctx.config.purge;
  const deadline = ctx.deadline.capped(settings.maxRunSeconds);
  const replicas: { name: string; session: DbSession }[] = [];
  let reader: DbSession | undefined;
  let second: DbSession | undefined;
  try {
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
      if (results.some((r) => r.status === 'stopped-at-deadline') || deadline.isNear(5_000)) {
        results.push({ ...initialRuleResult(rule, ctx.now, 'not-started'), message: 'time budget exhausted before this rule; the next run starts it' });
        continue;
      }
      const r = await runRule(ctx.db, rule, {
        dryRun: ctx.event.dryRun,
        now: ctx.now,
        settings,
        deadline,
        throttle,
        log: ctx.log,
        runLog: ctx.runLog,
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
        ...(behind.length ? { fallingBehind: behind } : {}),
      },
      status,
      metrics: [
        point(METRIC.RowsDeleted, sum((r) => r.rowsDeleted)),
        point(METRIC.RowsArchived, sum((r) => r.rowsArchived)),
        ...(ctx.event.dryRun ? [] : childPoints(results)),
        point(METRIC.RulesFailed, failed),
        ...(ctx.event.dryRun ? [] : [point(METRIC.TablesFallingBehind, behind.length)]),
        point(METRIC.ThrottledSeconds, Math.round(throttle.throttledSeconds * 10) / 10),
      ],
      tableMetrics,
    };
  } finally {
    await reader?.close();
    await second?.close();
    for (const r of replicas) await r.session.close();
  }
}
