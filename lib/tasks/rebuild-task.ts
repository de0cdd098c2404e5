// What optimize-tables and rebuild-indexes share: resolve the tables, rebuild online, report per table (digest and summary).
import { thresholdsFor, type TargetConfig } from '../config/schema';
import type { TableRef } from '../db/identifiers';
import { EventValidationError } from '../events/schema';
import { rebuildTables, type PtOscEngine, type RebuildResult } from '../maintenance/rebuild';
import { ptOscAvailable, ptOscCommand, ptOscServer, runPtOsc } from '../maintenance/pt-osc';
import { optimizeTables, type OptimizeResult } from '../maintenance/optimize';
import { METRIC, point, type MetricName } from '../metrics/names';
import { readTableSizes } from '../stats/sizes';
import { readTargetTables, resolveTableName } from '../config/table-names';
import { assertTablesExist, resolveTableRefs, uniqueTables } from './target';
import { configuredExclusion, refuseExcludedPayloadTable, serverSameName } from './exclusions';
import type { BaseEvent, DigestBody, TaskContext, TaskOutcome, TaskStatus } from './task-module';
import { formatBytes, textTable } from '../reporting/text-table';
import { withLockWatch } from './lock-watch';
import type { WorkLeft } from '../routines/window';

/** What both rebuild tasks accept besides the base fields (their modules' event schemas). */
export interface RebuildEvent extends BaseEvent {
  readonly tables?: readonly string[] | undefined;
  readonly force: boolean;
  readonly engine: RebuildEngine;
}

export const REBUILD_ENGINES = ['alter', 'pt-online-schema-change'] as const;
export type RebuildEngine = (typeof REBUILD_ENGINES)[number];

/**
 * pt-online-schema-change bound to the target's server and credentials, or undefined for the in-place ALTER. Refused where
 * the binary cannot run (a Lambda has no Perl): the long runner's image carries Percona Toolkit (docs/long-runner.md).
 */
async function ptOscEngine(ctx: TaskContext<RebuildEvent>): Promise<PtOscEngine | undefined> {
  if (ctx.event.engine !== 'pt-online-schema-change') return undefined;
  if (!(await ptOscAvailable())) {
    throw new EventValidationError(`event.engine: pt-online-schema-change is not installed where this task runs (a Lambda has no Perl); run it on the long runner, whose image has Percona Toolkit (docs/long-runner.md)`);
  }
  const { creds, at } = await ptOscServer(ctx.credentials, ctx.target);
  return {
    commandText: (schema, table) => ptOscCommand(at(schema, table), ctx.config.optimize, ctx.config.purge),
    run: (schema, table, deadlineMs) => runPtOsc(at(schema, table), creds, ctx.config.optimize, ctx.config.purge, deadlineMs),
  };
}

function statusOf(r: RebuildResult): TaskStatus {
  return r.counts.failed > 0 ? 'failed' : r.stoppedAtDeadline ? 'stopped-at-deadline' : 'succeeded';
}

function outcome<R extends RebuildResult>(result: R, done: { name: MetricName; unit: 'Count' }): TaskOutcome<R> {
  const c = result.counts;
  return {
    result,
    status: statusOf(result),
    metrics: [
      point(done, c.rebuilt),
      point(METRIC.BytesReclaimed, result.bytesReclaimed),
      point(METRIC.TablesSkipped, c.skipped),
      point(METRIC.TablesBusy, result.tables.filter((t) => t.busy).length),
      point(METRIC.TablesDeferred, c.deferred),
      point(METRIC.TablesFailed, c.failed),
    ],
    tableMetrics: result.tables
      .filter((t) => t.action === 'rebuilt')
      .map((t) => ({ table: `${t.schema}.${t.table}`, points: [point(METRIC.BytesReclaimed, t.reclaimedBytes ?? 0), point(METRIC.DurationSeconds, t.durationSeconds ?? 0)] })),
  };
}

export async function runOptimize(ctx: TaskContext<RebuildEvent>): Promise<TaskOutcome<OptimizeResult>> {
  const refs = resolveTableRefs(ctx.target, ctx.event.tables);
  if (refs) await resolveExisting(ctx, refs, 'event.tables');
  const th = thresholdsFor(ctx.config, ctx.target);
  const ptOsc = await ptOscEngine(ctx);
  const result = await withLockWatch(ctx, (lockWatch) =>
    optimizeTables(ctx.db, ctx.runLog, ctx.deadline, ctx.log, {
      schemas: ctx.target.schemas,
      ...(refs ? { tables: refs } : {}),
      excludeTables: resolveTableRefs(ctx.target, ctx.target.excludeTables, 'config.excludeTables') ?? [],
      fragmentationPercent: th.fragmentationPercent,
      minSizeMb: th.optimizeMinSizeMb,
      force: ctx.event.force,
      dryRun: ctx.event.dryRun,
      settings: ctx.config.optimize,
      now: ctx.now,
      lockWatch,
      ...(ptOsc ? { ptOsc } : {}),
    }),
  );
  return outcome(result, METRIC.TablesOptimized);
}

/** The tables to rebuild: the payload's, else the target's `rebuildTables`. */
export function rebuildTableNames(event: RebuildEvent, target: TargetConfig): { refs: TableRef[]; field: string } {
  if (event.tables) return { refs: resolveTableRefs(target, event.tables)!, field: 'event.tables' };
  if (target.rebuildTables.length === 0) {
    throw new EventValidationError(`event.tables: required, because target '${target.name}' configures no rebuildTables`);
  }
  return { refs: resolveTableRefs(target, target.rebuildTables, 'config.rebuildTables')!, field: 'config.rebuildTables' };
}

/**
 * Each named table → the one (schema, table) it means in the target's schemas. Read-only lookups:
 * an unknown or ambiguous name is an input error before any ALTER.
 */
async function resolveExisting(ctx: TaskContext<unknown>, refs: readonly TableRef[], field: string): Promise<{ schema: string; table: string }[]> {
  const existing = await readTargetTables(ctx.db, ctx.target.schemas);
  assertTablesExist(refs, existing, ctx.target, field);
  return refs.map((ref, i) => resolveTableName(ref, ctx.target, existing, `${field}[${i}]`)!);
}

export async function runRebuildIndexes(ctx: TaskContext<RebuildEvent>): Promise<TaskOutcome<RebuildResult>> {
  const { refs, field } = rebuildTableNames(ctx.event, ctx.target);
  const resolved = await resolveExisting(ctx, refs, field);
  // Before any ALTER: excluded tables, compared as this server compares names (lower_case_table_names).
  const same = await serverSameName(ctx.db);
  resolved.forEach((t, i) => {
    if (field === 'event.tables') {
      refuseExcludedPayloadTable(ctx.target, ctx.event, `${field}[${i}]`, t, same);
      return;
    }
    const why = configuredExclusion(ctx.target, t.schema, t.table, same);
    if (why) throw new EventValidationError(`${field}[${i}]: ${why}`);
  });
  const tables = uniqueTables(resolved);
  const sizes = await readTableSizes(ctx.db, { schemas: ctx.target.schemas, only: tables });
  const requests = sizes.map((size) => ({ size, reason: `named in ${field}` }));
  const ptOsc = await ptOscEngine(ctx);
  const result = await withLockWatch(ctx, (lockWatch) =>
    rebuildTables(ctx.db, ctx.runLog, ctx.deadline, ctx.log, requests, {
      settings: ctx.config.optimize,
      dryRun: ctx.event.dryRun,
      skipSharedTablespace: false,
      lockWatch,
      ...(ptOsc ? { ptOsc } : {}),
    }),
  );
  return outcome(result, METRIC.TablesRebuilt);
}

export function rebuildDigest(r: RebuildResult): DigestBody {
  return {
    headline: `rebuilt ${r.counts.rebuilt} table(s), reclaimed ${formatBytes(r.bytesReclaimed)}${r.counts.skipped ? `, ${r.counts.skipped} skipped` : ''}${r.counts.deferred ? `, ${r.counts.deferred} deferred` : ''}`,
    rows: r.tables.map((t) => ({
      table: `${t.schema}.${t.table}`,
      action: t.action,
      beforeBytes: t.before.totalBytes,
      ...(t.after ? { afterBytes: t.after.totalBytes } : {}),
      ...(t.reclaimedBytes !== undefined ? { reclaimedBytes: t.reclaimedBytes } : {}),
      ...(t.durationSeconds !== undefined ? { durationSeconds: t.durationSeconds } : {}),
      ...(t.detail ? { detail: t.detail } : {}),
    })),
  };
}

function pct(n: number | null | undefined): string {
  return n === null || n === undefined ? '-' : `${n}%`;
}

export function rebuildSummary(r: RebuildResult): string {
  const rows = r.tables.map((t) => [
    `${t.schema}.${t.table}`,
    t.action,
    `${formatBytes(t.before.totalBytes)} (${pct(t.before.fragmentationPercent)} free)`,
    t.after ? `${formatBytes(t.after.totalBytes)} (${pct(t.after.fragmentationPercent)} free)` : '',
    t.reclaimedBytes !== undefined ? formatBytes(t.reclaimedBytes) : '',
    t.durationSeconds !== undefined ? `${t.durationSeconds} s` : t.estimatedSeconds !== undefined ? `~${t.estimatedSeconds} s` : '',
    t.detail ?? t.reason,
  ]);
  const counts = Object.entries(r.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const lines = [
    rows.length ? textTable(['table', 'action', 'before', 'after', 'reclaimed', 'took', 'why'], rows) : 'No table crossed the thresholds.',
    `Tables: ${counts || 'none'}; reclaimed ${formatBytes(r.bytesReclaimed)}`,
    `Rebuild rate for estimates: ${formatBytes(r.rate.bytesPerSecond)}/s (${r.rate.source === 'measured' ? `measured over ${r.rate.samples} earlier rebuilds` : 'configured default'}); metadata locks visible via ${r.lockVisibility}`,
  ];
  if (r.stoppedAtDeadline) lines.push(`Stopped at the time budget; left for the next run: ${r.remaining.join(', ')}`);
  return lines.join('\n');
}

/** Time a rebuild must have beside its estimate (lib/maintenance/rebuild.ts keeps as much free). */
const REBUILD_SAFETY_SECONDS = 20;

/**
 * What a stopped rebuild run leaves: the deferred tables. One more invocation helps only when the first of them fits a
 * whole invocation's budget; a larger table is for the long runner or a by-hand rebuild (docs/long-runner.md).
 */
export function rebuildLeft(r: RebuildResult, budgetSeconds: number): WorkLeft | undefined {
  const deferred = r.tables.filter((t) => t.action === 'deferred');
  if (deferred.length === 0) return undefined;
  const text = `${deferred.length} table(s) deferred: ${deferred.slice(0, 5).map((t) => `${t.schema}.${t.table}${t.estimatedSeconds !== undefined ? ` (~${t.estimatedSeconds} s)` : ''}`).join(', ')}${deferred.length > 5 ? ', …' : ''}`;
  const first = deferred[0]!;
  const fits = first.estimatedSeconds === undefined || first.estimatedSeconds + REBUILD_SAFETY_SECONDS <= budgetSeconds;
  if (fits) return { text, again: true };
  // The long runner takes every deferred table from the first too large on: behind it, the Lambda would never reach them.
  const tooLarge = deferred.map((t) => `${t.schema}.${t.table}`);
  return { text, again: false, why: `${first.schema}.${first.table} is estimated at ${first.estimatedSeconds} s, more than one invocation (${budgetSeconds} s)`, tooLarge };
}
