// Plain-text summaries of collect-statistics and of the rebuild tasks (optimize-tables, rebuild-indexes).
import type { RebuildResult } from '../maintenance/rebuild';
import type { CollectResult } from '../stats/collect';
import type { RecommendationsResult } from '../recommend/types';
import type { PreflightResult } from '../maintenance/preflight';
import type { Trend } from '../stats/trend';
import { formatBytes, textTable } from './text-table';

function pct(n: number | null | undefined): string {
  return n === null || n === undefined ? '-' : `${n}%`;
}

function trendText(t: Trend, unit: (n: number) => string): string {
  return 'perDay' in t ? `${unit(Math.round(t.perDay))}/day (${t.points} snapshots over ${t.spanDays.toFixed(1)} d)` : `not enough history: ${t.notEnoughHistory}`;
}

export function statisticsSummary(r: CollectResult, maxTables = 15): string {
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
  if (r.topGrowers.length) {
    lines.push('', 'Top growers', textTable(['table', 'per day', 'rows/day', 'size'], r.topGrowers.map((g) => [g.table, formatBytes(g.bytesPerDay), g.rowsPerDay.toLocaleString('en'), formatBytes(g.totalBytes)])));
  }
  lines.push('', r.history.written ? `Snapshot written to ${r.history.tables}` : `No snapshot written to ${r.history.tables} (a dry run, or the history cannot be written: see the run log notes)`);
  return lines.join('\n');
}

export function rebuildSummary(r: RebuildResult): string {
  const rows = r.tables.map((t) => [
    `${t.schema}.${t.table}`,
    t.action,
    `${formatBytes(t.before.totalBytes)} (${pct(t.before.fragmentationPercent)} free)`,
    t.after ? `${formatBytes(t.after.totalBytes)} (${pct(t.after.fragmentationPercent)} free)` : '',
    t.reclaimedBytes !== undefined ? formatBytes(t.reclaimedBytes) : '',
    t.durationSeconds !== undefined ? `${t.durationSeconds} s` : t.estimatedSeconds !== undefined ? `~${t.estimatedSeconds} s` : '',
    t.detail ?? t.reason,
  ]);
  const counts = Object.entries(r.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const lines = [
    rows.length ? textTable(['table', 'action', 'before', 'after', 'reclaimed', 'took', 'why'], rows) : 'No table crossed the thresholds.',
    `Tables: ${counts || 'none'}; reclaimed ${formatBytes(r.bytesReclaimed)}`,
    `Rebuild rate for estimates: ${formatBytes(r.rate.bytesPerSecond)}/s (${r.rate.source === 'measured' ? `measured over ${r.rate.samples} earlier rebuilds` : 'configured default'}); metadata locks visible via ${r.lockVisibility}`,
  ];
  if (r.stoppedAtDeadline) lines.push(`Stopped at the time budget; left for the next run: ${r.remaining.join(', ')}`);
  return lines.join('\n');
}

export function recommendationsSummary(r: RecommendationsResult): string {
  const rows = r.items.map((i) => [i.priority, i.code, i.object.length > 60 ? `${i.object.slice(0, 57)}...` : i.object, i.message]);
  const skipped = r.checks.filter((c) => c.status === 'skipped');
  return [
    rows.length ? textTable(['priority', 'code', 'object', 'message'], rows) : 'No recommendations.',
    `Recommendations: ${r.counts.high} high, ${r.counts.medium} medium, ${r.counts.low} low (${r.checks.length - skipped.length} checks ran)`,
    ...skipped.map((c) => `Skipped ${c.code}: ${c.note ?? ''}`),
  ].join('\n');
}

export function preflightSummary(r: PreflightResult): string {
  // A long list (the run log's tables) goes under the table, one line each, rather than into one wide cell.
  const LONG = 160;
  const text = (c: PreflightResult['capabilities'][number]) => [...c.missing, ...c.notes].join('; ');
  const rows = r.capabilities.map((c) => [c.capability, c.ok ? 'ok' : c.status.toUpperCase(), c.tasks.join(', ') || 'all (none blocked)', text(c).length > LONG ? 'see below' : text(c)]);
  const details = r.capabilities.filter((c) => text(c).length > LONG).flatMap((c) => ['', `${c.capability}:`, ...[...c.missing, ...c.notes].map((l) => `  ${l}`)]);
  const fixes = r.capabilities.flatMap((c) => c.fix);
  return [
    `User ${r.user}; performance_schema ${r.settings['performance_schema']}, innodb_file_per_table ${r.settings['innodb_file_per_table']}`,
    `Rating ${r.rating}`,
    textTable(['capability', 'status', 'tasks', 'missing / notes'], rows),
    ...(details.length ? [...details, ''] : []),
    r.blockedTasks.length ? `Blocked (a routine skips them): ${r.blockedTasks.join(', ')}` : 'Nothing blocked.',
    ...(fixes.length ? ['', 'To fix:', ...fixes.map((f) => `  ${f}`)] : []),
  ].join('\n');
}
