// A routine in-process (the local runner): the catalogue's steps in order, each isolated, the last one told every outcome.
import type { RoutineDefinition, TaskId } from '../catalogue';
import type { StepOutcome } from '../events/schema';
import type { Log } from '../runtime/log';
import type { TaskRunResult } from '../tasks/task-module';

export interface RoutineStepResult extends StepOutcome {
  /** The step's full result when it returned one (not when it threw). */
  readonly run?: TaskRunResult;
}

export interface RoutineResult {
  readonly routine: string;
  readonly target: string;
  readonly execution: string;
  readonly steps: readonly RoutineStepResult[];
  /** Failed when any step failed; the steps after it still ran. */
  readonly status: 'succeeded' | 'failed';
}

/** The event of one step: the same shape the Step Functions state machine builds. */
function stepEvent(routine: RoutineDefinition, index: number, target: string, execution: string, steps: readonly StepOutcome[], dryRun: boolean): Record<string, unknown> {
  const step = routine.steps[index]!;
  const last = index === routine.steps.length - 1;
  return {
    source: 'dbmaint.routine',
    task: step.task,
    routine: { id: routine.id, execution },
    target,
    maxRunSeconds: step.budgetSeconds,
    ...(dryRun ? { dryRun: true } : {}),
    ...(last ? { steps } : {}),
  };
}

function outcomeOf(task: TaskId, run: TaskRunResult): StepOutcome {
  return { task, status: run.status, runId: run.runId, durationSeconds: run.durationSeconds, ...(run.error ? { error: run.error } : {}) };
}

export async function runRoutine(
  routine: RoutineDefinition,
  target: string,
  invoke: (task: TaskId, event: Record<string, unknown>) => Promise<TaskRunResult>,
  log: Log,
  opts: { readonly dryRun?: boolean; readonly execution?: string } = {},
): Promise<RoutineResult> {
  const execution = opts.execution ?? `local-${new Date().toISOString()}`;
  const steps: RoutineStepResult[] = [];
  for (let i = 0; i < routine.steps.length; i++) {
    const { task } = routine.steps[i]!;
    const event = stepEvent(routine, i, target, execution, steps.map(({ run: _run, ...o }) => o), opts.dryRun ?? false);
    log.info('routine step started', { routine: routine.id, step: i + 1, task, target });
    try {
      const run = await invoke(task, event);
      steps.push({ ...outcomeOf(task, run), run });
    } catch (err) {
      // One failing step never stops the others (the state machine's Catch does the same).
      const attached = (err as { taskResult?: TaskRunResult }).taskResult;
      steps.push({ task, status: 'failed', runId: attached?.runId ?? null, error: (err as Error).message });
      log.error('routine step failed', { routine: routine.id, task, target, error: (err as Error).message });
    }
  }
  return { routine: routine.id, target, execution, steps, status: steps.some((s) => s.status === 'failed') ? 'failed' : 'succeeded' };
}
