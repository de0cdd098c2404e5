// Growth checks from collect-statistics' snapshot history: tables growing fast, and the days left to the storage limit.
import { SCHEMA_HISTORY, StatisticsHistory, TABLE_HISTORY } from '../../stats/history';
import { hasWindowIndex } from '../../stats/history-window';
import { daysUntil, slopeFromSums } from '../../stats/trend';
import { DAY_MS, item, MIB, mib, round, tableKey, type Check, type CheckContext } from '../check';
import type { Recommendation } from '../types';

/** Why the history cannot be used, or undefined when it can. */
async function noHistory(ctx: CheckContext, table: string): Promise<string | undefined> {
  const why = await ctx.historyReadable();
  if (!why) return undefined;
  return why.errno === 1146
    ? `no statistics history: ${ctx.opts.historySchema}.${table} does not exist yet (collect-statistics creates it)`
    : `statistics history not readable (${why.reason}); needs SELECT on ${ctx.opts.historySchema}.*`;
}

function window(ctx: CheckContext): { since: Date; minSpanDays: number } {
  return { since: new Date(ctx.opts.now.getTime() - ctx.opts.growthWindowDays * DAY_MS), minSpanDays: ctx.opts.minHistoryHours / 24 };
}

export const rapidGrowth: Check = {
  code: 'RAPID_GROWTH',
  async run(ctx) {
    const missing = await noHistory(ctx, TABLE_HISTORY);
    if (missing) return { skipped: missing };
    const { since, minSpanDays } = window(ctx);
    const history = new StatisticsHistory(ctx.db, ctx.opts.historySchema, ctx.opts.target);
    // Read-only here: the index is collect-statistics' to add.
    const sums = await history.tableSums(ctx.opts.schemas, since, { windowIndex: await hasWindowIndex(ctx.db, ctx.opts.historySchema, TABLE_HISTORY) });
    // A dropped table's history still has a slope; nothing can be done about it any more.
    const current = new Map((await ctx.sizes()).map((t) => [tableKey(t.schema, t.table), t]));
    const limitMb = ctx.opts.settings.rapidGrowthMbPerDay;
    const items: Recommendation[] = [];
    let trends = 0;
    let why: string | undefined;
    for (const s of sums) {
      const t = current.get(tableKey(s.schema, s.table));
      if (!t) continue;
      const bytes = slopeFromSums(s.bytes, minSpanDays);
      if ('notEnoughHistory' in bytes) {
        why ??= bytes.notEnoughHistory;
        continue;
      }
      trends++;
      if (bytes.perDay <= limitMb * MIB) continue;
      const rows = slopeFromSums(s.rows, minSpanDays);
      items.push(
        item(
          'RAPID_GROWTH',
          'medium',
          `${s.schema}.${s.table}`,
          `${s.schema}.${s.table} grows ${mib(bytes.perDay)}/day (over ${limitMb} MiB/day, ${bytes.points} snapshots over ${round(bytes.spanDays, 1)} days)`,
          {
            bytesPerDay: Math.round(bytes.perDay),
            mbPerDay: round(bytes.perDay / MIB, 1),
            rowsPerDay: 'perDay' in rows ? Math.round(rows.perDay) : null,
            points: bytes.points,
            spanDays: round(bytes.spanDays, 2),
            totalBytes: t.totalBytes,
            thresholdMbPerDay: limitMb,
          },
        ),
      );
    }
    if (trends === 0) {
      return {
        skipped: why
          ? `not enough history: ${why}`
          : `no snapshots of these tables for target ${ctx.opts.target} in the last ${ctx.opts.growthWindowDays} days`,
      };
    }
    return { items };
  },
};

export const storageHorizon: Check = {
  code: 'STORAGE_HORIZON',
  async run(ctx) {
    const limit = ctx.opts.storageLimitBytes;
    if (limit === undefined) return { skipped: 'no storage limit configured (targets[].storageLimitGb)' };
    const horizon = ctx.opts.settings.storageHorizonDays;
    // Today's measured size, as collect-statistics projects from: the last snapshot may be a day old.
    const current = (await ctx.sizes()).reduce((n, t) => n + t.totalBytes, 0);
    const evidence = { limitBytes: limit, currentBytes: current, usedPercent: round((current / limit) * 100), horizonDays: horizon };
    const found = (days: number, perDay: number | null): Recommendation =>
      item(
        'STORAGE_HORIZON',
        'high',
        'server',
        days === 0
          ? `the schemas (${mib(current)}) have reached the storage limit (${mib(limit)})`
          : `the schemas reach the storage limit (${mib(limit)}) in ${days} days at ${mib(perDay ?? 0)}/day`,
        { ...evidence, bytesPerDay: perDay === null ? null : Math.round(perDay), daysToLimit: days },
      );
    if (current >= limit) return { items: [found(0, null)] };
    const missing = await noHistory(ctx, SCHEMA_HISTORY);
    if (missing) return { skipped: missing };
    const { since, minSpanDays } = window(ctx);
    const sums = await new StatisticsHistory(ctx.db, ctx.opts.historySchema, ctx.opts.target).targetSums(ctx.opts.schemas, since);
    const trend = slopeFromSums(sums.bytes, minSpanDays);
    if ('notEnoughHistory' in trend) return { skipped: `not enough history: ${trend.notEnoughHistory}` };
    const days = daysUntil(limit, current, trend.perDay);
    if (days === null) return { items: [], note: 'not growing over the window' };
    if (days >= horizon) return { items: [], note: `${days} days to the storage limit at ${mib(trend.perDay)}/day` };
    return { items: [found(days, trend.perDay)] };
  },
};
