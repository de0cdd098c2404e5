// The analyze-tables task: its event, its run (ANALYZE the stale tables), its metrics, digest and summary.
import { thresholdsFor } from '../../config/schema';
import * as z from 'zod';
import { analyzeFlushesTable, describeFlavour } from '../../db/flavour';
import { baseEventShape, tableRefText } from '../../events/schema';
import { analyzeTables as analyze, type AnalyzeResult } from '../../maintenance/analyze';
import { METRIC, point } from '../../metrics/names';
import { assertTablesExist, resolveTableRefs } from '../target';
import { defineTask } from '../task-module';
import { textTable } from '../../reporting/text-table';
import { withLockWatch } from '../lock-watch';

const eventSchema = z.strictObject({
  ...baseEventShape,
  tables: z.array(tableRefText).min(1).max(500).optional(),
  force: z.boolean().default(false),
});

function analyzeDigest(r: AnalyzeResult) {
  const rows = r.tables
    .filter((t) => t.action !== 'fresh')
    .map((t) => ({ table: `${t.schema}.${t.table}`, action: t.action, ...(t.durationMs !== undefined ? { durationSeconds: t.durationMs / 1000 } : {}), ...(t.detail || t.reason ? { detail: t.detail ?? t.reason! } : {}) }));
  return { headline: `analyzed ${r.counts.analyzed} table(s), ${r.counts.fresh} fresh${r.counts.failed ? `, ${r.counts.failed} failed` : ''}`, rows };
}

function analyzeSummary(r: AnalyzeResult): string {
  const rows = r.tables.map((t) => [
    `${t.schema}.${t.table}`,
    t.engine ?? '-',
    t.statsUpdatedAt ? t.statsUpdatedAt.replace('T', ' ').slice(0, 19) : 'never',
    t.statsAgeDays === null ? '-' : t.statsAgeDays.toFixed(1),
    t.modifiedPercent === null ? '-' : `${t.modifiedPercent}%`,
    t.action,
    t.reason ?? '',
    t.durationMs === undefined ? '' : `${t.durationMs} ms`,
    t.detail ?? '',
  ]);
  const counts = Object.entries(r.counts)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const parts = [
    `Statistics older than ${r.staleBefore.replace('T', ' ').slice(0, 19)} UTC are stale.`,
    textTable(['table', 'engine', 'stats updated (UTC)', 'age d', 'changed', 'action', 'reason', 'took', 'detail'], rows),
    `Tables: ${counts || 'none'}${r.viewsIgnored ? ` (${r.viewsIgnored} view(s) ignored)` : ''}`,
  ];
  if (!r.modificationCounters) parts.push('Modification counters not readable (PROCESS privilege): tables chosen by statistics age only.');
  if (r.stoppedAtDeadline) parts.push(`Stopped at the time budget; left for the next run: ${r.remaining.join(', ')}`);
  return parts.join('\n');
}

export const analyzeTables = defineTask({
  id: 'analyze-tables',
  description:
    'ANALYZE TABLE on InnoDB tables whose persistent statistics are older than `thresholds.analyzeAfterDays` or were never collected.',
  eventSchema,
  validate: (event, target) => void resolveTableRefs(target, event.tables),
  async run(ctx) {
    const refs = resolveTableRefs(ctx.target, ctx.event.tables);
    if (refs) {
      // Read-only lookup: a named table that does not exist is an input error, reported before any ANALYZE.
      const existing = await ctx.db.query<{ schema: string; table: string }>(
        'SELECT TABLE_SCHEMA AS `schema`, TABLE_NAME AS `table` FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (?)',
        [ctx.target.schemas],
      );
      assertTablesExist(refs, existing, ctx.target);
    }
    const result = await withLockWatch(ctx, (lockWatch) =>
      analyze(ctx.db, ctx.runLog, ctx.deadline, ctx.log, {
        schemas: ctx.target.schemas,
        ...(refs ? { tables: refs } : {}),
        excludeTables: resolveTableRefs(ctx.target, ctx.target.excludeTables, 'config.excludeTables') ?? [],
        analyzeAfterDays: thresholdsFor(ctx.config, ctx.target).analyzeAfterDays,
        analyzeModifiedPercent: thresholdsFor(ctx.config, ctx.target).analyzeModifiedPercent,
        force: ctx.event.force,
        dryRun: ctx.event.dryRun,
        now: ctx.now,
        lockWatch,
        ...(analyzeFlushesTable(ctx.db.flavour) ? { behindQueryGuard: { seconds: thresholdsFor(ctx.config, ctx.target).analyzeBehindQuerySeconds, version: describeFlavour(ctx.db.flavour) } } : {}),
      }),
    );
    const c = result.counts;
    return {
      result,
      status: c.failed > 0 ? 'failed' : result.stoppedAtDeadline ? 'stopped-at-deadline' : 'succeeded',
      metrics: [
        point(METRIC.TablesAnalyzed, c.analyzed),
        point(METRIC.TablesStale, c.analyzed + c['would-analyze'] + c.deferred + c.failed),
        point(METRIC.TablesFailed, c.failed),
        point(METRIC.TablesDeferred, c.deferred),
      ],
    };
  },
  digest: analyzeDigest,
  summary: analyzeSummary,
});
