// Reads what a report shows from the server: recorded task runs, the statistics history, the latest recommendations.
import { tasksWhere } from '../catalogue';
import { historySchemaOf, type DbMaintConfig, type TargetConfig } from '../config/schema';
import type { DbSession } from '../db/connection';
import type { StepOutcome } from '../events/schema';
import type { Recommendation } from '../recommend/types';
import { TaskRuns } from '../runlog/task-runs';
import { silentLog } from '../runtime/log';
import { SCHEMA_HISTORY, StatisticsHistory, TABLE_HISTORY } from '../stats/history';
import type { StoreProblem } from '../runlog/store-access';
import { daysUntil, slopeFromSums } from '../stats/trend';
import type { DailyReportData, DatabaseFigures, TaskRunDigest, WeeklyReportData } from './report-data';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const GB = 1024 ** 3;
/** Report runs are not what a report reports on. */
const REPORT_TASKS: readonly string[] = tasksWhere((t) => t.requires === 'reports');

export interface GatherContext {
  readonly db: DbSession;
  readonly config: DbMaintConfig;
  readonly target: TargetConfig;
  readonly now: Date;
  readonly server?: string;
  /** Where an unreadable task-run table or history is reported (the run's notes); the report goes out without that part. */
  readonly problems?: (p: StoreProblem) => void;
}

function historySchema(ctx: GatherContext): string {
  return historySchemaOf(ctx.config);
}

function history(ctx: GatherContext): StatisticsHistory {
  return new StatisticsHistory(ctx.db, historySchema(ctx), ctx.target.name);
}

/**
 * Recorded runs since the period start, plus the routine's steps that left no record (a step
 * that never reached the database: its failure is known only from the routine's state).
 */
async function runsSince(ctx: GatherContext, since: Date, steps: readonly StepOutcome[]): Promise<TaskRunDigest[]> {
  const runs = new TaskRuns(ctx.db, ctx.config.runLog.schema, silentLog, ctx.problems);
  const recorded = (await runs.since(ctx.target.name, since, undefined, "the report lists only this routine's step outcomes")).filter((r) => !REPORT_TASKS.includes(r.task));
  const known = new Set(recorded.map((r) => r.runId));
  const unrecorded = steps
    .filter((s) => s.status !== 'skipped' && !REPORT_TASKS.includes(s.task) && (s.runId == null || !known.has(s.runId)))
    .map(
      (s): TaskRunDigest => ({
        task: s.task,
        target: ctx.target.name,
        runId: s.runId ?? null,
        status: s.status,
        dryRun: false,
        startedAt: ctx.now.toISOString(),
        durationSeconds: s.durationSeconds ?? 0,
        ...(s.error ? { error: s.error.slice(0, 2000) } : {}),
        headline: s.status === 'failed' ? 'failed before its run was recorded' : s.status,
        rows: [],
      }),
    );
  return [...recorded, ...unrecorded];
}

const ADVISERS: readonly string[] = tasksWhere((t) => t.advises === true);

/** The most recent recommendations run's items in the period (high first, as generated). */
function latestRecommendations(runs: readonly TaskRunDigest[]): readonly Recommendation[] {
  const latest = [...runs].reverse().find((r) => ADVISERS.includes(r.task) && r.recommendations);
  return latest?.recommendations ?? [];
}

async function databaseFigures(ctx: GatherContext): Promise<DatabaseFigures | undefined> {
  const h = history(ctx);
  const why = await h.readable();
  if (why) {
    // 1146: collect-statistics has not run yet; anything else is a grant (or a read-only server).
    if (why.errno !== 1146) {
      const consequence = 'the report has no database size, growth or capacity';
      ctx.problems?.({ store: 'statistics history', use: 'read', schema: historySchema(ctx), tables: [TABLE_HISTORY, SCHEMA_HISTORY], reason: why.reason, privileges: ['SELECT'], consequence });
    }
    return undefined;
  }
  const s = ctx.config.statistics;
  const since = new Date(ctx.now.getTime() - s.growthWindowDays * DAY);
  const totals = await h.totalsSince(ctx.target.schemas, since);
  const last = totals[totals.length - 1];
  if (!last) return undefined;
  const trend = slopeFromSums((await h.targetSums(ctx.target.schemas, since)).bytes, s.minHistoryHours / 24);
  const growth = 'perDay' in trend ? Math.round(trend.perDay) : null;
  const limit = ctx.target.storageLimitGb !== undefined ? Math.round(ctx.target.storageLimitGb * GB) : null;
  return {
    totalBytes: last.totalBytes,
    tableCount: last.tableCount,
    growthBytesPerDay: growth,
    daysToStorageLimit: limit !== null && growth !== null ? daysUntil(limit, last.totalBytes, growth) : null,
    storageLimitBytes: limit,
  };
}

/** One line per routine step that took several invocations or left work: how many, how long, what is left. */
export function windowLines(steps: readonly StepOutcome[]): string[] {
  return steps
    .filter((s) => (s.invocations ?? 0) > 1 || s.left)
    .map((s) => {
      const n = s.invocations ?? 1;
      const took = `${n} invocation${n === 1 ? '' : 's'}, ${Math.round(s.secondsSoFar ?? s.durationSeconds ?? 0).toLocaleString('en')} s`;
      return `${s.task}: ${took}, ${s.left ? `left when the window closed: ${s.left}` : 'finished inside the window'}`;
    });
}

/** What both reports start with: the target, the period and the runs in it. */
async function period(ctx: GatherContext, periodHours: number, steps: readonly StepOutcome[]) {
  const start = new Date(ctx.now.getTime() - periodHours * HOUR);
  let unreadable = false;
  const seen: GatherContext = {
    ...ctx,
    problems: (p) => {
      unreadable = true;
      ctx.problems?.(p);
    },
  };
  const runs = await runsSince(seen, start, steps);
  const window = windowLines(steps);
  return {
    start,
    head: {
      // The recommendations come from the recorded runs: none read is not "none open".
      ...(unreadable ? { recommendationsUnknown: true } : {}), target: ctx.target.name, ...(ctx.server ? { server: ctx.server } : {}), periodStart: start.toISOString(), periodEnd: ctx.now.toISOString(), runs, ...(window.length ? { window } : {}) },
  };
}

export async function gatherDaily(ctx: GatherContext, periodHours: number, steps: readonly StepOutcome[], topRecommendations: number): Promise<DailyReportData> {
  const { head } = await period(ctx, periodHours, steps);
  const runs = head.runs;
  const database = await databaseFigures(ctx);
  return {
    ...head,
    ...(database ? { database } : {}),
    recommendations: latestRecommendations(runs).slice(0, topRecommendations),
  };
}

export async function gatherWeekly(ctx: GatherContext, periodHours: number, steps: readonly StepOutcome[], topTables = 10): Promise<WeeklyReportData> {
  const { start, head } = await period(ctx, periodHours, steps);
  const runs = head.runs;
  // The same size, trend and projection as the daily report; the week adds where it started and who grew.
  const database = await databaseFigures(ctx);
  let sizeStart: number | null = null;
  let tables: WeeklyReportData['topTables'] = [];
  if (database) {
    const h = history(ctx);
    sizeStart = (await h.totalsSince(ctx.target.schemas, start))[0]?.totalBytes ?? null;
    tables = (await h.tableChangeSince(ctx.target.schemas, start))
      .map((t) => ({ ...t, growthBytes: t.bytesStart === null ? null : t.bytesEnd - t.bytesStart }))
      .sort((a, b) => (b.growthBytes ?? b.bytesEnd) - (a.growthBytes ?? a.bytesEnd))
      .slice(0, topTables);
  }
  const limit = database?.storageLimitBytes ?? null;
  return {
    ...head,
    sizeStart,
    sizeEnd: database?.totalBytes ?? null,
    growthBytesPerDay: database?.growthBytesPerDay ?? null,
    topTables: tables,
    ...(database && limit !== null
      ? { capacity: { limitBytes: limit, usedPercent: Math.round((database.totalBytes / limit) * 10000) / 100, daysToLimit: database.daysToStorageLimit } }
      : {}),
    recommendations: latestRecommendations(runs),
  };
}
