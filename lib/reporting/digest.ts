// A task run reduced to the lines a report shows: one headline and a row per table or rule.
import type { AnalyzeResult } from '../maintenance/analyze';
import type { RebuildResult } from '../maintenance/rebuild';
import type { RecommendationsResult } from '../recommend/types';
import type { PreflightResult } from '../maintenance/preflight';
import type { CollectResult } from '../stats/collect';
import type { RetentionResult } from '../tasks/retention-runner';
import type { TaskRunResult } from '../tasks/run-task';
import type { TaskDigestRow, TaskRunDigest } from './report-data';
import type { Recommendation } from '../recommend/types';
import { formatBytes } from './text-table';
import { childRowsText } from './child-rows';

const n = (x: number) => x.toLocaleString('en');

function analyzeDigest(r: AnalyzeResult): { headline: string; rows: TaskDigestRow[] } {
  const rows = r.tables
    .filter((t) => t.action !== 'fresh')
    .map((t) => ({ table: `${t.schema}.${t.table}`, action: t.action, ...(t.durationMs !== undefined ? { durationSeconds: t.durationMs / 1000 } : {}), ...(t.detail || t.reason ? { detail: t.detail ?? t.reason! } : {}) }));
  return { headline: `analyzed ${r.counts.analyzed} table(s), ${r.counts.fresh} fresh${r.counts.failed ? `, ${r.counts.failed} failed` : ''}`, rows };
}

function retentionDigest(r: RetentionResult): { headline: string; rows: TaskDigestRow[] } {
  const remaining = r.rules.reduce((s, x) => s + (x.rowsRemaining ?? 0), 0);
  return {
    headline: `deleted ${n(r.rowsDeleted)} and archived ${n(r.rowsArchived)} rows in ${r.rules.length} rule(s), ${n(remaining)} remaining`,
    rows: r.rules.map((x) => ({
      table: x.table,
      action: `${x.action}: ${x.status}`,
      rows: x.rowsDeleted + x.rowsArchived,
      remaining: x.rowsRemaining,
      durationSeconds: x.durationSeconds,
      ...(x.message || childRowsText(x) ? { detail: [x.message, childRowsText(x)].filter(Boolean).join('; ') } : {}),
    })),
  };
}

function rebuildDigest(r: RebuildResult): { headline: string; rows: TaskDigestRow[] } {
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

function collectDigest(r: CollectResult): { headline: string; rows: TaskDigestRow[] } {
  const g = r.growth.bytes;
  return {
    headline: `${formatBytes(r.database.totalBytes)} in ${r.database.tableCount} tables; growth ${'perDay' in g ? `${formatBytes(Math.round(g.perDay))}/day` : 'not enough history'}`,
    rows: r.topGrowers.map((t) => ({ table: t.table, action: 'growing', afterBytes: t.totalBytes, detail: `${formatBytes(t.bytesPerDay)}/day` })),
  };
}

function preflightDigest(r: PreflightResult): { headline: string; rows: TaskDigestRow[]; recommendations: Recommendation[]; blockedTasks: readonly string[] } {
  const missing = r.capabilities.filter((c) => c.status === 'missing').map((c) => c.capability);
  const degraded = r.capabilities.filter((c) => c.status === 'degraded').map((c) => c.capability);
  const parts = [...(missing.length ? [`missing: ${missing.join(', ')}`] : []), ...(degraded.length ? [`degraded: ${degraded.join(', ')}`] : [])];
  return {
    headline: parts.length ? `${parts.join('; ')}; blocked: ${r.blockedTasks.join(', ') || 'none'}` : `all capabilities present for ${r.user}`,
    rows: r.capabilities.map((c) => ({ table: c.capability, action: c.status, ...(c.missing.length || c.notes.length ? { detail: [...c.missing, ...c.notes].join('; ') } : {}) })),
    recommendations: preflightRecommendations(r),
    blockedTasks: r.blockedTasks,
  };
}

/** Each missing capability as a high-priority recommendation with the GRANT (or index) that fixes it. */
export function preflightRecommendations(r: PreflightResult): Recommendation[] {
  return r.capabilities
    .filter((c) => !c.ok)
    .map((c) => ({
      code: `PREFLIGHT_${c.capability.toUpperCase().replace(/-/g, '_')}`,
      priority: 'high' as const,
      object: 'server',
      message:
        c.status === 'degraded'
          ? `every task runs, degraded (${c.capability}): ${c.missing.join('; ')}`
          : `${c.tasks.join(', ') || c.capability} cannot work as configured: ${c.missing.join('; ')}`,
      evidence: { user: r.user, missing: c.missing.length },
      ...(c.fix.length ? { fix: c.fix.join('\n') } : {}),
    }));
}

/** Reports show the top recommendations from the latest run; 100 keeps the stored digest small. */
const KEPT_RECOMMENDATIONS = 100;

function recommendationsDigest(r: RecommendationsResult): { headline: string; rows: TaskDigestRow[]; recommendations: RecommendationsResult['items'] } {
  return {
    headline: `${r.counts.high} high, ${r.counts.medium} medium, ${r.counts.low} low recommendations`,
    rows: r.items.filter((i) => i.priority === 'high').map((i) => ({ table: i.object, action: i.code, detail: i.message })),
    recommendations: r.items.slice(0, KEPT_RECOMMENDATIONS),
  };
}

export function digestOf(run: TaskRunResult, routineExecution?: string): TaskRunDigest {
  const base = {
    task: run.task,
    target: run.target,
    runId: run.runId,
    status: run.status,
    dryRun: run.dryRun,
    startedAt: run.startedAt,
    durationSeconds: run.durationSeconds,
    ...(run.error ? { error: run.error } : {}),
    ...(routineExecution ? { routineExecution } : {}),
  };
  const r = run.result;
  let body: { headline: string; rows: TaskDigestRow[]; recommendations?: RecommendationsResult['items']; blockedTasks?: readonly string[] } = { headline: run.status, rows: [] };
  if (r !== undefined) {
    if (run.task === 'analyze-tables') body = analyzeDigest(r as AnalyzeResult);
    else if (run.task === 'cleanup-data' || run.task === 'archive-orders') body = retentionDigest(r as RetentionResult);
    else if (run.task === 'optimize-tables' || run.task === 'rebuild-indexes') body = rebuildDigest(r as RebuildResult);
    else if (run.task === 'collect-statistics') body = collectDigest(r as CollectResult);
    else if (run.task === 'recommendations') body = recommendationsDigest(r as RecommendationsResult);
    else if (run.task === 'preflight') body = preflightDigest(r as PreflightResult);
    else if (typeof (r as { headline?: unknown }).headline === 'string') body = { headline: (r as { headline: string }).headline, rows: [] };
  }
  return { ...base, ...body };
}
