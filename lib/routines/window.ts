// Maintenance windows: how long a routine's steps may keep invoking again on one target, and whether one more invocation fits.
import { getRoutine, type RoutineDefinition, type TaskId } from '../catalogue';
import type { DbMaintConfig, TargetConfig } from '../config/schema';

/** A step is invoked at most this often in one routine execution, whatever the window: a runaway loop ends here. */
export const MAX_INVOCATIONS = 50;

/** Kept free per later step beside its budget: a cold start, the session, the report's own writes. */
const STEP_OVERHEAD_SECONDS = 60;

/** The window of `routine` on `target`: the target's own, else the configuration's for the routine, else the catalogue's. */
export function windowHoursOf(config: DbMaintConfig, target: TargetConfig | undefined, routine: RoutineDefinition): number {
  return target?.tasks[routine.id as TaskId]?.window?.hours ?? config.windows[routine.id]?.hours ?? routine.windowHours;
}

/** One invocation of every step of the routine from `index` on, with its overhead (seconds). */
export function stepsSeconds(routine: RoutineDefinition, index: number): number {
  return routine.steps.slice(index).reduce((sum, s) => sum + s.budgetSeconds + STEP_OVERHEAD_SECONDS, 0);
}

/** The shortest window a routine accepts: one invocation of each step. */
export function minimumWindowSeconds(routine: RoutineDefinition): number {
  return stepsSeconds(routine, 0);
}

/** Hours a routine's execution may take on any target: its longest window, plus one invocation of every step for a target whose window already closed. */
export function routineTimeoutHours(config: DbMaintConfig, routine: RoutineDefinition): number {
  const longest = Math.max(routine.windowHours, ...config.targets.map((t) => windowHoursOf(config, t, routine)));
  return Math.ceil(longest + stepsSeconds(routine, 0) / 3600);
}

/** What a routine step's event says of the window (set by the state machine or the local runner). */
export interface WindowInput {
  readonly id: string;
  /** When the window opened: the fleet (or routine) execution's start. */
  readonly startedAt?: string | undefined;
  /** Invocations of this step so far in this execution, and their seconds. */
  readonly invocations?: number | undefined;
  readonly secondsSoFar?: number | undefined;
}

/** Where a step stands in its window after one invocation: the result carries it, the state machine's Choice reads `again`. */
export interface WindowProgress {
  /** This invocation's number (1 for the first). */
  readonly invocation: number;
  readonly secondsSoFar: number;
  readonly opensAt: string;
  readonly endsAt: string;
  /** Invoke this step again now. */
  readonly again: boolean;
  /** Why not again, when work is left. */
  readonly reason?: string;
  /** What is left, as the task words it (rows remaining, tables); null when nothing is (the state machine reads it always). */
  readonly left: string | null;
  /** Start the long runner now with this event and budget (docs/long-runner.md); null: not (the state machine reads it always). */
  readonly longRunner: LongRunnerStart | null;
}

/** What the state machine hands the long runner: the same task's event for the tables too large for one invocation, and its budget. */
export interface LongRunnerStart {
  readonly seconds: number;
  readonly event: Readonly<Record<string, unknown>>;
}

/** What a task says is left after an invocation that stopped at its deadline; `again`: one more invocation can make progress. */
export interface WorkLeft {
  readonly text: string;
  readonly again: boolean;
  readonly why?: string;
  /** Tables deferred behind one whose estimated rebuild exceeds one invocation (it first): the long runner's work, when enabled. */
  readonly tooLarge?: readonly string[];
}

/** The long runner needs at least this much of the window to be worth starting (container start, one table's guards). */
export const LONG_RUNNER_MIN_SECONDS = 600;

/**
 * The sharing rule: a step that stopped with work left runs again while one more invocation of it (its full budget) plus
 * one invocation of every later step still end inside the window, and at most MAX_INVOCATIONS times. The first invocation
 * of every step always runs, even after the window closed: each step gets its turn every night, as without windows.
 */
export function windowProgress(
  config: DbMaintConfig,
  target: TargetConfig,
  input: WindowInput,
  task: TaskId,
  now: Date,
  durationSeconds: number,
  stopped: boolean,
  left: WorkLeft | undefined,
): WindowProgress {
  const routine = getRoutine(input.id);
  const opens = input.startedAt ? new Date(input.startedAt) : now;
  const ends = new Date(opens.getTime() + windowHoursOf(config, target, routine) * 3_600_000);
  const invocation = (input.invocations ?? 0) + 1;
  const secondsSoFar = Math.round(((input.secondsSoFar ?? 0) + durationSeconds) * 1000) / 1000;
  const index = routine.steps.findIndex((s) => s.task === task);
  const base = { invocation, secondsSoFar, opensAt: opens.toISOString(), endsAt: ends.toISOString(), left: left?.text ?? null, longRunner: null };
  if (!stopped || index < 0) return { ...base, again: false };
  if (left && !left.again) {
    const why = left.why ?? 'another invocation would not get further';
    const long = left.tooLarge?.length && config.longRunner.enabled ? longRunnerStart(config, routine, index, input, task, target, left.tooLarge, now, ends) : undefined;
    if (typeof long === 'string') return { ...base, again: false, reason: `${why}; ${long}` };
    return { ...base, again: false, reason: long ? `${why}: the long runner rebuilds it` : why, ...(long ? { longRunner: long } : {}) };
  }
  if (invocation >= MAX_INVOCATIONS) return { ...base, again: false, reason: `${MAX_INVOCATIONS} invocations in this window` };
  // This step once more, then every later step once: each with its budget and overhead.
  const needed = stepsSeconds(routine, index);
  const fitsUntil = now.getTime() + needed * 1000;
  if (fitsUntil > ends.getTime()) {
    const later = routine.steps.length - index - 1;
    return { ...base, again: false, reason: `the window closes at ${ends.toISOString()}: one more invocation (${routine.steps[index]!.budgetSeconds} s) and ${later} later step(s) would end at ${new Date(fitsUntil).toISOString()}` };
  }
  return { ...base, again: true };
}

/** The long runner's start: the window's time after the later steps' share, or why it does not start. */
function longRunnerStart(
  config: DbMaintConfig,
  routine: RoutineDefinition,
  index: number,
  input: WindowInput,
  task: TaskId,
  target: TargetConfig,
  tables: readonly string[],
  now: Date,
  ends: Date,
): LongRunnerStart | string {
  const seconds = Math.floor((ends.getTime() - now.getTime()) / 1000 - stepsSeconds(routine, index + 1));
  if (seconds < LONG_RUNNER_MIN_SECONDS) return `the long runner needs ${LONG_RUNNER_MIN_SECONDS} s of the window and ${Math.max(0, seconds)} s are left after the later steps`;
  return {
    seconds,
    event: { source: 'dbmaint.routine', task, target: target.name, routine: { id: routine.id, ...(input.startedAt ? { startedAt: input.startedAt } : {}) }, tables: [...tables], engine: config.longRunner.engine },
  };
}
