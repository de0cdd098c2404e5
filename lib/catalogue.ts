// The task catalogue: the single source of truth for task ids, handlers, schedules and sizing.
// The CDK stack, the local runner, the tests and the README task table all read this list.

/** Cron fields as EventBridge Scheduler takes them (minute hour day month weekDay); omitted fields are `*`/`?`. */
export interface CronSpec {
  readonly minute: string;
  readonly hour: string;
  readonly day?: string;
  readonly month?: string;
  readonly weekDay?: string;
}

export interface TaskDefinition {
  /** Stable id: function name suffix, schedule name suffix, metric dimension `Task`. */
  readonly id: string;
  readonly title: string;
  readonly description: string;
  /** Handler source file, relative to the repository root; it exports `handler`. */
  readonly handlerFile: string;
  /** Default schedule in the configured maintenance time zone. */
  readonly schedule: CronSpec;
  /** Human wording of the schedule for docs. */
  readonly scheduleText: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** Changes data or table structure: needs `dryRun` and must be safe to retry. */
  readonly destructive: boolean;
  /** Sends SES mail: only these functions get `ses:SendEmail`. */
  readonly sendsMail: boolean;
  /** Scheduled only for targets that configure this (a target without cleanup rules gets no cleanup schedule). */
  readonly requires?: 'cleanupRules' | 'archiveOrders' | 'rebuildTables';
}

/**
 * Only tasks that work end to end are listed. The remaining tasks of the design
 * (recommendations, daily-maintenance, weekly-maintenance) are added here by the issues
 * that build them; until then nothing is deployed for them.
 */
export const TASKS = [
  {
    id: 'analyze-tables',
    title: 'Analyze tables',
    description:
      'ANALYZE TABLE on InnoDB tables whose persistent statistics are older than `thresholds.analyzeAfterDays` or were never collected.',
    handlerFile: 'functions/analyze-tables.ts',
    schedule: { minute: '15', hour: '0/6' },
    scheduleText: 'every 6 h (at :15)',
    timeoutSeconds: 900,
    memoryMb: 256,
    destructive: false,
    sendsMail: false,
  },
  {
    id: 'cleanup-data',
    title: 'Clean up old data',
    description:
      'Retention rules: delete or archive rows older than each rule’s cutoff, in short chunks that walk an index, throttled, resumable, one run per table at a time.',
    handlerFile: 'functions/cleanup-data.ts',
    schedule: { minute: '30', hour: '3' },
    scheduleText: 'daily 03:30',
    timeoutSeconds: 900,
    memoryMb: 256,
    destructive: true,
    sendsMail: false,
    requires: 'cleanupRules',
  },
  {
    id: 'archive-orders',
    title: 'Archive old orders',
    description: 'Moves completed orders older than `archiveOrders.daysOld` (default 365) into the archive table, chunk by chunk in one transaction each.',
    handlerFile: 'functions/archive-orders.ts',
    schedule: { minute: '0', hour: '4', weekDay: 'SUN' },
    scheduleText: 'weekly Sun 04:00',
    timeoutSeconds: 900,
    memoryMb: 256,
    destructive: true,
    sendsMail: false,
    requires: 'archiveOrders',
  },
  {
    id: 'optimize-tables',
    title: 'Optimize fragmented tables',
    description:
      'Online rebuild (`ALTER TABLE … FORCE, ALGORITHM=INPLACE, LOCK=NONE`) of tables over `thresholds.fragmentationPercent` and `thresholds.optimizeMinSizeMb`, largest reclaimable space first; skips busy tables instead of queueing behind them; never starts a rebuild the time budget cannot finish.',
    handlerFile: 'functions/optimize-tables.ts',
    schedule: { minute: '30', hour: '4' },
    scheduleText: 'daily 04:30',
    timeoutSeconds: 900,
    memoryMb: 256,
    destructive: true,
    sendsMail: false,
  },
  {
    id: 'rebuild-indexes',
    title: 'Rebuild indexes',
    description: 'The same online rebuild and guards for the tables named in the payload or in the target’s `rebuildTables`.',
    handlerFile: 'functions/rebuild-indexes.ts',
    schedule: { minute: '0', hour: '2', weekDay: 'SUN' },
    scheduleText: 'weekly Sun 02:00',
    timeoutSeconds: 900,
    memoryMb: 256,
    destructive: true,
    sendsMail: false,
    requires: 'rebuildTables',
  },
  {
    id: 'collect-statistics',
    title: 'Collect statistics',
    description:
      'Sizes, rows, indexes, free space and fragmentation, AUTO_INCREMENT headroom per table; a snapshot into the history tables; growth by least squares, top growers, days to `storageLimitGb`.',
    handlerFile: 'functions/collect-statistics.ts',
    schedule: { minute: '30', hour: '5' },
    scheduleText: 'daily 05:30',
    timeoutSeconds: 900,
    memoryMb: 512,
    destructive: false,
    sendsMail: false,
  },
] as const satisfies readonly TaskDefinition[];

export type TaskId = (typeof TASKS)[number]['id'];

export const TASK_IDS: readonly TaskId[] = TASKS.map((t) => t.id);

/** Tasks named by the design but not built yet: listed in the docs so nobody mistakes them for deployed. */
export const PLANNED_TASKS: readonly { id: string; what: string; issue: number }[] = [
  { id: 'daily-maintenance', what: 'full daily routine', issue: 5 },
  { id: 'recommendations', what: 'maintenance recommendations', issue: 5 },
  { id: 'weekly-maintenance', what: 'weekly routine and weekly report', issue: 5 },
];

export function getTask(id: string): TaskDefinition {
  const task = (TASKS as readonly TaskDefinition[]).find((t) => t.id === id);
  if (!task) {
    throw new Error(`unknown task '${id}': known tasks are ${TASK_IDS.join(', ')}`);
  }
  return task;
}

/** Whether a task is scheduled for a target (its required configuration is present). */
export function appliesTo(task: TaskDefinition, target: { cleanupRules: readonly unknown[]; archiveOrders?: unknown; rebuildTables: readonly unknown[] }): boolean {
  if (task.requires === 'rebuildTables') return target.rebuildTables.length > 0;
  if (task.requires === 'cleanupRules') return target.cleanupRules.length > 0;
  if (task.requires === 'archiveOrders') return target.archiveOrders !== undefined;
  return true;
}

export function isTaskId(id: string): id is TaskId {
  return (TASK_IDS as readonly string[]).includes(id);
}

// Scheduler cron text, e.g. cron(15 0/6 * * ? *); day-of-month and day-of-week cannot both be set.
export function cronExpression(spec: CronSpec): string {
  const weekDay = spec.weekDay ?? '?';
  const day = spec.day ?? (weekDay === '?' ? '*' : '?');
  return `cron(${spec.minute} ${spec.hour} ${day} ${spec.month ?? '*'} ${weekDay} *)`;
}
