// What every event payload shares (scheduler events and console invocations), and its strict parsing before any SQL runs; each task's own fields are in its module.
import * as z from 'zod';
import { formatIssues } from '../config/issues';
import { InputError } from '../validation/input-error';
import { ROUTINE_IDS, TASK_IDS } from '../catalogue';

export class EventValidationError extends InputError {
  override readonly name = 'EventValidationError';
}

/** A table named in a payload: `table` or `schema.table`, validated before it is quoted. */
export const tableRefText = z
  .string()
  .max(129, 'is too long (at most schema.table, 64 characters each)')
  .regex(/^[A-Za-z0-9_$]{1,64}(\.[A-Za-z0-9_$]{1,64})?$/, 'must be table or schema.table (letters, digits, _ or $)');

/** Fields every task accepts. The scheduler sends source/task/target, a routine also `routine`; operators usually send target/dryRun. */
export const baseEventShape = {
  source: z.enum(['dbmaint.scheduler', 'dbmaint.routine']).optional(),
  /** Set by a routine (Step Functions or the local runner): a step that does not apply to the target is skipped, not failed. */
  routine: z
    .strictObject({
      id: z.enum(ROUTINE_IDS as [string, ...string[]]),
      execution: z.string().max(256).optional(),
      /** The maintenance window's start (the fleet's or the routine's execution start): cutoffs and the window count from it. */
      startedAt: z.iso.datetime({ offset: true }).optional(),
      /** This step's invocations so far in this execution and their seconds (the state machine carries them between invocations). */
      invocations: z.number().int().min(0).max(1000).optional(),
      secondsSoFar: z.number().min(0).max(1_000_000).optional(),
    })
    .optional(),
  task: z.string().max(64).optional(),
  target: z.string().max(31).regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a target name from the configuration').optional(),
  dryRun: z.boolean().default(false),
  maxRunSeconds: z.number().int().min(1).max(900).optional(),
};

/** What a routine hands its last step: each earlier step's outcome (a step that never reached the database has no run record). */
export const stepOutcomeSchema = z.strictObject({
  task: z.enum(TASK_IDS as [string, ...string[]]),
  status: z.enum(['succeeded', 'failed', 'stopped-at-deadline', 'skipped', 'deferred']),
  runId: z.string().max(64).nullable().optional(),
  durationSeconds: z.number().min(0).optional(),
  error: z.string().max(20_000).optional(),
  /** Invocations of the step in the window, their seconds, and what was left when it stopped. */
  invocations: z.number().int().min(0).optional(),
  secondsSoFar: z.number().min(0).optional(),
  again: z.boolean().optional(),
  left: z.string().max(2_000).nullable().optional(),
  /** The long runner's start the step asked for (docs/long-runner.md), null when none. */
  longRunner: z.strictObject({ seconds: z.number(), event: z.record(z.string(), z.unknown()) }).nullable().optional(),
});
export type StepOutcome = z.output<typeof stepOutcomeSchema>;

export function parseEvent<S extends z.ZodType>(schema: S, raw: unknown, task: string): z.output<S> {
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new EventValidationError(`invalid ${task} event: expected a JSON object`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = formatIssues(parsed.error, 'event');
    throw new EventValidationError(`invalid ${task} event:\n  ${issues.join('\n  ')}`, issues);
  }
  const event = parsed.data as { task?: string };
  if (event.task !== undefined && event.task !== task) {
    throw new EventValidationError(`invalid ${task} event:\n  event.task: is '${event.task}' but this function runs '${task}'`);
  }
  return parsed.data;
}
