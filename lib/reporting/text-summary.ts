// Plain-text rendering of task results for the local runner and the demo (the SES reports build on the same data).
import type { AnalyzeResult } from '../maintenance/analyze';
import type { TaskRunResult } from '../tasks/run-task';

/** Left-aligned text table; every cell is already a string. */
export function textTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function analyzeSummary(r: AnalyzeResult): string {
  const rows = r.tables.map((t) => [
    `${t.schema}.${t.table}`,
    t.engine ?? '-',
    t.statsUpdatedAt ? t.statsUpdatedAt.replace('T', ' ').slice(0, 19) : 'never',
    t.statsAgeDays === null ? '-' : t.statsAgeDays.toFixed(1),
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
    textTable(['table', 'engine', 'stats updated (UTC)', 'age d', 'action', 'reason', 'took', 'detail'], rows),
    `Tables: ${counts || 'none'}${r.viewsIgnored ? ` (${r.viewsIgnored} view(s) ignored)` : ''}`,
  ];
  if (r.stoppedAtDeadline) parts.push(`Stopped at the time budget; left for the next run: ${r.remaining.join(', ')}`);
  return parts.join('\n');
}

export function renderTaskSummary(run: TaskRunResult): string {
  const head = [
    `Task      ${run.task}${run.dryRun ? '  (dry run: nothing changed)' : ''}`,
    `Target    ${run.target}${run.server ? `  (${run.server})` : ''}`,
    `Status    ${run.status}`,
    `Duration  ${run.durationSeconds.toFixed(2)} s`,
    ...(run.runId ? [`Run id    ${run.runId}${run.runLogTable && !run.dryRun ? `  (commands logged in ${run.runLogTable})` : ''}`] : []),
  ].join('\n');
  let body = '';
  if (run.task === 'analyze-tables' && run.result) body = analyzeSummary(run.result as AnalyzeResult);
  return `${head}\n\n${body}`.trimEnd();
}
