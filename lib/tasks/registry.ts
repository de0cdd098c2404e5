// Every catalogue task's module by id, and running a task by id: for the local runner and tests (a Lambda bundle imports only its own module).
import type { TaskId } from '../catalogue';
import { analyzeTables } from './modules/analyze-tables';
import { archiveOrders } from './modules/archive-orders';
import { cleanupData } from './modules/cleanup-data';
import { collectStatistics } from './modules/collect-statistics';
import { dailyReport } from './modules/daily-report';
import { optimizeTables } from './modules/optimize-tables';
import { preflight } from './modules/preflight';
import { rebuildIndexes } from './modules/rebuild-indexes';
import { recommendations } from './modules/recommendations';
import { weeklyReport } from './modules/weekly-report';
import { runTaskWith } from './run-task';
import { anyTask, type BaseEvent, type TaskEnvironment, type TaskModule, type TaskRunResult } from './task-module';

// Keyed by the catalogue's ids: adding a task to the catalogue without a module fails to compile.
export const TASK_MODULES: { readonly [K in TaskId]: TaskModule<BaseEvent, unknown> } = {
  preflight: anyTask(preflight),
  'analyze-tables': anyTask(analyzeTables),
  'cleanup-data': anyTask(cleanupData),
  'archive-orders': anyTask(archiveOrders),
  'collect-statistics': anyTask(collectStatistics),
  'optimize-tables': anyTask(optimizeTables),
  'rebuild-indexes': anyTask(rebuildIndexes),
  recommendations: anyTask(recommendations),
  'daily-report': anyTask(dailyReport),
  'weekly-report': anyTask(weeklyReport),
};

export function runTask(taskId: TaskId, rawEvent: unknown, env: TaskEnvironment): Promise<TaskRunResult> {
  return runTaskWith(TASK_MODULES[taskId], rawEvent, env);
}
