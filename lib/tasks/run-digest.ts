// A task run as the task-run table stores it: the run's facts and its module's digest of the result.
import type { TaskRunDigest } from '../reporting/report-data';
import type { BaseEvent, TaskModule, TaskRunResult } from './task-module';

export function runDigest(run: TaskRunResult, task: TaskModule<BaseEvent, unknown>, routineExecution?: string): TaskRunDigest {
  return {
    task: run.task,
    target: run.target,
    runId: run.runId,
    status: run.status,
    dryRun: run.dryRun,
    startedAt: run.startedAt,
    durationSeconds: run.durationSeconds,
    ...(run.error ? { error: run.error } : {}),
    ...(routineExecution ? { routineExecution } : {}),
    ...body(run, task),
  };
}

function body(run: TaskRunResult, task: TaskModule<BaseEvent, unknown>) {
  // A run that failed before its task returned has no result: its status is its headline. A skipped or deferred run's
  // result is only its reason.
  if (run.result === undefined) return { headline: run.status, rows: [] };
  if (run.status === 'skipped' || run.status === 'deferred') return { headline: (run.result as { headline: string }).headline, rows: [] };
  return task.digest(run.result);
}
