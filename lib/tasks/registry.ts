// One runner per catalogue task: how its event is parsed and checked, and what it does with an open session.
import type { TaskId } from '../catalogue';
import { thresholdsFor, type TargetConfig } from '../config/schema';
import {
  analyzeEventSchema,
  archiveOrdersEventSchema,
  cleanupEventSchema,
  collectStatisticsEventSchema,
  optimizeEventSchema,
  rebuildIndexesEventSchema,
  recommendationsEventSchema,
  reportEventSchema,
  preflightEventSchema,
  type PreflightEvent,
  type RecommendationsEvent,
  type ReportEvent,
  type CollectStatisticsEvent,
  type OptimizeEvent,
  type RebuildIndexesEvent,
  EventValidationError,
  parseEvent,
  type AnalyzeEvent,
  type ArchiveOrdersEvent,
  type CleanupEvent,
} from '../events/schema';
import { archiveOrdersRule, cleanupRule } from '../retention/rules';
import type { RetentionRule } from '../retention/engine';
import { exclusionOf, refuseExcludedPayloadTable } from './exclusions';
import { runRetention, type RetentionResult } from './retention-runner';
import { analyzeTables, type AnalyzeResult } from '../maintenance/analyze';
import { METRIC, point } from '../metrics/names';
import { assertTablesExist, resolveTableRefs } from './target';
import type { TaskContext, TaskOutcome } from './run-task';
import { runCollectStatistics } from './statistics-runner';
import { rebuildTableNames, runOptimize, runRebuildIndexes } from './rebuild-runner';
import type { CollectResult } from '../stats/collect';
import type { OptimizeResult } from '../maintenance/optimize';
import type { RebuildResult } from '../maintenance/rebuild';
import { runRecommendations } from './recommendations-runner';
import { preflight, type PreflightResult } from '../maintenance/preflight';
import { runDailyReport, runWeeklyReport, type ReportResult } from './report-runner';
import { withLockWatch } from './lock-watch';

export interface BaseEvent {
  readonly target?: string;
  readonly routine?: { readonly id: string; readonly execution?: string };
  readonly dryRun: boolean;
  readonly maxRunSeconds?: number;
}

export interface TaskRunner<E extends BaseEvent, R> {
  parse(raw: unknown): E;
  /** Static checks of the event against the target's configuration (no SQL). */
  validate?(event: E, target: TargetConfig): void;
  run(ctx: TaskContext<E>): Promise<TaskOutcome<R>>;
}

const analyzeRunner: TaskRunner<AnalyzeEvent, AnalyzeResult> = {
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

/**
 * The target's cleanup rules, narrowed to the tables an event names: each must have a rule, an unqualified name must
 * not match rules in several schemas, and a rule named twice (also as `t` and `schema.t`) runs once.
 */
function selectCleanupRules(event: CleanupEvent, target: TargetConfig): RetentionRule[] {
  const rules = target.cleanupRules.map((r) => cleanupRule(target, r));
  const refs = resolveTableRefs(target, event.tables);
  if (!refs) return rules;
  const chosen: RetentionRule[] = [];
  refs.forEach((ref, i) => {
    const field = `event.tables[${i}]`;
    const matches = rules.filter((r) => r.table === ref.table && (ref.schema === undefined || r.schema === ref.schema));
    if (matches.length === 0) {
      const excluded = (ref.schema ? [ref.schema] : target.schemas).map((s) => exclusionOf(target, s, ref.table)).find((e) => e !== undefined);
      throw new EventValidationError(
        `${field}: no cleanup rule for table '${ref.schema ? `${ref.schema}.` : ''}${ref.table}' on target '${target.name}'` +
          (excluded ? ` (it is in excludeTables[${excluded.index}] (${excluded.entry}), which no rule may name)` : ''),
      );
    }
    if (matches.length > 1) {
      throw new EventValidationError(`${field}: table '${ref.table}' has cleanup rules in several schemas (${matches.map((m) => m.schema).join(', ')}); name it as schema.table`);
    }
    const rule = matches[0]!;
    refuseExcludedPayloadTable(target, event, field, rule);
    if (!chosen.includes(rule)) chosen.push(rule);
  });
  return chosen;
}

const cleanupRunner: TaskRunner<CleanupEvent, RetentionResult> = {
  parse: (raw) => parseEvent(cleanupEventSchema, raw, 'cleanup-data'),
  validate: (event, target) => void selectCleanupRules(event, target),
  run: (ctx) => runRetention(ctx, selectCleanupRules(ctx.event, ctx.target)),
};

function archiveOrdersConfig(target: TargetConfig) {
  if (!target.archiveOrders) throw new EventValidationError(`event.target: target '${target.name}' has no archiveOrders configuration`);
  return target.archiveOrders;
}

const archiveOrdersRunner: TaskRunner<ArchiveOrdersEvent, RetentionResult> = {
  parse: (raw) => parseEvent(archiveOrdersEventSchema, raw, 'archive-orders'),
  validate: (_event, target) => void archiveOrdersConfig(target),
  run: (ctx) => runRetention(ctx, [archiveOrdersRule(ctx.target, archiveOrdersConfig(ctx.target), ctx.event.daysOld)]),
};

const collectStatisticsRunner: TaskRunner<CollectStatisticsEvent, CollectResult> = {
  parse: (raw) => parseEvent(collectStatisticsEventSchema, raw, 'collect-statistics'),
  run: runCollectStatistics,
};

const optimizeRunner: TaskRunner<OptimizeEvent, OptimizeResult> = {
  parse: (raw) => parseEvent(optimizeEventSchema, raw, 'optimize-tables'),
  validate: (event, target) => void resolveTableRefs(target, event.tables),
  run: runOptimize,
};

const rebuildIndexesRunner: TaskRunner<RebuildIndexesEvent, RebuildResult> = {
  parse: (raw) => parseEvent(rebuildIndexesEventSchema, raw, 'rebuild-indexes'),
  validate: (event, target) => void rebuildTableNames(event, target),
  run: runRebuildIndexes,
};

const preflightRunner: TaskRunner<PreflightEvent, PreflightResult> = {
  parse: (raw) => parseEvent(preflightEventSchema, raw, 'preflight'),
  async run(ctx) {
    // What this run found when it probed the run log's writes: preflight names it when the grants look complete.
    const result = await preflight(ctx.db, ctx.config, ctx.target, ctx.runLog.notes);
    return {
      result,
      // Missing grants are findings, not a failure of the check itself.
      status: 'succeeded',
      metrics: [point(METRIC.PreflightProblems, result.capabilities.filter((c) => !c.ok).length), point(METRIC.TasksBlocked, result.blockedTasks.length)],
    };
  },
};

const recommendationsRunner: TaskRunner<RecommendationsEvent, unknown> = {
  parse: (raw) => parseEvent(recommendationsEventSchema, raw, 'recommendations'),
  run: runRecommendations,
};

function reportRunner(task: 'daily-report' | 'weekly-report', run: (ctx: TaskContext<ReportEvent>) => Promise<TaskOutcome<ReportResult>>): TaskRunner<ReportEvent, ReportResult> {
  return {
    parse: (raw) => parseEvent(reportEventSchema, raw, task),
    validate: (_event, _target) => undefined,
    run,
  };
}

// Keyed by the catalogue's ids: adding a task to the catalogue without a runner fails to compile.
export const TASK_RUNNERS: { readonly [K in TaskId]: TaskRunner<BaseEvent, unknown> } = {
  preflight: preflightRunner as TaskRunner<BaseEvent, unknown>,
  'analyze-tables': analyzeRunner as TaskRunner<BaseEvent, unknown>,
  'cleanup-data': cleanupRunner as TaskRunner<BaseEvent, unknown>,
  'archive-orders': archiveOrdersRunner as TaskRunner<BaseEvent, unknown>,
  'collect-statistics': collectStatisticsRunner as TaskRunner<BaseEvent, unknown>,
  'optimize-tables': optimizeRunner as TaskRunner<BaseEvent, unknown>,
  'rebuild-indexes': rebuildIndexesRunner as TaskRunner<BaseEvent, unknown>,
  recommendations: recommendationsRunner as TaskRunner<BaseEvent, unknown>,
  'daily-report': reportRunner('daily-report', runDailyReport) as TaskRunner<BaseEvent, unknown>,
  'weekly-report': reportRunner('weekly-report', runWeeklyReport) as TaskRunner<BaseEvent, unknown>,
};
