// The task catalogue: the single source of truth for task ids, handlers, schedules, sizing, routines and the alarms and
// graphs each task's metrics feed. The CDK stack, the local runner, the tests and the docs read this list; what a task
// does is its module (lib/tasks/modules/<id>.ts).
import type { MetricName } from './metrics/names';

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
  /** Handler source file, relative to the repository root; it exports `handler`. */
  readonly handlerFile: string;
  /** Default schedule of its own, in the configured maintenance time zone; none: it runs as a routine step (or on a target's own schedule). */
  readonly schedule?: CronSpec;
  /** Human wording of its own schedule, for docs (its routine steps are added by scheduleTextOf). */
  readonly scheduleText?: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  /** Changes data or table structure: needs `dryRun` and must be safe to retry. */
  readonly destructive: boolean;
  /** Sends SES mail: only these functions get `ses:SendEmail`. */
  readonly sendsMail: boolean;
  /**
   * Writes or rebuilds in bulk (purges, archives, table rebuilds): at most one such task at a time per database server,
   * whichever target runs it, under a server-wide user lock (lib/tasks/server-lock.ts; docs/server-lock.md).
   */
  readonly serverExclusive: boolean;
  /** Scheduled only for targets that configure this (a target without cleanup rules gets no cleanup schedule). */
  readonly requires?: 'cleanupRules' | 'archiveOrders' | 'rebuildTables' | 'reports';
  /** What preflight checks for it (lib/maintenance/preflight.ts); when nothing of it can work, a routine skips it. */
  readonly capability?: TaskCapability;
  /** Checks what the later steps of a routine need: a step it blocks is skipped (preflight). */
  readonly gatesLaterSteps?: boolean;
  /** Its stored digest carries the recommendations the reports list. */
  readonly advises?: boolean;
  /** Alarms on its metrics, per target it runs on (infra/constructs/task-alarms.ts). */
  readonly alarms?: readonly TaskAlarmId[];
}

/** What preflight checks before a task runs: its grants, settings and (retention) the rules' tables and indexes. */
export type TaskCapability = 'analyze' | 'statistics' | 'retention' | 'rebuild';

export type TaskAlarmId = 'fragmentation' | 'rapid-growth' | 'storage-horizon' | 'purge-falling-behind' | 'partition-runway';

/** One series of a task's metric on a graph. */
export interface TaskSeries {
  readonly metric: MetricName;
  readonly stat: 'Sum' | 'Maximum' | 'Minimum';
  readonly label?: string;
  readonly axis?: 'right';
}

export interface TaskGraphs {
  /** The fleet's top databases by one measure each (ASC where low is bad). */
  readonly fleet?: readonly (TaskSeries & { readonly title: string; readonly order?: 'ASC' })[];
  /** Graphs of the database picked on the dashboard; series of several tasks under one title share a graph. */
  readonly database?: readonly { readonly title: string; readonly series: readonly TaskSeries[]; readonly stacked?: boolean }[];
}

/**
 * Only tasks that work end to end are listed. Most run as steps of the routines below
 * (no schedule of their own); analyze-tables also runs every 6 hours by itself.
 */
export const TASKS = [
  {
    id: 'preflight',
    title: 'Preflight check',
    handlerFile: 'functions/preflight.ts',
    timeoutSeconds: 120,
    memoryMb: 256,
    destructive: false,
    sendsMail: false,
    serverExclusive: false,
    gatesLaterSteps: true,
  },
  {
    id: 'analyze-tables',
    title: 'Analyze tables',
    handlerFile: 'functions/analyze-tables.ts',
    // Not at night: no hour between 21:00 and 04:00 is free of clock changes in every zone; the daily routine analyzes at 04:00.
    schedule: { minute: '15', hour: '6/6' },
    scheduleText: '06:15, 12:15, 18:15',
    timeoutSeconds: 900,
    memoryMb: 256,
    destructive: false,
    sendsMail: false,
    // Not exclusive: ANALYZE reads a fixed sample of pages per table (innodb_stats_persistent_sample_pages) and writes
    // one statistics row; it adds no bulk I/O worth queueing for, and holding it back behind another target's
    // hour-long purge would leave the plans of this target on stale statistics.
    serverExclusive: false,
    capability: 'analyze',
  },
  {
    id: 'cleanup-data',
    title: 'Clean up old data',
    handlerFile: 'functions/cleanup-data.ts',
    timeoutSeconds: 900,
    memoryMb: 256,
    destructive: true,
    sendsMail: false,
    serverExclusive: true,
    requires: 'cleanupRules',
    capability: 'retention',
    alarms: ['purge-falling-behind', 'partition-runway'],
  },
  {
    id: 'archive-orders',
    title: 'Archive old orders',
    handlerFile: 'functions/archive-orders.ts',
    timeoutSeconds: 900,
    memoryMb: 256,
    destructive: true,
    sendsMail: false,
    serverExclusive: true,
    requires: 'archiveOrders',
    capability: 'retention',
  },
  {
    id: 'optimize-tables',
    title: 'Optimize fragmented tables',
    handlerFile: 'functions/optimize-tables.ts',
    timeoutSeconds: 900,
    memoryMb: 256,
    destructive: true,
    sendsMail: false,
    serverExclusive: true,
    capability: 'rebuild',
  },
  {
    id: 'rebuild-indexes',
    title: 'Rebuild indexes',
    handlerFile: 'functions/rebuild-indexes.ts',
    timeoutSeconds: 900,
    memoryMb: 256,
    destructive: true,
    sendsMail: false,
    serverExclusive: true,
    capability: 'rebuild',
    requires: 'rebuildTables',
  },
  {
    id: 'collect-statistics',
    title: 'Collect statistics',
    handlerFile: 'functions/collect-statistics.ts',
    timeoutSeconds: 900,
    memoryMb: 512,
    destructive: false,
    sendsMail: false,
    serverExclusive: false,
    capability: 'statistics',
    alarms: ['fragmentation', 'rapid-growth', 'storage-horizon'],
  },
  {
    id: 'recommendations',
    title: 'Recommendations',
    handlerFile: 'functions/recommendations.ts',
    timeoutSeconds: 900,
    memoryMb: 512,
    destructive: false,
    sendsMail: true,
    serverExclusive: false,
    capability: 'statistics',
    advises: true,
  },
  {
    id: 'daily-report',
    title: 'Daily maintenance report',
    handlerFile: 'functions/daily-report.ts',
    timeoutSeconds: 300,
    memoryMb: 256,
    destructive: false,
    sendsMail: true,
    serverExclusive: false,
    requires: 'reports',
  },
  {
    id: 'weekly-report',
    title: 'Weekly summary',
    handlerFile: 'functions/weekly-report.ts',
    timeoutSeconds: 300,
    memoryMb: 256,
    destructive: false,
    sendsMail: true,
    serverExclusive: false,
    requires: 'reports',
  },
] as const satisfies readonly TaskDefinition[];

export type TaskId = (typeof TASKS)[number]['id'];

export const TASK_IDS: readonly TaskId[] = TASKS.map((t) => t.id);

/** Tasks named by the design but not built yet: listed in the docs so nobody mistakes them for deployed. */
export const PLANNED_TASKS: readonly { id: string; what: string; issue: number }[] = [];

export interface RoutineStep {
  readonly task: TaskId;
  /** The step's own time budget (its event's maxRunSeconds); each step is its own Lambda invocation. */
  readonly budgetSeconds: number;
}

export interface RoutineDefinition {
  readonly id: string;
  readonly title: string;
  readonly description: string;
  readonly schedule: CronSpec;
  readonly scheduleText: string;
  /** Run in this order; a failing step is recorded and the next one runs. The last step receives every step's outcome. */
  readonly steps: readonly RoutineStep[];
  /** The routine must have succeeded at least once within this many hours, or its silence alarm fires. */
  readonly expectedEveryHours: number;
  /**
   * Default maintenance window from the scheduled start: a step stopped at its deadline with work left is invoked again
   * while one more invocation of it and one of every later step still fit (lib/routines/window.ts, docs/windows.md).
   */
  readonly windowHours: number;
}

/** Routines: AWS Step Functions state machines in the stack, the same list in-process in the local runner. */
export const ROUTINES = [
  {
    id: 'daily-maintenance',
    title: 'Daily maintenance',
    description: 'preflight → analyze (stale only) → cleanup-data → optimize-tables → collect-statistics → recommendations → daily report (+ alert).',
    // 04:00 is the earliest hour that no IANA zone skips or repeats (EET zones change at 03:00-04:00, Chatham at 02:45-03:45).
    schedule: { minute: '0', hour: '4' },
    scheduleText: 'daily 04:00',
    steps: [
      { task: 'preflight', budgetSeconds: 60 },
      { task: 'analyze-tables', budgetSeconds: 600 },
      { task: 'cleanup-data', budgetSeconds: 870 },
      { task: 'optimize-tables', budgetSeconds: 870 },
      { task: 'collect-statistics', budgetSeconds: 600 },
      { task: 'recommendations', budgetSeconds: 600 },
      { task: 'daily-report', budgetSeconds: 240 },
    ],
    expectedEveryHours: 26,
    // 04:00-07:00: before business hours in the configured zone; the weekly routine starts after it.
    windowHours: 3,
  },
  {
    id: 'weekly-maintenance',
    title: 'Weekly maintenance',
    description: 'preflight → rebuild-indexes → archive-orders → collect-statistics → recommendations → weekly report.',
    // After the daily routine's window (04:00-07:00); Sun 01:00 was skipped yearly in London, Dublin, Lisbon.
    schedule: { minute: '15', hour: '7', weekDay: 'SUN' },
    scheduleText: 'weekly Sun 07:15',
    steps: [
      { task: 'preflight', budgetSeconds: 60 },
      { task: 'rebuild-indexes', budgetSeconds: 870 },
      { task: 'archive-orders', budgetSeconds: 870 },
      { task: 'collect-statistics', budgetSeconds: 600 },
      { task: 'recommendations', budgetSeconds: 600 },
      { task: 'weekly-report', budgetSeconds: 240 },
    ],
    expectedEveryHours: 168,
    windowHours: 4,
  },
] as const satisfies readonly RoutineDefinition[];

export type RoutineId = (typeof ROUTINES)[number]['id'];

export const ROUTINE_IDS: readonly RoutineId[] = ROUTINES.map((r) => r.id);

export function isRoutineId(id: string): id is RoutineId {
  return (ROUTINE_IDS as readonly string[]).includes(id);
}

export function getRoutine(id: string): RoutineDefinition {
  const routine = (ROUTINES as readonly RoutineDefinition[]).find((r) => r.id === id);
  if (!routine) throw new Error(`unknown routine '${id}': known routines are ${ROUTINE_IDS.join(', ')}`);
  return routine;
}

export function getTask(id: string): TaskDefinition {
  const task = (TASKS as readonly TaskDefinition[]).find((t) => t.id === id);
  if (!task) {
    throw new Error(`unknown task '${id}': known tasks are ${TASK_IDS.join(', ')}`);
  }
  return task;
}

/** Whether a task is scheduled for a target (its required configuration is present). */
export function appliesTo(
  task: TaskDefinition,
  target: { cleanupRules: readonly unknown[]; archiveOrders?: unknown; rebuildTables: readonly unknown[] },
  config?: { reports?: unknown },
): boolean {
  if (task.requires === 'reports') return config === undefined || config.reports !== undefined;
  if (task.requires === 'rebuildTables') return target.rebuildTables.length > 0;
  if (task.requires === 'cleanupRules') return target.cleanupRules.length > 0;
  if (task.requires === 'archiveOrders') return target.archiveOrders !== undefined;
  return true;
}

/** When a task runs: its own schedule's wording, then each routine step it is ("daily-maintenance step 3"). */
export function scheduleTextOf(task: TaskDefinition): string {
  const steps = (ROUTINES as readonly RoutineDefinition[]).flatMap((r) => r.steps.flatMap((s, i) => (s.task === task.id ? [`${r.id} step ${i + 1}`] : [])));
  return [task.scheduleText, steps.join(', ')].filter(Boolean).join('; ');
}

/** The tasks a predicate holds for, in catalogue order: e.g. every task preflight checks for one capability. */
export function tasksWhere(holds: (task: TaskDefinition) => boolean): TaskId[] {
  return (TASKS as readonly TaskDefinition[]).filter(holds).map((t) => t.id as TaskId);
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
