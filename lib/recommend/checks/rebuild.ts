// REBUILD_TOO_LARGE: a table optimize-tables or rebuild-indexes would rebuild, whose estimated rebuild outlasts one invocation, so it is deferred every night.
import { isNamedIn } from '../../db/identifiers';
import { item, mib, type Check } from '../check';
import type { Recommendation } from '../types';

/** Kept free beside a rebuild's estimate, as the rebuild itself does (lib/maintenance/rebuild.ts). */
const SAFETY_SECONDS = 20;

export const rebuildTooLarge: Check = {
  code: 'REBUILD_TOO_LARGE',
  async run(ctx) {
    const limits = ctx.opts.rebuild;
    if (!limits) return { items: [], note: 'no rebuild limits given: not judged' };
    if (limits.longRunner) return { items: [], note: 'the long runner rebuilds tables larger than one invocation (config longRunner)' };
    const { fragmentationPercent, optimizeMinSizeMb } = ctx.opts.thresholds;
    const floor = optimizeMinSizeMb * 1024 * 1024;
    const items: Recommendation[] = [];
    for (const t of await ctx.sizes()) {
      if ((t.engine ?? '').toLowerCase() !== 'innodb') continue;
      const named = isNamedIn(limits.rebuildTables, t.schema, t.table);
      const fragmented = !t.sharedTablespace && !t.statsStale && t.totalBytes >= floor && t.fragmentationPercent !== null && t.fragmentationPercent >= fragmentationPercent;
      if (!named && !fragmented) continue;
      const estimatedSeconds = Math.round(t.totalBytes / limits.rate.bytesPerSecond);
      if (estimatedSeconds + SAFETY_SECONDS <= limits.budgetSeconds) continue;
      const c = limits.commands(t.schema, t.table);
      const rate = `${mib(limits.rate.bytesPerSecond)}/s (${limits.rate.source === 'measured' ? `measured over ${limits.rate.samples} earlier rebuilds` : 'optimize.defaultRebuildMbPerSecond'})`;
      const who = named ? 'rebuild-indexes (rebuildTables)' : `optimize-tables (${t.fragmentationPercent}% free)`;
      items.push(
        item(
          'REBUILD_TOO_LARGE',
          'medium',
          `${t.schema}.${t.table}`,
          `${t.schema}.${t.table} (${mib(t.totalBytes)}) needs about ${estimatedSeconds.toLocaleString('en')} s to rebuild at ${rate}, more than one invocation (${limits.budgetSeconds} s): ${who} defers it on every run`,
          { totalBytes: t.totalBytes, estimatedSeconds, bytesPerSecond: Math.round(limits.rate.bytesPerSecond), rateSource: limits.rate.source, budgetSeconds: limits.budgetSeconds, fragmentationPercent: t.fragmentationPercent },
          `run by hand (throttled, online): ${c.ptOsc}  — or with gh-ost: ${c.ghost}  — or enable the long runner (config longRunner, docs/long-runner.md)`,
        ),
      );
    }
    return { items };
  },
};
