// The collect-statistics task: measure, snapshot, trend, the metrics alarms and dashboards read, its digest and summary.
import * as z from 'zod';
import { historySchemaOf, thresholdsFor } from '../../config/schema';
import { baseEventShape } from '../../events/schema';
import { METRIC, point, type MetricPoint } from '../../metrics/names';
import { collectStatistics as collect, type CollectResult } from '../../stats/collect';
import { formatBytes, textTable } from '../../reporting/text-table';
import type { Trend } from '../../stats/trend';
import { defineTask, type TaskContext, type TaskOutcome } from '../task-module';

const eventSchema = z.strictObject({
  ...baseEventShape,
});
type CollectStatisticsEvent = z.output<typeof eventSchema>;

const GB = 1024 ** 3;
const RETURNED_TABLES = 500;

async function runCollectStatistics(ctx: TaskContext<CollectStatisticsEvent>): Promise<TaskOutcome<CollectResult>> {
  const settings = ctx.config.statistics;
  const result = await collect(ctx.db, ctx.deadline, ctx.log, {
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

function collectDigest(r: CollectResult) {
  const g = r.growth.bytes;
  return {
    headline: `${formatBytes(r.database.totalBytes)} in ${r.database.tableCount} tables; growth ${'perDay' in g ? `${formatBytes(Math.round(g.perDay))}/day` : 'not enough history'}`,
    rows: r.topGrowers.map((t) => ({ table: t.table, action: 'growing', afterBytes: t.totalBytes, detail: `${formatBytes(t.bytesPerDay)}/day` })),
  };
}

function pct(n: number | null | undefined): string {
  return n === null || n === undefined ? '-' : `${n}%`;
}

function trendText(t: Trend, unit: (n: number) => string): string {
  return 'perDay' in t ? `${unit(Math.round(t.perDay))}/day (${t.points} snapshots over ${t.spanDays.toFixed(1)} d)` : `not enough history: ${t.notEnoughHistory}`;
}

function statisticsSummary(r: CollectResult, maxTables = 15): string {
  const d = r.database;
  const rows = r.tables.slice(0, maxTables).map((t) => [
    `${t.schema}.${t.table}`,
    t.engine ?? '-',
    (t.rowsExact ?? t.rowsEstimate).toLocaleString('en') + (t.rowsExact === undefined ? ' ~' : ''),
    formatBytes(t.dataBytes),
    formatBytes(t.indexBytes),
    formatBytes(t.freeBytes),
    formatBytes(t.totalBytes),
    t.sharedTablespace ? 'shared' : t.statsStale ? `≥${pct(t.fragmentationPercent)} (stale stats)` : pct(t.fragmentationPercent),
    t.autoIncrement ? `${pct(t.autoIncrement.usedPercent)} ${t.autoIncrement.columnType}` : '',
  ]);
  const lines = [
    `Database  ${formatBytes(d.totalBytes)} in ${d.tableCount} tables (data ${formatBytes(d.dataBytes)}, indexes ${formatBytes(d.indexBytes)} in ${d.indexCount}, free ${formatBytes(d.freeBytes)}), ~${d.rowsEstimate.toLocaleString('en')} rows; read in ${r.readSeconds} s`,
    `Growth    ${trendText(r.growth.bytes, formatBytes)}; rows ${trendText(r.growth.rows, (n) => n.toLocaleString('en'))} (window ${r.growth.windowDays} d)`,
  ];
  if (r.capacity) {
    const c = r.capacity;
    lines.push(`Capacity  ${c.usedPercent}% of ${formatBytes(c.limitBytes)}; ${c.daysToLimit === null ? `no projection (${c.note ?? 'not growing'})` : `limit reached in ${c.daysToLimit} days`}`);
  }
  if (d.maxFragmentation) lines.push(`Most fragmented  ${d.maxFragmentation.table} ${d.maxFragmentation.percent}% (of the tables over the optimize size floor)`);
  if (d.maxAutoIncrement) lines.push(`AUTO_INCREMENT   ${d.maxAutoIncrement.table}.${d.maxAutoIncrement.column} has used ${d.maxAutoIncrement.percent}% of its range`);
  if (d.sharedTablespaceTables.length) lines.push(`Shared tablespace (free space is the tablespace's): ${d.sharedTablespaceTables.join(', ')}`);
  lines.push('', textTable(['table', 'engine', 'rows', 'data', 'index', 'free', 'total', 'frag', 'auto_increment'], rows));
  const total = r.tables.length + (r.tablesOmitted ?? 0);
  if (total > maxTables) lines.push(`… and ${total - maxTables} smaller tables`);
  if (r.partitioned?.length) {
    lines.push(
      '',
      'Partitioned tables',
      textTable(
        ['table', 'method', 'partitions', 'rows (est.)', 'size', 'largest', 'oldest', 'newest'],
        r.partitioned.map((p) => [p.table, p.method, String(p.partitions), p.rowsEstimate.toLocaleString('en'), formatBytes(p.bytes), `${p.largest.name} ${formatBytes(p.largest.bytes)}`, `${p.oldest.name} < ${p.oldest.bound ?? '-'}`, `${p.newest.name} < ${p.newest.bound ?? '-'}`]),
      ),
    );
  }
  if (r.topGrowers.length) {
    lines.push('', 'Top growers', textTable(['table', 'per day', 'rows/day', 'size'], r.topGrowers.map((g) => [g.table, formatBytes(g.bytesPerDay), g.rowsPerDay.toLocaleString('en'), formatBytes(g.totalBytes)])));
  }
  lines.push('', r.history.written ? `Snapshot written to ${r.history.tables}` : `No snapshot written to ${r.history.tables} (a dry run, or the history cannot be written: see the run log notes)`);
  return lines.join('\n');
}

export const collectStatistics = defineTask({
  id: 'collect-statistics',
  dashboard: {
    fleet: [
      { title: 'Largest databases', metric: METRIC.DatabaseSizeBytes.name, stat: 'Maximum' },
      { title: 'Fastest growing (bytes/day)', metric: METRIC.GrowthBytesPerDay.name, stat: 'Maximum' },
      { title: 'Most fragmented (max %, tables over the floor)', metric: METRIC.MaxFragmentationPercent.name, stat: 'Maximum' },
      { title: 'Fewest days to the storage limit', metric: METRIC.DaysToStorageLimit.name, stat: 'Minimum', order: 'ASC' },
    ],
    database: [
      {
        title: 'Database size',
        series: [
          { metric: METRIC.DatabaseSizeBytes.name, stat: 'Maximum', label: 'size' },
          { metric: METRIC.GrowthBytesPerDay.name, stat: 'Maximum', label: 'growth/day', axis: 'right' },
        ],
      },
      { title: 'Fragmentation (max, tables over the floor)', series: [{ metric: METRIC.MaxFragmentationPercent.name, stat: 'Maximum', label: 'max %' }] },
    ],
  },
  description:
    'Sizes, rows, indexes, free space and fragmentation, AUTO_INCREMENT headroom per table; a snapshot into the history tables; growth by least squares, top growers, days to `storageLimitGb`.',
  eventSchema,
  run: runCollectStatistics,
  digest: collectDigest,
  summary: (r) => statisticsSummary(r),
});
