// Plain-text rendering of task results for the local runner and the demo (the SES reports build on the same data).
import type { AnalyzeResult } from '../maintenance/analyze';
import type { RetentionResult } from '../tasks/retention-runner';
import type { TaskRunResult } from '../tasks/run-task';
import type { CollectResult } from '../stats/collect';
import type { RebuildResult } from '../maintenance/rebuild';
import { preflightSummary, rebuildSummary, recommendationsSummary, statisticsSummary } from './maintenance-summary';
import type { PreflightResult } from '../maintenance/preflight';
import type { RecommendationsResult } from '../recommend/types';
import { textTable } from './text-table';
import { childRowsText } from './child-rows';

function analyzeSummary(r: AnalyzeResult): string {
  const rows = r.tables.map((t) => [
    `${t.schema}.${t.table}`,
    t.engine ?? '-',
    t.statsUpdatedAt ? t.statsUpdatedAt.replace('T', ' ').slice(0, 19) : 'never',
    t.statsAgeDays === null ? '-' : t.statsAgeDays.toFixed(1),
    t.modifiedPercent === null ? '-' : `${t.modifiedPercent}%`,
    t.action,
    t.reason ?? '',
    t.durationMs === undefined ? '' : `${t.durationMs} ms`,
    t.detail ?? '',
  ]);
  const counts = Object.entries(r.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const parts = [
    `Statistics older than ${r.staleBefore.replace('T', ' ').slice(0, 19)} UTC are stale.`,
    textTable(['table', 'engine', 'stats updated (UTC)', 'age d', 'changed', 'action', 'reason', 'took', 'detail'], rows),
    `Tables: ${counts || 'none'}${r.viewsIgnored ? ` (${r.viewsIgnored} view(s) ignored)` : ''}`,
  ];
  if (!r.modificationCounters) parts.push('Modification counters not readable (PROCESS privilege): tables chosen by statistics age only.');
  if (r.stoppedAtDeadline) parts.push(`Stopped at the time budget; left for the next run: ${r.remaining.join(', ')}`);
  return parts.join('\n');
}

function retentionSummary(r: RetentionResult): string {
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

export function renderTaskSummary(run: TaskRunResult): string {
  const head = [
    `Task      ${run.task}${run.dryRun ? '  (dry run: nothing changed)' : ''}`,
    `Target    ${run.target}${run.server ? `  (${run.server})` : ''}`,
    `Status    ${run.status}`,
    `Duration  ${run.durationSeconds.toFixed(2)} s`,
    ...(run.runId ? [`Run id    ${run.runId}${run.runLogTable && !run.dryRun ? `  (commands logged in ${run.runLogTable})` : ''}`] : []),
  ].join('\n');
  // A skipped or deferred run's result is only its reason: no task-shaped summary to render.
  if (run.status === 'skipped') return `${head}\n\n${run.result ? `Skipped: ${(run.result as { headline: string }).headline}` : ''}`.trimEnd();
  if (run.status === 'deferred') return `${head}\n\n${run.result ? `Deferred: ${(run.result as { headline: string }).headline.replace(/^deferred: /, '')}` : ''}`.trimEnd();
  let body = '';
  if (run.task === 'analyze-tables' && run.result) body = analyzeSummary(run.result as AnalyzeResult);
  if ((run.task === 'cleanup-data' || run.task === 'archive-orders') && run.result) body = retentionSummary(run.result as RetentionResult);
  if ((run.task === 'optimize-tables' || run.task === 'rebuild-indexes') && run.result) body = rebuildSummary(run.result as RebuildResult);
  if (run.task === 'collect-statistics' && run.result) body = statisticsSummary(run.result as CollectResult);
  if (run.task === 'preflight' && run.result) body = preflightSummary(run.result as PreflightResult);
  if (run.task === 'recommendations' && run.result) body = recommendationsSummary(run.result as RecommendationsResult);
  if ((run.task === 'daily-report' || run.task === 'weekly-report') && run.result) {
    const r = run.result as { subject: string; headline: string };
    body = `Subject   ${r.subject}\nDelivery  ${r.headline}`;
  }
  const omitted = Object.entries(run.omitted ?? {});
  if (omitted.length > 0) {
    const where = run.runLogTable ? `the run log ${run.runLogTable} (run id ${run.runId ?? '-'}) and the structured log` : 'the structured log';
    body += `\n\nNot in this result (the most important items are kept): ${omitted.map(([k, n]) => `${k} ${n.toLocaleString('en')} more`).join(', ')}; the detail is in ${where}.`;
  }
  const notes = run.notes?.length ? `\n\nRun log (what this run could not record or read):\n${run.notes.map((n) => `  ${n}`).join('\n')}` : '';
  return `${head}\n\n${body}`.trimEnd() + notes;
}
