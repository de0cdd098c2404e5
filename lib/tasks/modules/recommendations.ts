// The recommendations task: generate, count by priority, mail the high-priority ones as an alert; its digest and summary.
import * as z from 'zod';
import { ROUTINES, tasksWhere } from '../../catalogue';
import type { RebuildLimits } from '../../recommend/check';
import { rebuildRate } from '../../maintenance/rebuild-rate';
import { ghostCommand, ptOscCommand, ptOscServer } from '../../maintenance/pt-osc';
import { parseTableRef } from '../../db/identifiers';
import { historySchemaOf, thresholdsFor } from '../../config/schema';
import { baseEventShape } from '../../events/schema';
import { METRIC, point } from '../../metrics/names';
import { generateRecommendations } from '../../recommend/generate';
import type { RecommendationsResult } from '../../recommend/types';
import { sendAlerts, type AlertOutcome } from '../../reporting/alerts';
import { readTargetTables, resolveTableName } from '../../config/table-names';
import { placeRetentionRules } from '../../retention/rules';
import { textTable } from '../../reporting/text-table';
import { defineTask, type DigestBody, type TaskContext, type TaskOutcome } from '../task-module';
import { TaskRuns } from '../../runlog/task-runs';
import { replicaSessions } from '../replica-sessions';

const GB = 1024 ** 3;

const eventSchema = z.strictObject({
  ...baseEventShape,
});
type RecommendationsEvent = z.output<typeof eventSchema>;

/** One invocation of a rebuild step in the routines: the shortest budget a table must fit. */
const REBUILD_BUDGET_SECONDS = Math.min(...ROUTINES.flatMap((r) => r.steps.filter((s) => tasksWhere((t) => t.capability === 'rebuild').includes(s.task)).map((s) => s.budgetSeconds)));

async function rebuildLimits(ctx: TaskContext<RecommendationsEvent>): Promise<RebuildLimits> {
  const history = await ctx.runLog.history('REBUILD', 500, 'no measured rebuild rate: REBUILD_TOO_LARGE estimates with optimize.defaultRebuildMbPerSecond');
  const server = await ptOscServer(ctx.credentials, ctx.target);
  const existing = await readTargetTables(ctx.db, ctx.target.schemas);
  const rebuildTables = ctx.target.rebuildTables.flatMap((name, i) => {
    try {
      const t = resolveTableName(parseTableRef(name), ctx.target, existing, `config.rebuildTables[${i}]`);
      return t ? [t] : [];
    } catch {
      return []; // rebuild-indexes refuses it with the reason; nothing to estimate here
    }
  });
  return {
    rate: rebuildRate(history, ctx.config.optimize),
    budgetSeconds: REBUILD_BUDGET_SECONDS,
    longRunner: ctx.config.longRunner.enabled,
    rebuildTables,
    commands: (schema, table) => ({ ptOsc: ptOscCommand(server.at(schema, table), ctx.config.optimize, ctx.config.purge), ghost: ghostCommand(server.at(schema, table), ctx.config.optimize, ctx.config.purge) }),
  };
}

async function runRecommendations(ctx: TaskContext<RecommendationsEvent>): Promise<TaskOutcome<RecommendationsResult & { alert?: AlertOutcome }>> {
  const s = ctx.config.statistics;
  // Each rule placed as its task places it; one whose unqualified table is ambiguous is left out (preflight names it).
  const rules = placeRetentionRules(ctx.target, await readTargetTables(ctx.db, ctx.target.schemas)).flatMap((p) => ('rule' in p ? [p.rule] : []));
  const replicas = replicaSessions(ctx);
  let result: RecommendationsResult;
  try {
    result = await generateRecommendations(ctx.db, {
      schemas: ctx.target.schemas,
      target: ctx.target.name,
      settings: ctx.config.recommendations,
      thresholds: thresholdsFor(ctx.config, ctx.target),
      retentionRules: rules,
      historySchema: historySchemaOf(ctx.config),
      ...(ctx.target.storageLimitGb !== undefined ? { storageLimitBytes: Math.round(ctx.target.storageLimitGb * GB) } : {}),
      growthWindowDays: s.growthWindowDays,
      minHistoryHours: s.minHistoryHours,
      now: ctx.now,
      problems: (p) => ctx.runLog.note(p),
      rebuild: await rebuildLimits(ctx),
      partitionsAheadBelow: ctx.config.alarms.partitionsAheadBelow,
      advisor: { sampleSeconds: ctx.config.recommendations.advisorSampleSeconds },
      replicas: () => replicas.nodes(),
    });
  } finally {
    await replicas.close();
  }
  // What preflight found (the latest check of this target within a day) leads the list: nothing else matters as much.
  const runs = new TaskRuns(ctx.db, ctx.config.runLog.schema, ctx.log, (p) => ctx.runLog.note(p));
  const check = (await runs.since(ctx.target.name, new Date(ctx.now.getTime() - 86_400_000), tasksWhere((t) => t.gatesLaterSteps === true), "preflight's findings are not listed")).pop();
  const found = check?.recommendations ?? [];
  if (found.length) {
    result = { ...result, items: [...found, ...result.items], counts: { ...result.counts, high: result.counts.high + found.length } };
  }
  let alert: AlertOutcome | undefined;
  if (!ctx.event.dryRun && ctx.mailer) {
    const high = result.items
      .filter((i) => i.priority === 'high')
      .map((i) => ({ key: `rec:${i.code}:${i.object}`, kind: 'recommendation' as const, title: `${i.code}: ${i.object}`, detail: i.fix ? `${i.message}\nFix: ${i.fix}` : i.message }));
    alert = await sendAlerts(ctx.db, ctx.config, ctx.target.name, ctx.mailer, ctx.log, ctx.now, high, (p) => ctx.runLog.note(p));
  }
  return {
    result: { ...result, ...(alert ? { alert } : {}) },
    status: 'succeeded',
    metrics: [
      point(METRIC.RecommendationsHigh, result.counts.high),
      point(METRIC.RecommendationsMedium, result.counts.medium),
      point(METRIC.RecommendationsLow, result.counts.low),
      ...(alert ? [point(METRIC.ReportsSent, alert.sent ? 1 : 0), point(METRIC.ReportSendFailed, alert.error ? 1 : 0)] : []),
    ],
  };
}

/** Reports show the top recommendations from the latest run; 100 keeps the stored digest small. */
const KEPT_RECOMMENDATIONS = 100;

function recommendationsDigest(r: RecommendationsResult): DigestBody {
  return {
    headline: `${r.counts.high} high, ${r.counts.medium} medium, ${r.counts.low} low recommendations`,
    rows: r.items.filter((i) => i.priority === 'high').map((i) => ({ table: i.object, action: i.code, detail: i.message })),
    recommendations: r.items.slice(0, KEPT_RECOMMENDATIONS),
  };
}

function recommendationsSummary(r: RecommendationsResult): string {
  const rows = r.items.map((i) => [i.priority, i.code, i.object.length > 60 ? `${i.object.slice(0, 57)}...` : i.object, i.message]);
  const skipped = r.checks.filter((c) => c.status === 'skipped');
  return [
    rows.length ? textTable(['priority', 'code', 'object', 'message'], rows) : 'No recommendations.',
    `Recommendations: ${r.counts.high} high, ${r.counts.medium} medium, ${r.counts.low} low (${r.checks.length - skipped.length} checks ran)`,
    ...skipped.map((c) => `Skipped ${c.code}: ${c.note ?? ''}`),
  ].join('\n');
}

export const recommendations = defineTask({
  id: 'recommendations',
  dashboard: {
    fleet: [{ title: 'Most high-priority recommendations', metric: METRIC.RecommendationsHigh.name, stat: 'Maximum' }],
    database: [
      {
        title: 'Recommendations by priority',
        series: [
          { metric: METRIC.RecommendationsHigh.name, stat: 'Maximum', label: 'high' },
          { metric: METRIC.RecommendationsMedium.name, stat: 'Maximum', label: 'medium' },
          { metric: METRIC.RecommendationsLow.name, stat: 'Maximum', label: 'low' },
        ],
      },
    ],
  },
  description:
    'Prioritised findings with evidence and fixes: fragmentation, large and fast-growing tables, storage horizon, AUTO_INCREMENT headroom, missing primary keys, non-InnoDB tables, duplicate/redundant/unused indexes, stale statistics, retention rules without an index or falling behind, connection usage, slow statements. High-priority items are mailed as an alert (once per `reports.alertPeriodHours`).',
  eventSchema,
  run: runRecommendations,
  digest: recommendationsDigest,
  summary: recommendationsSummary,
});
