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
function stepEvent(
  routine: RoutineDefinition,
  index: number,
  target: string,
  window: { readonly execution: string; readonly startedAt: string; readonly invocations: number; readonly secondsSoFar: number },
  steps: readonly StepOutcome[],
  dryRun: boolean,
): Record<string, unknown> {
  const step = routine.steps[index]!;
  const last = index === routine.steps.length - 1;
  return {
    source: 'dbmaint.routine',
    task: step.task,
    routine: { id: routine.id, ...window },
    target,
    maxRunSeconds: step.budgetSeconds,
    ...(dryRun ? { dryRun: true } : {}),
    ...(last ? { steps } : {}),
  };
}

function outcomeOf(task: TaskId, run: TaskRunResult): StepOutcome {
  const w = run.window;
  return {
    task,
    status: run.status,
    runId: run.runId,
    durationSeconds: run.durationSeconds,
    ...(run.error ? { error: run.error } : {}),
    ...(w ? { invocations: w.invocation, secondsSoFar: w.secondsSoFar, again: w.again, left: w.left } : {}),
  };
}

export async function runRoutine(
  routine: RoutineDefinition,
  target: string,
  invoke: (task: TaskId, event: Record<string, unknown>) => Promise<TaskRunResult>,
  log: Log,
  opts: { readonly dryRun?: boolean; readonly execution?: string; readonly startedAt?: Date } = {},
): Promise<RoutineResult> {
  const opened = opts.startedAt ?? new Date();
  const execution = opts.execution ?? `local-${opened.toISOString()}`;
  const steps: RoutineStepResult[] = [];
  for (let i = 0; i < routine.steps.length; i++) {
    const { task } = routine.steps[i]!;
    let invocations = 0;
    let secondsSoFar = 0;
    // The state machine's StepN-again loop: invoked again while the step says the window fits one more invocation.
    for (;;) {
      const window = { execution, startedAt: opened.toISOString(), invocations, secondsSoFar };
      const event = stepEvent(routine, i, target, window, steps.map(({ run: _run, ...o }) => o), opts.dryRun ?? false);
      log.info('routine step started', { routine: routine.id, step: i + 1, task, target, invocation: invocations + 1 });
      let outcome: RoutineStepResult;
      try {
        const run = await invoke(task, event);
        outcome = { ...outcomeOf(task, run), run };
      } catch (err) {
        // One failing step never stops the others (the state machine's Catch does the same).
        const attached = (err as { taskResult?: TaskRunResult }).taskResult;
        outcome = { task, status: 'failed', runId: attached?.runId ?? null, error: (err as Error).message };
        log.error('routine step failed', { routine: routine.id, task, target, error: (err as Error).message });
      }
      if (outcome.again !== true) {
        steps.push(outcome);
        break;
      }
      invocations = outcome.invocations ?? invocations + 1;
      secondsSoFar = outcome.secondsSoFar ?? secondsSoFar;
    }
  }
  return { routine: routine.id, target, execution, steps, status: steps.some((s) => s.status === 'failed') ? 'failed' : 'succeeded' };
}
