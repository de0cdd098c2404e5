// Any task run's stored digest, by its task id: for the local runner and tests (a task function uses its own module).
import { TASK_MODULES } from '../tasks/registry';
import { runDigest } from '../tasks/run-digest';
import type { TaskRunResult } from '../tasks/task-module';
import type { TaskRunDigest } from './report-data';

export function digestOf(run: TaskRunResult, routineExecution?: string): TaskRunDigest {
  return runDigest(run, TASK_MODULES[run.task], routineExecution);
}
