// What `dbmaint cost` assumes where the templates cannot say: how long each task runs, how much it logs and how many metrics it publishes per run.
import { ROUTINES } from '../../lib/catalogue';
import type { DbMaintConfig, TargetConfig } from '../../lib/config/schema';

export interface UsageAssumptions {
  /** Seconds per invocation by task (a typical run on a target of a few hundred tables; the time budget is the ceiling). */
  readonly secondsPerInvocation: Readonly<Record<string, number>>;
  readonly defaultSecondsPerInvocation: number;
  /** Metrics one run publishes per target (the task's dimension set); checked against real runs by test/cost.test.ts. */
  readonly metricsPerRun: Readonly<Record<string, number>>;
  readonly defaultMetricsPerRun: number;
  /** Per-table series (dimension Table) one run publishes, from the target's configuration: rules, rebuild tables, statistics.metricTables. */
  perTableSeries(task: string, target: TargetConfig, config: DbMaintConfig): number;
  /** Log bytes per invocation (JSON log lines, EMF documents, START/END/REPORT) and per state transition (level ALL, no data). */
  readonly logBytesPerInvocation: number;
  readonly logBytesPerTransition: number;
  /** The fleet state machine's transitions per target it starts (map iteration, start, wait for it). */
  readonly fleetTransitionsPerTarget: number;
  /** Per routine: its steps (one invocation each per execution; a maintenance window may add more) and its state transitions when the template does not give them. */
  readonly routines: Readonly<Record<string, { readonly steps: readonly string[]; readonly transitionsPerExecution: number }>>;
}

export const ASSUMPTIONS: UsageAssumptions = {
  secondsPerInvocation: {
    preflight: 3,
    'analyze-tables': 20,
    'cleanup-data': 60,
    'archive-orders': 30,
    'optimize-tables': 60,
    'rebuild-indexes': 60,
    'collect-statistics': 10,
    // Its advisor waits `advisorSampleSeconds` (5) between two status samples.
    recommendations: 7,
    'daily-report': 3,
    'weekly-report': 3,
  },
  defaultSecondsPerInvocation: 30,
  // Counted from real runs of every task (test/cost.test.ts fails when a task publishes more).
  metricsPerRun: {
    preflight: 7,
    'analyze-tables': 9,
    'cleanup-data': 10,
    'archive-orders': 10,
    'optimize-tables': 11,
    'rebuild-indexes': 11,
    'collect-statistics': 9,
    recommendations: 10,
    'daily-report': 7,
    'weekly-report': 7,
  },
  defaultMetricsPerRun: 11,
  perTableSeries(task, target, config) {
    if (task === 'cleanup-data') return 6 * target.cleanupRules.length;
    if (task === 'archive-orders') return target.archiveOrders ? 6 : 0;
    // Size, free space and AUTO_INCREMENT use of the largest tables.
    if (task === 'collect-statistics') return 3 * config.statistics.metricTables;
    // Bytes reclaimed and seconds per table rebuilt: the configured ones, or one fragmented table a run.
    if (task === 'rebuild-indexes') return 2 * target.rebuildTables.length;
    if (task === 'optimize-tables') return 2;
    return 0;
  },
  logBytesPerInvocation: 20_000,
  logBytesPerTransition: 600,
  fleetTransitionsPerTarget: 4,
  routines: Object.fromEntries(
    ROUTINES.map((r) => [
      r.id,
      {
        steps: r.steps.map((s) => s.task),
        // Per step: its Lambda task, the window's Choice and a Pass or two around them; the routine's start and end; the fleet machine's map iteration.
        transitionsPerExecution: r.steps.length * 4 + 6,
      },
    ]),
  ),
};
