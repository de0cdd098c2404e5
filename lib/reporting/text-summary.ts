// Plain-text rendering of a task run for the local runner and the demo: a header, then the task module's own summary.
import { TASK_MODULES } from '../tasks/registry';
import type { TaskRunResult } from '../tasks/task-module';

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
  let body = run.result !== undefined ? TASK_MODULES[run.task].summary(run.result) : '';
  const omitted = Object.entries(run.omitted ?? {});
  if (omitted.length > 0) {
    const where = run.runLogTable ? `the run log ${run.runLogTable} (run id ${run.runId ?? '-'}) and the structured log` : 'the structured log';
    body += `\n\nNot in this result (the most important items are kept): ${omitted.map(([k, n]) => `${k} ${n.toLocaleString('en')} more`).join(', ')}; the detail is in ${where}.`;
  }
  const notes = run.notes?.length ? `\n\nRun log (what this run could not record or read):\n${run.notes.map((n) => `  ${n}`).join('\n')}` : '';
  return `${head}\n\n${body}`.trimEnd() + notes;
}
