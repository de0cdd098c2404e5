// The preflight task's runner: how its event is parsed and checked, and what it does with an open session.
import { parseEvent, preflightEventSchema, type PreflightEvent } from '../../events/schema';
import { preflight, type PreflightResult } from '../../maintenance/preflight';
import { METRIC, point } from '../../metrics/names';
import type { TaskRunner } from '../task-runner';

export const preflightRunner: TaskRunner<PreflightEvent, PreflightResult> = {
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
