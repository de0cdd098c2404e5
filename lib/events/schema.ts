// Event payloads (scheduler events and console invocations): validated strictly before any SQL runs.
import * as z from 'zod';
import { formatIssues } from '../config/load';
import { InputError } from '../validation/input-error';
import { ROUTINE_IDS, TASK_IDS, type TaskId } from '../catalogue';

export class EventValidationError extends InputError {
  override readonly name = 'EventValidationError';
}

const tableRefText = z
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
    })
    .optional(),
  task: z.string().max(64).optional(),
  target: z.string().max(31).regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a target name from the configuration').optional(),
  dryRun: z.boolean().default(false),
  maxRunSeconds: z.number().int().min(1).max(900).optional(),
};

export const analyzeEventSchema = z.strictObject({
  ...baseEventShape,
  tables: z.array(tableRefText).min(1).max(500).optional(),
  force: z.boolean().default(false),
});

export type AnalyzeEvent = z.output<typeof analyzeEventSchema>;

export const cleanupEventSchema = z.strictObject({
  ...baseEventShape,
  /** Run only the rules of these tables (a table named twice, or as `t` and `schema.t`, runs once). */
  tables: z.array(tableRefText).min(1).max(500).optional(),
  /** Ad-hoc runs only: let `tables` name a table in excludeTables (scheduled and routine runs never touch one). */
  force: z.boolean().default(false),
});
export type CleanupEvent = z.output<typeof cleanupEventSchema>;

export const archiveOrdersEventSchema = z.strictObject({
  ...baseEventShape,
  /** Override the configured age of orders to archive. */
  daysOld: z.number().int().min(1).max(36500).optional(),
});
export type ArchiveOrdersEvent = z.output<typeof archiveOrdersEventSchema>;

export const collectStatisticsEventSchema = z.strictObject({
  ...baseEventShape,
});
export type CollectStatisticsEvent = z.output<typeof collectStatisticsEventSchema>;

export const optimizeEventSchema = z.strictObject({
  ...baseEventShape,
  /** Only these tables; they must still cross the thresholds unless `force`. */
  tables: z.array(tableRefText).min(1).max(500).optional(),
  force: z.boolean().default(false),
});
export type OptimizeEvent = z.output<typeof optimizeEventSchema>;

export const rebuildIndexesEventSchema = z.strictObject({
  ...baseEventShape,
  /** Tables to rebuild; default: the target's `rebuildTables`. A table named twice is rebuilt once. */
  tables: z.array(tableRefText).min(1).max(500).optional(),
  /** Ad-hoc runs only: let `tables` name a table in excludeTables (scheduled and routine runs never touch one). */
  force: z.boolean().default(false),
});
export type RebuildIndexesEvent = z.output<typeof rebuildIndexesEventSchema>;

/** What a routine hands its last step: each earlier step's outcome (a step that never reached the database has no run record). */
export const stepOutcomeSchema = z.strictObject({
  task: z.enum(TASK_IDS as [string, ...string[]]),
  status: z.enum(['succeeded', 'failed', 'stopped-at-deadline', 'skipped', 'deferred']),
  runId: z.string().max(64).nullable().optional(),
  durationSeconds: z.number().min(0).optional(),
  error: z.string().max(20_000).optional(),
});
export type StepOutcome = z.output<typeof stepOutcomeSchema>;

export const preflightEventSchema = z.strictObject({
  ...baseEventShape,
});
export type PreflightEvent = z.output<typeof preflightEventSchema>;

export const recommendationsEventSchema = z.strictObject({
  ...baseEventShape,
});
export type RecommendationsEvent = z.output<typeof recommendationsEventSchema>;

export const reportEventSchema = z.strictObject({
  ...baseEventShape,
  steps: z.array(stepOutcomeSchema).max(20).default([]),
  /** Report on this many hours back instead of the task's own period (24 h daily, 168 h weekly). */
  periodHours: z.number().int().min(1).max(24 * 31).optional(),
});
export type ReportEvent = z.output<typeof reportEventSchema>;

/** Each task's payload schema: the runners parse with it, and the local CLI checks its flags against the same fields. */
export const TASK_EVENT_SCHEMAS = {
  preflight: preflightEventSchema,
  'analyze-tables': analyzeEventSchema,
  'cleanup-data': cleanupEventSchema,
  'archive-orders': archiveOrdersEventSchema,
  'collect-statistics': collectStatisticsEventSchema,
  'optimize-tables': optimizeEventSchema,
  'rebuild-indexes': rebuildIndexesEventSchema,
  recommendations: recommendationsEventSchema,
  'daily-report': reportEventSchema,
  'weekly-report': reportEventSchema,
} as const satisfies { readonly [K in TaskId]: z.ZodObject };

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
