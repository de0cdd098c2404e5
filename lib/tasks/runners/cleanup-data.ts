// The cleanup-data task's runner: how its event is parsed and checked, and what it does with an open session.
import type { TargetConfig } from '../../config/schema';
import { cleanupEventSchema, EventValidationError, parseEvent, type CleanupEvent } from '../../events/schema';
import { cleanupRule } from '../../retention/rules';
import { runRetention, type RetentionResult } from '../retention-runner';
import { resolveTableRefs } from '../target';
import type { TaskRunner } from '../task-runner';

/** The target's cleanup rules, narrowed to the tables an event names (each must have a rule). */
function selectCleanupRules(event: CleanupEvent, target: TargetConfig) {
  const rules = target.cleanupRules.map((r) => cleanupRule(target, r));
  const refs = resolveTableRefs(target, event.tables);
  if (!refs) return rules;
  return refs.map((ref, i) => {
    const match = rules.find((r) => r.table === ref.table && (ref.schema === undefined || r.schema === ref.schema));
    if (!match) {
      throw new EventValidationError(`event.tables[${i}]: no cleanup rule for table '${ref.schema ? `${ref.schema}.` : ''}${ref.table}' on target '${target.name}'`);
    }
    return match;
  });
}

export const cleanupRunner: TaskRunner<CleanupEvent, RetentionResult> = {
  parse: (raw) => parseEvent(cleanupEventSchema, raw, 'cleanup-data'),
  validate: (event, target) => void selectCleanupRules(event, target),
  run: (ctx) => runRetention(ctx, selectCleanupRules(ctx.event, ctx.target)),
};
