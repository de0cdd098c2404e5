// The analyze-tables task's runner: how its event is parsed and checked, and what it does with an open session.
import { thresholdsFor } from '../../config/schema';
import { analyzeEventSchema, parseEvent, type AnalyzeEvent } from '../../events/schema';
import { analyzeTables, type AnalyzeResult } from '../../maintenance/analyze';
import { METRIC, point } from '../../metrics/names';
import { assertTablesExist, resolveTableRefs } from '../target';
import type { TaskRunner } from '../task-runner';
import { withLockWatch } from '../lock-watch';

export const analyzeRunner: TaskRunner<AnalyzeEvent, AnalyzeResult> = {
  parse: (raw) => parseEvent(analyzeEventSchema, raw, 'analyze-tables'),
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
      analyzeTables(ctx.db, ctx.runLog, ctx.deadline, ctx.log, {
        schemas: ctx.target.schemas,
        ...(refs ? { tables: refs } : {}),
        excludeTables: resolveTableRefs(ctx.target, ctx.target.excludeTables, 'config.excludeTables') ?? [],
        analyzeAfterDays: thresholdsFor(ctx.config, ctx.target).analyzeAfterDays,
        analyzeModifiedPercent: thresholdsFor(ctx.config, ctx.target).analyzeModifiedPercent,
        force: ctx.event.force,
        dryRun: ctx.event.dryRun,
        now: ctx.now,
        lockWatch,
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
};
