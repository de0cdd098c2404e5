// collect-statistics as a task: measure, snapshot, trend, and the metrics alarms and dashboards read.
import { historySchemaOf, thresholdsFor } from '../config/schema';
import { type CollectStatisticsEvent } from '../events/schema';
import { METRIC, point, type MetricPoint } from '../metrics/names';
import { collectStatistics, type CollectResult } from '../stats/collect';
import type { TaskContext, TaskOutcome } from './run-task';

const GB = 1024 ** 3;
const RETURNED_TABLES = 500;

export async function runCollectStatistics(ctx: TaskContext<CollectStatisticsEvent>): Promise<TaskOutcome<CollectResult>> {
  const settings = ctx.config.statistics;
  const result = await collectStatistics(ctx.db, ctx.deadline, ctx.log, {
    schemas: ctx.target.schemas,
    target: ctx.target.name,
    runId: ctx.runLog.runId,
    settings,
    historySchema: historySchemaOf(ctx.config),
    ...(ctx.target.storageLimitGb !== undefined ? { storageLimitBytes: Math.round(ctx.target.storageLimitGb * GB) } : {}),
    fragmentationFloorBytes: thresholdsFor(ctx.config, ctx.target).optimizeMinSizeMb * 1024 * 1024,
    dryRun: ctx.event.dryRun,
    now: ctx.now,
    problems: (p) => ctx.runLog.note(p),
  });
  const db = result.database;
  const metrics: MetricPoint[] = [
    point(METRIC.DatabaseSizeBytes, db.totalBytes),
    point(METRIC.TableCount, db.tableCount),
    point(METRIC.MaxFragmentationPercent, db.maxFragmentation?.percent ?? 0),
    point(METRIC.MaxAutoIncrementUsedPercent, db.maxAutoIncrement?.percent ?? 0),
  ];
  // No trend yet: publish nothing rather than a zero an alarm would read as "not growing".
  if ('perDay' in result.growth.bytes) metrics.push(point(METRIC.GrowthBytesPerDay, Math.round(result.growth.bytes.perDay)));
  if ('perDay' in result.growth.rows) metrics.push(point(METRIC.GrowthRowsPerDay, Math.round(result.growth.rows.perDay)));
  if (result.capacity?.daysToLimit != null) metrics.push(point(METRIC.DaysToStorageLimit, result.capacity.daysToLimit));
  const tableMetrics = result.tables.slice(0, settings.metricTables).map((t) => ({
    table: `${t.schema}.${t.table}`,
    points: [
      point(METRIC.TableSizeBytes, t.totalBytes),
      ...(t.fragmentationPercent !== null ? [point(METRIC.FragmentationPercent, t.fragmentationPercent)] : []),
      ...(t.autoIncrement?.usedPercent != null ? [point(METRIC.AutoIncrementUsedPercent, t.autoIncrement.usedPercent)] : []),
    ],
  }));
  // A Lambda response is capped at 6 MB: 5,000 tables would come close. The largest tables are
  // returned; every table is in the history snapshot and in the totals.
  const returned = result.tables.slice(0, RETURNED_TABLES);
  return {
    result: { ...result, tables: returned, ...(result.tables.length > returned.length ? { tablesOmitted: result.tables.length - returned.length } : {}) },
    status: 'succeeded',
    metrics,
    tableMetrics,
  };
}
