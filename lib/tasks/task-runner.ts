// What every task runner provides: event parsing, static checks against the target, and the run itself.
import type { TargetConfig } from '../config/schema';
import type { TaskContext, TaskOutcome } from './run-task';

export interface BaseEvent {
  /** Who sent it: a routine's step (Step Functions retries it), the scheduler; absent from the console. */
  readonly source?: 'dbmaint.scheduler' | 'dbmaint.routine';
  readonly target?: string;
  readonly routine?: { readonly id: string; readonly execution?: string };
  readonly dryRun: boolean;
  readonly maxRunSeconds?: number;
}

export interface TaskRunner<E extends BaseEvent, R> {
  parse(raw: unknown): E;
  /** Static checks of the event against the target's configuration (no SQL). */
  validate?(event: E, target: TargetConfig): void;
  run(ctx: TaskContext<E>): Promise<TaskOutcome<R>>;
}

/** Erases a runner's event and result types, for code that runs any task. */
export function anyRunner<E extends BaseEvent, R>(runner: TaskRunner<E, R>): TaskRunner<BaseEvent, unknown> {
  return runner as unknown as TaskRunner<BaseEvent, unknown>;
}
