// The long runner's entry point (ECS Fargate, or a plain process): one rebuild task run with the window's remaining time as its budget.
import { getTask, isTaskId } from '../lib/catalogue';
import { InputError } from '../lib/validation/input-error';
import { Deadline } from '../lib/runtime/deadline';
import { runTaskWith } from '../lib/tasks/run-task';
import { anyTask, type BaseEvent, type TaskModule, type TaskRunResult } from '../lib/tasks/task-module';
import { optimizeTables } from '../lib/tasks/modules/optimize-tables';
import { rebuildIndexes } from '../lib/tasks/modules/rebuild-indexes';
import { dependencies } from './lambda-handler';

/** Kept free at the end of the budget, as in Lambda: closing the session, the run record, the metrics. */
const SAFETY_MS = 30_000;

/** The tasks the long runner runs: the rebuilds, whose one table may outlast a Lambda invocation. */
const LONG_TASKS: Readonly<Record<string, TaskModule<BaseEvent, unknown>>> = {
  'optimize-tables': anyTask(optimizeTables),
  'rebuild-indexes': anyTask(rebuildIndexes),
};

export interface LongRunnerInput {
  /** The task's event, as JSON (DBMAINT_EVENT; the state machine passes it in the container's environment). */
  readonly eventJson: string | undefined;
  /** Seconds this run may take (DBMAINT_BUDGET_SECONDS): what is left of the maintenance window after the later steps. */
  readonly budgetSeconds: string | undefined;
}

function parseInput(input: LongRunnerInput): { task: TaskModule<BaseEvent, unknown>; event: unknown; budgetMs: number } {
  if (!input.eventJson) throw new InputError('DBMAINT_EVENT: required (the task event as JSON)');
  let event: unknown;
  try {
    event = JSON.parse(input.eventJson);
  } catch {
    throw new InputError('DBMAINT_EVENT: not valid JSON');
  }
  const id = (event as { task?: unknown } | null)?.task;
  if (typeof id !== 'string' || !isTaskId(id) || !LONG_TASKS[id]) {
    throw new InputError(`DBMAINT_EVENT.task: must be one of ${Object.keys(LONG_TASKS).join(', ')} (the long runner runs rebuilds)`);
  }
  const seconds = Number(input.budgetSeconds);
  if (!input.budgetSeconds || !Number.isInteger(seconds) || seconds < 60 || seconds > 86_400) {
    throw new InputError('DBMAINT_BUDGET_SECONDS: required, whole seconds between 60 and 86400');
  }
  return { task: LONG_TASKS[id]!, event, budgetMs: seconds * 1000 };
}

/** Runs the task; the result is printed as one JSON line (the run record and the metrics carry it on as for a Lambda). */
export async function runLongTask(input: LongRunnerInput): Promise<TaskRunResult> {
  const { task, event, budgetMs } = parseInput(input);
  const deps = dependencies();
  deps.log.info('long runner started', { task: task.id, budgetSeconds: budgetMs / 1000, title: getTask(task.id).title });
  return runTaskWith(task, event, { ...deps, deadline: Deadline.fromRemaining(budgetMs, SAFETY_MS) });
}

/** Exit codes: 0 the run ended (succeeded, stopped at its budget, skipped or deferred), 1 it failed, 2 the input was invalid. */
async function main(): Promise<number> {
  try {
    const result = await runLongTask({ eventJson: process.env['DBMAINT_EVENT'], budgetSeconds: process.env['DBMAINT_BUDGET_SECONDS'] });
    process.stdout.write(`${JSON.stringify({ longRunnerResult: result })}\n`);
    return result.status === 'failed' ? 1 : 0;
  } catch (err) {
    process.stderr.write(`dbmaint long runner: ${(err as Error).message}\n`);
    return err instanceof InputError ? 2 : 1;
  }
}

if (typeof require !== 'undefined' && require.main === module) void main().then((code) => process.exit(code));
