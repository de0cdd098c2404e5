// The preflight task: what the target's grants and settings allow, the tasks a routine then skips; its digest and summary.
import * as z from 'zod';
import { baseEventShape } from '../../events/schema';
import { preflight as check, type PreflightResult } from '../../maintenance/preflight';
import { METRIC, point } from '../../metrics/names';
import type { Recommendation } from '../../recommend/types';
import { textTable } from '../../reporting/text-table';
import { defineTask, type DigestBody } from '../task-module';

const eventSchema = z.strictObject({
  ...baseEventShape,
});


function preflightDigest(r: PreflightResult): DigestBody {
  const missing = r.capabilities.filter((c) => c.status === 'missing').map((c) => c.capability);
  const degraded = r.capabilities.filter((c) => c.status === 'degraded').map((c) => c.capability);
  const parts = [...(missing.length ? [`missing: ${missing.join(', ')}`] : []), ...(degraded.length ? [`degraded: ${degraded.join(', ')}`] : [])];
  return {
    headline: parts.length ? `${parts.join('; ')}; blocked: ${r.blockedTasks.join(', ') || 'none'}` : `all capabilities present for ${r.user}`,
    rows: r.capabilities.map((c) => ({ table: c.capability, action: c.status, ...(c.missing.length || c.notes.length ? { detail: [...c.missing, ...c.notes].join('; ') } : {}) })),
    recommendations: preflightRecommendations(r),
    blockedTasks: r.blockedTasks,
  };
}

/** Each missing capability as a high-priority recommendation with the GRANT (or index) that fixes it. */
function preflightRecommendations(r: PreflightResult): Recommendation[] {
  return r.capabilities
    .filter((c) => !c.ok)
    .map((c) => ({
      code: `PREFLIGHT_${c.capability.toUpperCase().replace(/-/g, '_')}`,
      priority: 'high' as const,
      object: 'server',
      message:
        c.status === 'degraded'
          ? `every task runs, degraded (${c.capability}): ${c.missing.join('; ')}`
          : `${c.tasks.join(', ') || c.capability} cannot work as configured: ${c.missing.join('; ')}`,
      evidence: { user: r.user, missing: c.missing.length },
      ...(c.fix.length ? { fix: c.fix.join('\n') } : {}),
    }));
}

function preflightSummary(r: PreflightResult): string {
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

export const preflight = defineTask({
  id: 'preflight',
  description:
    'Connects as the configured user and reports, per capability (analyze, statistics, purge, archive, rebuild, run log), the grants, server settings (performance_schema, innodb_file_per_table) and indexes the configuration relies on, with the GRANT that fixes each gap. The routines run it first and skip the tasks that cannot work.',
  eventSchema,
  async run(ctx) {
    // What this run found when it probed the run log's writes: preflight names it when the grants look complete.
    const result = await check(ctx.db, ctx.config, ctx.target, ctx.runLog.notes);
    return {
      result,
      // Missing grants are findings, not a failure of the check itself.
      status: 'succeeded',
      metrics: [point(METRIC.PreflightProblems, result.capabilities.filter((c) => !c.ok).length), point(METRIC.TasksBlocked, result.blockedTasks.length)],
    };
  },
  digest: preflightDigest,
  summary: preflightSummary,
});
