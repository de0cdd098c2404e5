// Metric names, units and dimensions: shared by the functions that emit them and the alarms that watch them.

export const SERVICE_NAME = 'dbmaint';

export const DIMENSION = {
  /** Added by Powertools to every metric; alarms must include it too. */
  Service: 'service',
  Task: 'Task',
  Database: 'Database',
  Table: 'Table',
} as const;

export type MetricUnitName = 'Count' | 'Seconds' | 'Milliseconds' | 'Bytes' | 'Percent' | 'None';

export const METRIC = {
  TaskSucceeded: { name: 'TaskSucceeded', unit: 'Count' },
  TaskFailed: { name: 'TaskFailed', unit: 'Count' },
  DurationSeconds: { name: 'DurationSeconds', unit: 'Seconds' },
  StoppedAtDeadline: { name: 'StoppedAtDeadline', unit: 'Count' },
  TablesAnalyzed: { name: 'TablesAnalyzed', unit: 'Count' },
  TablesStale: { name: 'TablesStale', unit: 'Count' },
  TablesFailed: { name: 'TablesFailed', unit: 'Count' },
  TablesDeferred: { name: 'TablesDeferred', unit: 'Count' },
  RowsDeleted: { name: 'RowsDeleted', unit: 'Count' },
  RowsArchived: { name: 'RowsArchived', unit: 'Count' },
  RowsRemaining: { name: 'RowsRemaining', unit: 'Count' },
  /** Future partitions of a rule's partitioned table (per table), and the fewest of the run's tables (the alarm's). */
  PartitionsAhead: { name: 'PartitionsAhead', unit: 'Count' },
  MinPartitionsAhead: { name: 'MinPartitionsAhead', unit: 'Count' },
  /** Rows of child tables removed (ON DELETE CASCADE) or changed (SET NULL) with a cascade rule's rows: per rule, and per run. */
  ChildRowsDeleted: { name: 'ChildRowsDeleted', unit: 'Count' },
  ChildRowsSetNull: { name: 'ChildRowsSetNull', unit: 'Count' },
  Chunks: { name: 'Chunks', unit: 'Count' },
  ThrottledSeconds: { name: 'ThrottledSeconds', unit: 'Seconds' },
  RulesFailed: { name: 'RulesFailed', unit: 'Count' },
  TablesOptimized: { name: 'TablesOptimized', unit: 'Count' },
  TablesRebuilt: { name: 'TablesRebuilt', unit: 'Count' },
  TablesSkipped: { name: 'TablesSkipped', unit: 'Count' },
  TablesBusy: { name: 'TablesBusy', unit: 'Count' },
  BytesReclaimed: { name: 'BytesReclaimed', unit: 'Bytes' },
  DatabaseSizeBytes: { name: 'DatabaseSizeBytes', unit: 'Bytes' },
  TableCount: { name: 'TableCount', unit: 'Count' },
  MaxFragmentationPercent: { name: 'MaxFragmentationPercent', unit: 'Percent' },
  MaxAutoIncrementUsedPercent: { name: 'MaxAutoIncrementUsedPercent', unit: 'Percent' },
  GrowthBytesPerDay: { name: 'GrowthBytesPerDay', unit: 'Bytes' },
  GrowthRowsPerDay: { name: 'GrowthRowsPerDay', unit: 'Count' },
  DaysToStorageLimit: { name: 'DaysToStorageLimit', unit: 'None' },
  TableSizeBytes: { name: 'TableSizeBytes', unit: 'Bytes' },
  FragmentationPercent: { name: 'FragmentationPercent', unit: 'Percent' },
  AutoIncrementUsedPercent: { name: 'AutoIncrementUsedPercent', unit: 'Percent' },
  RecommendationsHigh: { name: 'RecommendationsHigh', unit: 'Count' },
  RecommendationsMedium: { name: 'RecommendationsMedium', unit: 'Count' },
  RecommendationsLow: { name: 'RecommendationsLow', unit: 'Count' },
  ReportsSent: { name: 'ReportsSent', unit: 'Count' },
  ReportSendFailed: { name: 'ReportSendFailed', unit: 'Count' },
  TablesFallingBehind: { name: 'TablesFallingBehind', unit: 'Count' },
  PreflightProblems: { name: 'PreflightProblems', unit: 'Count' },
  TasksBlocked: { name: 'TasksBlocked', unit: 'Count' },
  /** 1 when a server-exclusive task found another heavy task running on its server and deferred (or, in a routine, will be retried). */
  ServerBusy: { name: 'ServerBusy', unit: 'Count' },
  /** 1 when a run could not use one of dbmaint's own tables (run log, task runs, history, alert state); the run's notes say which. */
  RunLogUnavailable: { name: 'RunLogUnavailable', unit: 'Count' },
} as const satisfies Record<string, { name: string; unit: MetricUnitName }>;

export type MetricName = (typeof METRIC)[keyof typeof METRIC]['name'];

export interface MetricPoint {
  readonly name: MetricName;
  readonly unit: MetricUnitName;
  readonly value: number;
}

export function point(metric: { name: MetricName; unit: MetricUnitName }, value: number): MetricPoint {
  return { name: metric.name, unit: metric.unit, value };
}
