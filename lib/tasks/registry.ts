// Every catalogue task's runner by id, and running a task by id: for the local runner and tests (a Lambda bundle imports only its own runner).
import type { TaskId } from '../catalogue';
import { analyzeRunner } from './runners/analyze-tables';
import { archiveOrdersRunner } from './runners/archive-orders';
import { cleanupRunner } from './runners/cleanup-data';
import { collectStatisticsRunner } from './runners/collect-statistics';
import { dailyReportRunner } from './runners/daily-report';
import { optimizeRunner } from './runners/optimize-tables';
import { preflightRunner } from './runners/preflight';
import { rebuildIndexesRunner } from './runners/rebuild-indexes';
import { recommendationsRunner } from './runners/recommendations';
import { weeklyReportRunner } from './runners/weekly-report';
import { runTaskWith, type TaskEnvironment, type TaskRunResult } from './run-task';
import { anyRunner, type BaseEvent, type TaskRunner } from './task-runner';

export type { BaseEvent, TaskRunner } from './task-runner';

// Keyed by the catalogue's ids: adding a task to the catalogue without a runner fails to compile.
export const TASK_RUNNERS: { readonly [K in TaskId]: TaskRunner<BaseEvent, unknown> } = {
  preflight: anyRunner(preflightRunner),
  'analyze-tables': anyRunner(analyzeRunner),
  'cleanup-data': anyRunner(cleanupRunner),
  'archive-orders': anyRunner(archiveOrdersRunner),
  'collect-statistics': anyRunner(collectStatisticsRunner),
  'optimize-tables': anyRunner(optimizeRunner),
  'rebuild-indexes': anyRunner(rebuildIndexesRunner),
  recommendations: anyRunner(recommendationsRunner),
  'daily-report': anyRunner(dailyReportRunner),
  'weekly-report': anyRunner(weeklyReportRunner),
};

export function runTask(taskId: TaskId, rawEvent: unknown, env: TaskEnvironment): Promise<TaskRunResult> {
  return runTaskWith(TASK_RUNNERS[taskId], taskId, rawEvent, env);
}
